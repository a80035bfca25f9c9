"""A local Mambu API v2 with the routes and JSON the credit engine uses, seeded with demo customers.

    python -m fakes.mambu --port 8089 [--seed data/mambu-demo.json] [--api-key demo-mambu-key]

GET /api/clients/{clientId}/creditarrangements and GET /api/creditarrangements/{id}/accounts
answer as Mambu does (401 with Mambu's error body for a wrong apiKey, 406 for another
Accept, 404 for an unknown client). Writes, as the credit engine uses them:
POST /api/loans/{loanAccountId}/disbursement-transactions and .../repayment-transactions
({"amount", "externalId", "notes"}; 201 with the transaction; the arrangement's available
amount goes down or up), each keyed by its Idempotency-Key (a repeat gets the first answer,
whatever it was) and refused with 400 when the externalId is taken or the amount exceeds what
is available; POST /api/loans/transactions:search ({"filterCriteria": [{"field":
"externalId", "operator": "EQUALS", "value"}]}). Tests change a customer with PUT
/_fake/customers/{id}, read GET /_fake/transactions, change or remove fields of a customer's credit arrangement with PUT
/_fake/customers/{id}/arrangement {"set": {...}, "drop": [...]} (Mambu leaving out the optional
availableCreditAmount, a null, a text, three decimals...), make every answer slow with PUT
/_fake/delay {"seconds": n}, make the next n writes fail with PUT /_fake/fail-writes {"count": n}
and forget the Idempotency-Keys (as Mambu does after hours) with PUT /_fake/forget-keys.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from fakes.asgi import read_body, send_json

ACCEPT = "application/vnd.mambu.v2+json"
ROOT = Path(__file__).resolve().parents[1]
_WRITES = {"disbursement-transactions": "DISBURSEMENT", "repayment-transactions": "REPAYMENT"}


class FakeMambu:
    def __init__(self, customers: dict[str, Any], api_key: str) -> None:
        self.customers = customers
        self.api_key = api_key
        self.delay = 0.0
        self.transactions: list[dict[str, Any]] = []
        self.answered: dict[str, tuple[int, Any]] = {}  # Idempotency-Key -> the first answer
        self.failing_writes = 0

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
        if method == "POST" and parts == ["api", "loans", "transactions:search"]:
            wanted = {c.get("value") for c in json.loads(body or b"{}").get("filterCriteria", [])
                      if c.get("field") == "externalId" and c.get("operator") == "EQUALS"}  # fmt: skip
            return 200, [t for t in self.transactions if t["externalId"] in wanted]
        if method == "POST" and len(parts) == 4 and parts[:2] == ["api", "loans"] and parts[3] in _WRITES:
            key = headers.get("idempotency-key")
            if key and key in self.answered:
                return self.answered[key]
            if self.failing_writes > 0:
                self.failing_writes -= 1
                return 503, {"errors": [{"errorCode": 0, "errorReason": "SERVICE_UNAVAILABLE"}]}
            answer = self.write(parts[2], _WRITES[parts[3]], json.loads(body or b"{}"))
            if key:
                self.answered[key] = answer
            return answer
        return 404, {"errors": [{"errorCode": 3, "errorReason": "INVALID_URL"}]}

    def write(self, loan_id: str, kind: str, data: dict[str, Any]) -> tuple[int, Any]:
        """A disbursement (draws on the arrangement) or a repayment (gives it back), as Mambu books them."""
        owner = next((c for c in self.customers.values() if any(a["id"] == loan_id for a in c.get("loanAccounts", []))),
                     None)  # fmt: skip
        if owner is None:
            return 404, {"errors": [{"errorCode": 101, "errorReason": "INVALID_LOAN_ACCOUNT_ID"}]}
        external = data.get("externalId")
        if external and any(t["externalId"] == external for t in self.transactions):
            return 400, {"errors": [{"errorCode": 2, "errorSource": "externalId",
                                     "errorReason": "DUPLICATE_TRANSACTION_EXTERNAL_ID"}]}  # fmt: skip
        amount = Decimal(str(data.get("amount", 0)))
        arrangement = owner["creditArrangement"]
        try:  # a test may have broken the arrangement's available amount: then the limit less the consumed
            limit = Decimal(str(arrangement["amount"]))
            try:
                available = Decimal(str(arrangement["availableCreditAmount"]))
            except (KeyError, ArithmeticError):
                available = limit - Decimal(str(arrangement["consumedCreditAmount"]))
        except (KeyError, ArithmeticError):
            return 400, {"errors": [{"errorCode": 2, "errorSource": "creditArrangement",
                                     "errorReason": "INVALID_CREDIT_ARRANGEMENT"}]}  # fmt: skip
        if amount <= 0 or (kind == "DISBURSEMENT" and amount > available):
            return 400, {"errors": [{"errorCode": 2, "errorSource": "amount", "errorReason": "INVALID_AMOUNT"}]}
        sign = -1 if kind == "DISBURSEMENT" else 1
        available = min(available + sign * amount, limit)
        arrangement["availableCreditAmount"] = float(available)
        arrangement["consumedCreditAmount"] = float(limit - available)
        transaction = {"id": str(len(self.transactions) + 1), "encodedKey": uuid.uuid4().hex, "externalId": external,
                       "type": kind, "amount": float(amount), "parentAccountKey": loan_id,
                       "notes": data.get("notes", "")}  # fmt: skip
        self.transactions.append(transaction)
        return 201, transaction

    def control(self, method: str, parts: list[str], data: Any) -> tuple[int, Any]:
        if method == "PUT" and parts[:1] == ["customers"] and len(parts) == 2:
            self.customers[parts[1]] = data
            return 200, data
        if method == "PUT" and parts[:1] == ["customers"] and parts[2:] == ["arrangement"] and len(parts) == 3:
            found = self.customers.get(parts[1])
            if found is None:
                return 404, {"error": f"no customer {parts[1]}"}
            arrangement = found["creditArrangement"]
            arrangement.update(data.get("set", {}))
            for name in data.get("drop", []):
                arrangement.pop(name, None)
            return 200, arrangement
        if method == "GET" and parts[:1] == ["customers"] and len(parts) == 2:
            found = self.customers.get(parts[1])
            return (200, found) if found is not None else (404, {"error": f"no customer {parts[1]}"})
        if method == "PUT" and parts == ["delay"]:
            self.delay = float(data.get("seconds", 0))
            return 200, {"seconds": self.delay}
        if method == "PUT" and parts == ["forget-keys"]:  # Mambu keeps Idempotency-Keys for hours only
            self.answered.clear()
            return 200, {}
        if method == "PUT" and parts == ["fail-writes"]:
            self.failing_writes = int(data.get("count", 0))
            return 200, {"count": self.failing_writes}
        if method == "GET" and parts == ["transactions"]:
            return 200, self.transactions
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
