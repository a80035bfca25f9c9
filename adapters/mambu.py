"""Mambu API v2 as the credit engine: a customer's credit arrangement and its loan accounts.

GET /api/clients/{clientId}/creditarrangements and GET /api/creditarrangements/{id}/accounts,
with `Accept: application/vnd.mambu.v2+json` and the `apiKey` header; writes carry an
`Idempotency-Key`. Timeouts are short and reads are retried with backoff; a Mambu that is
down or slow raises MambuUnavailable, so that no purchase is created on a guess.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import httpx

from domain.lending import LendingError
from domain.lending.credit import CreditLine

ACCEPT = "application/vnd.mambu.v2+json"
_DUE = ("principalDue", "interestDue", "feesDue", "penaltyDue")


class MambuUnavailable(LendingError):
    def __init__(self, message: str) -> None:
        super().__init__("motor_credito_no_disponible", message)


class MambuCreditEngine:
    def __init__(self, base_url: str, api_key: str, timeout: float = 5.0, retries: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.client = httpx.Client(
            base_url=self.base_url, timeout=timeout,
            headers={"Accept": ACCEPT, "apiKey": api_key, "Content-Type": "application/json"},
        )  # fmt: skip

    def _request(self, method: str, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())} if method != "GET" else {}
        for attempt in range(self.retries + 1):
            try:
                response = self.client.request(method, path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    if response.status_code == 404:
                        raise LendingError("cliente_sin_linea", f"Mambu has no {path}")
                    if response.status_code >= 400:
                        raise MambuUnavailable(f"Mambu refused {method} {path}: HTTP {response.status_code}")
                    return response.json()
                problem = f"HTTP {response.status_code}"
            if attempt < self.retries:
                time.sleep(0.2 * 2**attempt)
        raise MambuUnavailable(f"Mambu did not answer {method} {path} ({problem})")

    def credit_line(self, customer_id: str) -> CreditLine:
        """The customer's active credit arrangement and what is overdue on its loan accounts."""
        arrangements = self._request("GET", f"/api/clients/{customer_id}/creditarrangements")
        active = [a for a in arrangements if a.get("state") in ("APPROVED", "ACTIVE")]
        if not active:
            raise LendingError("cliente_sin_linea", f"customer {customer_id} has no active credit arrangement")
        arrangement = active[0]
        accounts = self._request("GET", f"/api/creditarrangements/{arrangement['id']}/accounts")
        overdue = Decimal(0)
        for loan in accounts.get("loanAccounts", []):
            balances = loan.get("balances", {})
            if loan.get("accountState") == "ACTIVE_IN_ARREARS":
                overdue += sum((Decimal(str(balances.get(k, 0))) for k in _DUE), Decimal(0))
        return CreditLine(
            arrangement_id=str(arrangement["id"]), limit=Decimal(str(arrangement["amount"])),
            available=Decimal(str(arrangement.get("availableCreditAmount", arrangement["amount"]))),
            overdue=overdue, currency=str(arrangement.get("currency", {}).get("code", "MXN")),
        )  # fmt: skip

    def close(self) -> None:
        self.client.close()
