"""The credit check (spec steps 3-5 and 18-19): a customer's line as Mambu reports it, less
what this system already holds for the customer's open purchases."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.lending import LendingError


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
    code: str  # "ok", "deuda_vencida", "limite_insuficiente", "moneda"
    message: str
    available_after_holds: Decimal


def assess(line: CreditLine, amount: Decimal, held: Decimal) -> CreditCheck:
    """Overdue debt stops the purchase; so does an available amount, less the amounts this
    system holds for the customer's pending and approved purchases, below the amount."""
    if amount <= 0:
        raise LendingError("monto_invalido", f"the amount must be positive, got {amount}")
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
