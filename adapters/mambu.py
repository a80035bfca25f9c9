"""Mambu API v2 as the credit engine: a customer's credit arrangement and its loan accounts.

GET /api/clients/{clientId}/creditarrangements and GET /api/creditarrangements/{id}/accounts,
with `Accept: application/vnd.mambu.v2+json` and the `apiKey` header; writes carry an
`Idempotency-Key`. Timeouts are short and reads are retried with backoff; a Mambu that is
down or slow raises MambuUnavailable, so that no purchase is created on a guess.

A credit line is read strictly (`read_credit_line`): `amount` and `availableCreditAmount` must
be JSON numbers, not negative, with at most two decimals, the available no more than the
limit, the currency (when given) an object with a code; anything else raises
UnreadableCreditLine, and the purchase is refused. `availableCreditAmount` is optional in
Mambu's schema: missing, it is NOT taken to be the whole limit (the line may be consumed).

A disbursed purchase is booked with POST /api/loans/{loanAccountId}/disbursement-transactions
(`amount`, `externalId` = the purchase id, `notes`) on the arrangement's loan account, with an
`Idempotency-Key` derived from the purchase (the same on every retry: Mambu answers a repeat
with the first result, or 102 while it is still being processed). Mambu keeps keys for hours,
not for ever, so the externalId is the lasting guard: when Mambu refuses a repeated externalId,
POST /api/loans/transactions:search finds the transaction that holds it and that one counts.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import simplejson

from domain.lending import LendingError
from domain.lending.credit import CreditLine, UnreadableCreditLine, exact_amount

ACCEPT = "application/vnd.mambu.v2+json"
_DUE = ("principalDue", "interestDue", "feesDue", "penaltyDue")
_LIVE_LOANS = ("ACTIVE", "ACTIVE_IN_ARREARS", "APPROVED")
_KEYS = uuid.UUID("6f1f6c1e-2b0e-4d8e-9a55-0c3b8f6f8a10")  # namespace of the drawdowns' Idempotency-Keys


def drawdown_key(purchase_id: str) -> str:
    """The Idempotency-Key of a purchase's booking: a UUID, the same on every retry."""
    return str(uuid.uuid5(_KEYS, f"drawdown:{purchase_id}"))


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

    def ping(self, timeout: float = 2.0) -> str:
        """Is Mambu there and does it take our key? One GET of its general setup (no retry)."""
        response = self.client.get("/api/setup/general", timeout=timeout)
        if response.status_code in (401, 403):
            raise MambuUnavailable(f"Mambu refused the API key: HTTP {response.status_code}")
        if response.status_code >= 500:
            raise MambuUnavailable(f"Mambu answered HTTP {response.status_code}")
        return f"HTTP {response.status_code}"

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
                    try:  # amounts as Decimal, exactly as sent; NaN/Infinity stay floats (refused)
                        return json.loads(response.text, parse_float=Decimal)
                    except ValueError:
                        raise MambuUnavailable(f"Mambu answered {method} {path} with a body that is not JSON") from None
                problem = f"HTTP {response.status_code}"
            if attempt < self.retries:
                time.sleep(0.2 * 2**attempt)
        raise MambuUnavailable(f"Mambu did not answer {method} {path} ({problem})")

    def credit_line(self, customer_id: str) -> CreditLine:
        """The customer's active credit arrangement and what is overdue on its loan accounts;
        UnreadableCreditLine when Mambu's answer does not say exactly how much is available."""
        arrangement = self._arrangement(customer_id)
        accounts = self._request("GET", f"/api/creditarrangements/{arrangement['id']}/accounts")
        return read_credit_line(arrangement, accounts)

    def _arrangement(self, customer_id: str) -> dict[str, Any]:
        arrangements = self._request("GET", f"/api/clients/{customer_id}/creditarrangements")
        if not isinstance(arrangements, list) or not all(isinstance(a, dict) for a in arrangements):
            raise UnreadableCreditLine("the credit arrangements are not a list of objects")
        active = [a for a in arrangements if a.get("state") in ("APPROVED", "ACTIVE")]
        if not active:
            raise LendingError("cliente_sin_linea", f"customer {customer_id} has no active credit arrangement")
        found = active[0].get("id")
        if isinstance(found, bool) or not isinstance(found, str | int) or not str(found).strip():
            raise UnreadableCreditLine(f"the credit arrangement's id is {found!r}")
        return active[0]

    def _send(self, path: str, body: dict[str, Any], key: str) -> httpx.Response:
        """A write, retried on network errors and 5xx with the same Idempotency-Key."""
        content = simplejson.dumps(body, use_decimal=True)
        problem = ""
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(path, content=content, headers={"Idempotency-Key": key})
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            if attempt < self.retries:
                time.sleep(0.2 * 2**attempt)
        raise MambuUnavailable(f"Mambu did not answer POST {path} ({problem})")

    def book_drawdown(self, customer_id: str, purchase_id: str, amount: Decimal) -> str:
        """Book the purchase as a disbursement on the customer's loan account; Mambu's transaction id."""
        arrangement = self._arrangement(customer_id)
        accounts = self._request("GET", f"/api/creditarrangements/{arrangement['id']}/accounts")
        loans = [a for a in accounts.get("loanAccounts", []) if a.get("accountState") in _LIVE_LOANS]
        if not loans:
            raise LendingError("cliente_sin_linea", f"credit arrangement {arrangement['id']} has no live loan account")
        path = f"/api/loans/{loans[0]['id']}/disbursement-transactions"
        body = {"amount": amount, "externalId": purchase_id, "notes": f"Compra con QR {purchase_id}"}
        response = self._send(path, body, drawdown_key(purchase_id))
        if response.status_code in (200, 201):
            return str(response.json()["id"])
        if response.status_code == 102:
            raise MambuUnavailable(f"Mambu is still processing the booking of {purchase_id}")
        if response.status_code == 400 and "externalid" in response.text.lower():
            return self._booked_before(purchase_id, amount)
        raise MambuUnavailable(f"Mambu refused POST {path}: HTTP {response.status_code} {response.text[:200]}")

    def _booked_before(self, purchase_id: str, amount: Decimal) -> str:
        """The transaction that already holds the purchase's externalId (same amount), or an error."""
        query = {"filterCriteria": [{"field": "externalId", "operator": "EQUALS", "value": purchase_id}]}
        response = self._send("/api/loans/transactions:search", query, str(uuid.uuid4()))
        found = response.json() if response.status_code == 200 else []
        for transaction in found:
            if Decimal(str(transaction.get("amount"))) == amount:
                return str(transaction["id"])
        raise MambuUnavailable(f"externalId {purchase_id} is taken in Mambu by another amount: check it by hand")

    def close(self) -> None:
        self.client.close()


