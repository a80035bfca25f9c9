"""What a line of the bank's response file means for a purchase (spec steps 28-31).

A processed line (P, reason 00) disburses the purchase. A rejection (R) with a reason a retry
may cure is sent again in a retry file while attempts remain; any other rejection, or one
past the configured maximum of retries, fails the purchase and releases its held limit.
"""

from __future__ import annotations

import enum
from typing import Any

from domain.layouts.disbursements import RETURN_REASONS, retryable


class Outcome(enum.StrEnum):
    DISBURSED = "disbursed"
    RETRY = "retry"
    FAILED = "failed"


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


def decide(status: str, reason_code: str, attempt: int, max_retries: int) -> Outcome:
    """`attempt` is the one answered (0 the dispersion, 1.. retries)."""
    if status == "P":
        return Outcome.DISBURSED
    if retryable(reason_code) and attempt < max_retries:
        return Outcome.RETRY
    return Outcome.FAILED


def reason_text(code: str) -> str:
    return RETURN_REASONS.get(code, ("motivo no catalogado", False))[0]
