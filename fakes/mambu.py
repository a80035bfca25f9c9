"""A local Mambu API v2 with the routes and JSON the credit engine uses, seeded with demo customers.

    python -m fakes.mambu --port 8089 [--seed data/mambu-demo.json] [--api-key demo-mambu-key]

GET /api/clients/{clientId}/creditarrangements and GET /api/creditarrangements/{id}/accounts
answer as Mambu does (401 with Mambu's error body for a wrong apiKey, 406 for another
Accept, 404 for an unknown client). Tests change a customer with PUT /_fake/customers/{id}
and make every answer slow with PUT /_fake/delay {"seconds": n}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from fakes.asgi import read_body, send_json

ACCEPT = "application/vnd.mambu.v2+json"
ROOT = Path(__file__).resolve().parents[1]


class FakeMambu:
    def __init__(self, customers: dict[str, Any], api_key: str) -> None:
        self.customers = customers
        self.api_key = api_key
        self.delay = 0.0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status, answer = self.route(scope, await read_body(receive))
        if self.delay:
            await asyncio.sleep(self.delay)
        await send_json(send, status, answer)

    def route(self, scope: dict, body: bytes) -> tuple[int, Any]:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        parts = [p for p in scope["path"].split("/") if p]
        method = scope["method"]
        if parts[:1] == ["_fake"]:
            return self.control(method, parts[1:], json.loads(body or b"{}"))
        if headers.get("apikey") != self.api_key:
            return 401, {"errors": [{"errorCode": 2, "errorReason": "INVALID_API_KEY"}]}
        if headers.get("accept") != ACCEPT:
            return 406, {"errors": [{"errorCode": 4, "errorReason": "INVALID_ACCEPT_HEADER"}]}
        if method == "GET" and len(parts) == 4 and parts[:2] == ["api", "clients"] and parts[3] == "creditarrangements":
            customer = self.customers.get(parts[2])
            if customer is None:
                return 404, {"errors": [{"errorCode": 301, "errorReason": "INVALID_CLIENT_ID"}]}
            return 200, [customer["creditArrangement"]]
        if (
            method == "GET"
            and len(parts) == 4
            and parts[:2] == ["api", "creditarrangements"]
            and parts[3] == "accounts"
        ):
            for customer in self.customers.values():
                if customer["creditArrangement"]["id"] == parts[2]:
                    return 200, {"loanAccounts": customer.get("loanAccounts", []), "depositAccounts": []}
            return 404, {"errors": [{"errorCode": 2401, "errorReason": "INVALID_CREDIT_ARRANGEMENT_ID"}]}
        return 404, {"errors": [{"errorCode": 3, "errorReason": "INVALID_URL"}]}

    def control(self, method: str, parts: list[str], data: Any) -> tuple[int, Any]:
        if method == "PUT" and parts[:1] == ["customers"] and len(parts) == 2:
            self.customers[parts[1]] = data
            return 200, data
        if method == "PUT" and parts == ["delay"]:
            self.delay = float(data.get("seconds", 0))
            return 200, {"seconds": self.delay}
        return 404, {"error": "unknown control route"}


def customer(client_id: str, limit: str, available: str, overdue: str = "0") -> dict[str, Any]:
    """A demo customer: one credit arrangement in MXN, one loan account (in arrears when overdue)."""
    state = "ACTIVE_IN_ARREARS" if float(overdue) > 0 else "ACTIVE"
    return {
        "creditArrangement": {"id": f"CA-{client_id}", "holderKey": client_id, "amount": float(limit),
                              "availableCreditAmount": float(available),
                              "consumedCreditAmount": float(limit) - float(available), "state": "APPROVED",
                              "currency": {"code": "MXN"}},
        "loanAccounts": [{"id": f"LA-{client_id}", "accountState": state,
                          "balances": {"principalDue": float(overdue), "interestDue": 0, "feesDue": 0,
                                       "penaltyDue": 0}}],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", default=str(ROOT / "data" / "mambu-demo.json"))
    parser.add_argument("--api-key", default="demo-mambu-key")
    args = parser.parse_args()
    import uvicorn

    customers = json.loads(Path(args.seed).read_text())["customers"]
    uvicorn.run(FakeMambu(customers, args.api_key), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