def read_credit_line(arrangement: dict[str, Any], accounts: Any) -> CreditLine:
    """A CreditLine from Mambu's credit arrangement and its accounts, or UnreadableCreditLine.

    Never a default for a money field: a missing `availableCreditAmount` refuses, it is not the
    limit. When `consumedCreditAmount` is given too, the available amount is at most the limit
    less it (the smaller of Mambu's two ways of saying it). Overdue: what is due on loan
    accounts in arrears; an account in arrears whose dues are unreadable, or add up to nothing,
    refuses too."""
    limit = exact_amount(arrangement.get("amount"), "amount (the limit)")
    try:
        available = exact_amount(arrangement.get("availableCreditAmount"), "availableCreditAmount")
    except UnreadableCreditLine as exc:
        exc.limit = limit  # for the record
        raise
    if available > limit:
        raise UnreadableCreditLine(f"availableCreditAmount {available} is more than the limit {limit}", limit,
                                   available)  # fmt: skip
    if "consumedCreditAmount" in arrangement:
        consumed = exact_amount(arrangement["consumedCreditAmount"], "consumedCreditAmount")
        if consumed > limit:
            raise UnreadableCreditLine(f"consumedCreditAmount {consumed} is more than the limit {limit}", limit,
                                       available)  # fmt: skip
        available = min(available, limit - consumed)
    currency = "MXN"  # the tenant's currency when the arrangement does not name one
    if "currency" in arrangement:
        given = arrangement["currency"]
        code = given.get("code", given.get("currencyCode")) if isinstance(given, dict) else None
        if not isinstance(code, str) or not code.strip():
            raise UnreadableCreditLine(f"the currency is {given!r}", limit, available)
        currency = code.strip()
    loans = accounts.get("loanAccounts", []) if isinstance(accounts, dict) else None
    if not isinstance(loans, list) or not all(isinstance(loan, dict) for loan in loans):
        raise UnreadableCreditLine("the loan accounts are not a list of objects", limit, available)
    overdue = Decimal(0)
    for loan in loans:
        if loan.get("accountState") != "ACTIVE_IN_ARREARS":
            continue
        balances = loan.get("balances")
        if not isinstance(balances, dict):
            raise UnreadableCreditLine(f"loan {loan.get('id')} is in arrears without balances", limit, available)
        due = Decimal(0)
        for key in _DUE:
            value = balances.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int | Decimal) or not Decimal(value).is_finite() \
                    or value < 0:  # fmt: skip
                raise UnreadableCreditLine(f"loan {loan.get('id')} {key} is {value!r}", limit, available)
            due += Decimal(value)
        if due <= 0:
            raise UnreadableCreditLine(f"loan {loan.get('id')} is in arrears with nothing due", limit, available)
        overdue += due
    return CreditLine(arrangement_id=str(arrangement["id"]), limit=limit, available=available, overdue=overdue,
                      currency=currency)  # fmt: skip
