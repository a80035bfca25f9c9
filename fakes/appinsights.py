"""A local Application Insights ingestion endpoint: what the Azure Monitor exporters send, kept.

    python -m fakes.appinsights --port 8095

Point a connection string at it (`InstrumentationKey=<guid>;IngestionEndpoint=http://127.0.0.1:8095/;
LiveEndpoint=http://127.0.0.1:8095/`)
and the app's exporters post their envelopes here as they would to Azure: POST /v2.1/track
with a JSON array (or one envelope per line), gzip-encoded or not, answered with the service's
`{"itemsReceived", "itemsAccepted", "errors"}`. An envelope without `iKey`, `name`, `time` or
`data.baseType` is refused item by item (status 400 in `errors`), as the service does. Tests
read the accepted envelopes with GET /_fake/envelopes and forget them with DELETE. Live Metrics
pings are answered as when no one has the portal's Live Metrics open.
"""

from __future__ import annotations

import argparse
import gzip
import json
from typing import Any

from fakes.asgi import read_body, send_json

REQUIRED = ("iKey", "name", "time")


class FakeIngestion:
    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/_fake/envelopes":
            if method == "DELETE":
                self.envelopes.clear()
            await send_json(send, 200, self.envelopes)
            return
        if "QuickPulseService.svc" in path:  # Live Metrics: nobody watches, so nothing is asked for
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-ms-qps-subscribed", b"false")]})
            await send({"type": "http.response.body", "body": b""})
            return
        if method != "POST" or not path.rstrip("/").endswith("/v2.1/track"):
            await send_json(send, 404, {"error": f"no route {method} {path}"})
            return
        raw = await read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            if headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            text = raw.decode()
            lines = text.splitlines()
            items = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in lines if x]
        except (OSError, ValueError):
            await send_json(send, 400, {"itemsReceived": 0, "itemsAccepted": 0, "errors": []})
            return
        errors = []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or any(not item.get(k) for k in REQUIRED) or \
                    not (item.get("data") or {}).get("baseType"):  # fmt: skip
                errors.append({"index": index, "statusCode": 400, "message": "Field is required"})
            else:
                self.envelopes.append(item)
        await send_json(send, 200 if not errors else 206, {
            "itemsReceived": len(items), "itemsAccepted": len(items) - len(errors), "errors": errors,
        })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(FakeIngestion(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
