"""What a line of the bank's response file means for a purchase (spec steps 28-31).

A processed line (P, reason 00) disburses the purchase. A rejection (R) with a reason a retry
may cure is sent again in a retry file while attempts remain; any other rejection, or one
past the configured maximum of retries, fails the purchase and releases its held limit.

A purchase is paid at most once: every P line that does not disburse its purchase, and every
P line of a purchase another P line already names (this file or an earlier one, whatever the
attempt), is an alert for an operator (`payment_alert`); a rejection of a purchase the bank
also reported paid is neither retried nor failed but held (`Outcome.HELD`), so no further
attempt is offered while the bank's statements contradict each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from domain.layouts.disbursements import RETURN_REASONS, retryable


class Outcome(enum.StrEnum):
    DISBURSED = "disbursed"
    RETRY = "retry"
    FAILED = "failed"
    HELD = "held"  # a rejection of a purchase the bank reported paid in another line: for an operator


class LineProblem(enum.StrEnum):
    """Why a line was reported and not applied."""

    MALFORMED = "malformed"  # not the layout, or a status that contradicts its reason
    UNKNOWN = "unknown"  # no such transaction attempt was ever sent
    DUPLICATE = "duplicate"  # that attempt was already answered (this file or an earlier one)


def inconsistency(record: dict[str, Any]) -> str | None:
    """A well-formed line that still cannot be right: processed with a reason, rejected without."""
    if record["estatus"] == "P" and record["codigo_motivo"] != "00":
        return f"codigo_motivo: a processed line carries 00, got {record['codigo_motivo']}"
    if record["estatus"] == "R" and record["codigo_motivo"] == "00":
        return "codigo_motivo: a rejected line needs its SPEI return reason, got 00"
    return None


def decide(status: str, reason_code: str, attempt: int, max_retries: int, paid_elsewhere: bool = False) -> Outcome:
    """`attempt` is the one answered (0 the dispersion, 1.. retries); `paid_elsewhere`: another
    line (any file, any attempt) reports this purchase paid."""
    if status == "P":
        return Outcome.DISBURSED
    if paid_elsewhere:
        return Outcome.HELD
    if retryable(reason_code) and attempt < max_retries:
        return Outcome.RETRY
    return Outcome.FAILED


def reason_text(code: str) -> str:
    return RETURN_REASONS.get(code, ("motivo no catalogado", False))[0]


class AlertKind(enum.StrEnum):
    DISPERSION_UNCERTAIN = "dispersion_uncertain"  # a file the bank may have taken, not offered again
    DOUBLE_PAYMENT = "double_payment"  # two P lines for one purchase (one attempt or two)
    UNEXPECTED_PAYMENT = "unexpected_payment"  # a P for an attempt rejected, never sent, or no purchase of ours
    PURCHASE_HELD = "purchase_held"  # a rejection not retried nor failed: the purchase was reported paid


@dataclass(frozen=True)
class PaidLine:
    """Where the bank said something about a purchase: file, line, attempt, tracking key."""

    file_name: str
    line_no: int
    attempt: int | None
    tracking_key: str | None = None

    def __str__(self) -> str:
        key = f", tracking key {self.tracking_key}" if self.tracking_key else ""
        return f"{self.file_name} line {self.line_no} (attempt {self.attempt}{key})"


@dataclass(frozen=True)
class EarlierAnswer:
    """How an attempt had been answered before this line: R or P, its reason, in which file."""

    status: str
    reason_code: str | None
    file_name: str


def _same_transfer(line: PaidLine, earlier: PaidLine) -> str:
    if line.tracking_key and line.tracking_key == earlier.tracking_key:
        return " The tracking key is the same: possibly the same transfer stated again; confirm with the bank."
    return " The tracking keys differ: two transfers left; recover one with the bank."


def payment_alert(
    line: PaidLine, purchase: str, state: str | None, applied: bool, earlier: PaidLine | None, sent: bool,
    answer: EarlierAnswer | None,
) -> tuple[AlertKind, str] | None:  # fmt: skip
    """The alert a P line raises, or None when it is the purchase's one disbursement.

    `state`: the purchase's state (None: no such purchase); `applied`: the line disbursed it;
    `earlier`: another P line naming the purchase (any file, any attempt); `sent`: the attempt
    was in a file offered to the bank; `answer`: the attempt's answer before this file."""
    if state is None:
        return AlertKind.UNEXPECTED_PAYMENT, (
            f"{line} reports transaction {purchase} paid: no purchase of ours has that id. Ask the bank what it paid."
        )
    if earlier is not None:
        return AlertKind.DOUBLE_PAYMENT, (
            f"{line} reports purchase {purchase} paid; {earlier} had reported it paid already "
            f"(the purchase is {state}).{_same_transfer(line, earlier)}")  # fmt: skip
    if applied:
        return None
    if not sent:
        return AlertKind.UNEXPECTED_PAYMENT, (
            f"{line} reports purchase {purchase} paid for an attempt never sent to the bank (the purchase is {state}). "
            "Ask the bank what it paid.")  # fmt: skip
    if answer is not None and answer.status == "R":
        then = (
            "A later attempt is with the bank: ask it not to pay that one; no further attempt is sent."
            if state == "DISBURSING"
            else "The purchase was failed, its limit released and the distributor told so, yet money left."
            if state == "DISBURSEMENT_FAILED"
            else ""
        )
        return AlertKind.UNEXPECTED_PAYMENT, (
            f"{line} reports purchase {purchase} paid; that attempt had been answered rejected (SPEI "
            f"{answer.reason_code}) in {answer.file_name}. The purchase is {state}. {then}").rstrip()  # fmt: skip
    return AlertKind.UNEXPECTED_PAYMENT, (
        f"{line} reports purchase {purchase} paid but could not apply it (the purchase is {state})."
    )


def held_alert(line: PaidLine, purchase: str, reason_code: str, paid: PaidLine) -> tuple[AlertKind, str]:
    """The alert of a rejection that is neither retried nor failed because another line reports a payment."""
    return AlertKind.PURCHASE_HELD, (
        f"{line} rejects purchase {purchase} (SPEI {reason_code} {reason_text(reason_code)}) but {paid} reports it "
        "paid: it is neither retried nor failed; it stays DISBURSING, its limit held, until settled with the bank."
    )
