"""A distributor's webhook endpoint (KOF, Pronto) that does what a careful receiver does.

    python -m fakes.webhook_receiver --port 8090 --secret KOF=<secret> [--secret PRONTO=<secret>]

POST /hooks/{channel}: checks `X-Lending-Signature` over the raw body with that channel's
secret and a timestamp within 5 minutes (401 otherwise): the event is accepted when any `v1=`
entry of the header matches (during a rotation's overlap two are sent, the new secret's and the
previous one's), so a receiver given only the old secret (or only the new, or both: repeat
`--secret KOF=...`) shows which signatures a distributor would accept. De-duplicates by
`X-Lending-Event-Id` (a repeat is answered 200 and not counted twice) and keeps what it got.
GET /_fake/events lists every POST received (valid or not) with its parsed body and how many
signatures its header carried.
PUT /_fake/mode {"status": 500, "delay": 0} makes it fail or slow down (tests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from domain.lending.webhooks import EVENT_HEADER, SIGNATURE_HEADER, signatures_in, verify
from fakes.asgi import read_body, send_json


class FakeReceiver:
    def __init__(self, secrets: dict[str, bytes | Sequence[bytes]]) -> None:
        self.secrets = secrets  # per channel: the secret it checks with, or several (any may match)
        self.received: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.status = 200
        self.delay = 0.0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status, answer = self.route(scope, await read_body(receive))
        if self.delay and scope["path"].startswith("/hooks/"):
            await asyncio.sleep(self.delay)
        await send_json(send, status, answer)

    def route(self, scope: dict, body: bytes) -> tuple[int, Any]:
        parts = [p for p in scope["path"].split("/") if p]
        method = scope["method"]
        if parts == ["_fake", "events"] and method == "GET":
            return 200, self.received
        if parts == ["_fake", "mode"] and method == "PUT":
            data = json.loads(body or b"{}")
            self.status, self.delay = int(data.get("status", 200)), float(data.get("delay", 0))
            return 200, {"status": self.status, "delay": self.delay}
        if method == "POST" and len(parts) == 2 and parts[0] == "hooks":
            return self.hook(parts[1], {k.decode(): v.decode() for k, v in scope["headers"]}, body)
        return 404, {"error": "no such route"}

    def hook(self, channel: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        secret = self.secrets.get(channel)
        valid = secret is not None and verify(secret, headers, body, int(time.time()))
        lowered = {k.lower(): v for k, v in headers.items()}
        event_id = lowered.get(EVENT_HEADER.lower(), "")
        duplicate = valid and event_id in self.seen
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        self.received.append({"channel": channel, "eventId": event_id, "valid": valid, "duplicate": duplicate,
                              "answered": self.status if valid else 401, "body": parsed,
                              "signatures": len(signatures_in(lowered.get(SIGNATURE_HEADER.lower(), "")))})  # fmt: skip
        if not valid:
            return 401, {"error": "bad signature or stale timestamp"}
        if self.status >= 300:
            return self.status, {"error": "receiver told to fail"}
        self.seen.add(event_id)
        return 200, {"received": event_id, "duplicate": duplicate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--secret", action="append", default=[],
                        help="CHANNEL=SECRET (repeat per channel; twice for one: either is accepted)")  # fmt: skip
    args = parser.parse_args()
    import uvicorn

    secrets: dict[str, list[bytes]] = {}
    for item in args.secret:
        channel, _, secret = item.partition("=")
        secrets.setdefault(channel, []).append(secret.encode())
    app = FakeReceiver(dict(secrets))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
