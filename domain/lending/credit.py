"""The credit check (spec steps 3-5 and 18-19): a customer's line as Mambu reports it, less
what this system already holds for the customer's open purchases.

The check fails closed: a line that cannot be read exactly (a missing, null, negative,
non-numeric or over-precise amount, more available than the limit) is no line at all, and
the purchase is refused with `linea_no_verificable`, never checked against a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.lending import LendingError

UNREADABLE = "linea_no_verificable"
CENT = Decimal("0.01")


class UnreadableCreditLine(LendingError):
    """Mambu answered, but not with a credit line that can be trusted: the purchase is refused
    (recorded in lending_credit_checks) and the customer may try again once Mambu is right.
    `limit` and `available` are what could be read, for the record."""

    def __init__(self, problem: str, limit: Decimal | None = None, available: Decimal | None = None) -> None:
        super().__init__(UNREADABLE, f"the credit line could not be read from Mambu: {problem}")
        self.limit = limit
        self.available = available


@dataclass(frozen=True)
class CreditLine:
    """A customer's credit arrangement and its loan accounts, in MXN."""

    arrangement_id: str
    limit: Decimal
    available: Decimal  # Mambu's availableCreditAmount (what Mambu has already consumed is out)
    overdue: Decimal  # principal + interest + fees + penalties due on accounts in arrears
    currency: str = "MXN"


@dataclass(frozen=True)
class CreditCheck:
    approved: bool
    code: str  # "ok", "deuda_vencida", "limite_insuficiente", "moneda", "linea_no_verificable"
    message: str
    available_after_holds: Decimal


def exact_amount(value: object, name: str) -> Decimal:
    """A money amount as Mambu must send it: a number (not text, not a boolean), finite, not
    negative, at most two decimals; anything else is UnreadableCreditLine naming the field."""
    if value is None:
        raise UnreadableCreditLine(f"{name} is missing (or null)")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise UnreadableCreditLine(f"{name} is {type(value).__name__} {str(value)[:40]!r}, not a number")
    amount = Decimal(value)
    if not amount.is_finite():
        raise UnreadableCreditLine(f"{name} is {amount}")
    if amount < 0:
        raise UnreadableCreditLine(f"{name} is negative ({amount})")
    if amount != amount.quantize(CENT):
        raise UnreadableCreditLine(f"{name} has more than two decimals ({amount})")
    return amount


def line_problem(line: CreditLine) -> str | None:
    """Why `line` cannot be trusted, or None: whatever built it (the Mambu adapter checks the
    same when it reads the JSON), a check never runs on a line that could lend too much."""
    for name, value in (("limit", line.limit), ("available", line.available), ("overdue", line.overdue)):
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            return f"{name} is {value!r}"
    for name, value in (("limit", line.limit), ("available", line.available)):
        if value != value.quantize(CENT):
            return f"{name} has more than two decimals ({value})"
    if line.available > line.limit:
        return f"available {line.available} is more than the limit {line.limit}"
    return None


def assess(line: CreditLine, amount: Decimal, held: Decimal) -> CreditCheck:
    """An unreadable line stops the purchase; so do overdue debt and an available amount, less
    the amounts this system holds for the customer's pending and approved purchases (and the
    drawdowns Mambu had not counted when the line was read), below the amount."""
    if amount <= 0:
        raise LendingError("monto_invalido", f"the amount must be positive, got {amount}")
    problem = line_problem(line)
    if problem is not None:
        return CreditCheck(False, UNREADABLE, f"the credit line could not be read from Mambu: {problem}", Decimal(0))
    free = line.available - held
    if line.currency != "MXN":
        return CreditCheck(False, "moneda", f"the credit line is in {line.currency}, purchases are in MXN", free)
    if line.overdue > 0:
        return CreditCheck(False, "deuda_vencida", f"the customer has {line.overdue} MXN overdue", free)
    if free < amount:
        return CreditCheck(
            False,
            "limite_insuficiente",
            f"available {free} MXN (held {held} MXN) is below the amount {amount} MXN",
            free,
        )
    return CreditCheck(True, "ok", "credit line checked", free)
