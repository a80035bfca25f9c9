"""The life of a credit-line purchase, as allowed transitions; anything else is refused.

PENDING_CREDIT --credit_ok--> PENDING_OTP1 --otp1_ok--> QR_PENDING --scanned--> PENDING_OTP2
PENDING_OTP2 --otp2_ok--> VALIDATING --approved--> APPROVED (ready for disbursement)
refusals: credit_refused, otp1_failed, otp2_failed, rejected -> REJECTED
QR_PENDING / PENDING_OTP2 --expired--> EXPIRED (the held limit is released)
APPROVED --disbursing--> DISBURSING (--retry--> DISBURSING) --disbursed--> DISBURSED | --failed-->
DISBURSEMENT_FAILED (the held limit is released); DISBURSING --held--> DISBURSING: a rejection of a
purchase the bank also reported paid is neither retried nor failed, it waits for an operator
"""

from __future__ import annotations

import enum

from domain.lending import LendingError


class State(enum.StrEnum):
    PENDING_CREDIT = "PENDING_CREDIT"
    PENDING_OTP1 = "PENDING_OTP1"
    QR_PENDING = "QR_PENDING"
    PENDING_OTP2 = "PENDING_OTP2"
    VALIDATING = "VALIDATING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    DISBURSING = "DISBURSING"
    DISBURSED = "DISBURSED"
    DISBURSEMENT_FAILED = "DISBURSEMENT_FAILED"


ALLOWED: dict[tuple[State, str], State] = {
    (State.PENDING_CREDIT, "credit_ok"): State.PENDING_OTP1,
    (State.PENDING_CREDIT, "credit_refused"): State.REJECTED,
    (State.PENDING_OTP1, "otp1_ok"): State.QR_PENDING,
    (State.PENDING_OTP1, "otp1_failed"): State.REJECTED,
    (State.QR_PENDING, "scanned"): State.PENDING_OTP2,
    (State.QR_PENDING, "expired"): State.EXPIRED,
    (State.PENDING_OTP2, "otp2_ok"): State.VALIDATING,
    (State.PENDING_OTP2, "otp2_failed"): State.REJECTED,
    (State.PENDING_OTP2, "expired"): State.EXPIRED,
    (State.VALIDATING, "approved"): State.APPROVED,
    (State.VALIDATING, "rejected"): State.REJECTED,
    (State.APPROVED, "disbursing"): State.DISBURSING,
    (State.DISBURSING, "retry"): State.DISBURSING,  # a retryable rejection: sent again in a retry file
    (State.DISBURSING, "held"): State.DISBURSING,  # rejected, but reported paid elsewhere: for an operator
    (State.DISBURSING, "disbursed"): State.DISBURSED,
    (State.DISBURSING, "failed"): State.DISBURSEMENT_FAILED,
}
HOLDS_LIMIT = frozenset({State.PENDING_OTP1, State.QR_PENDING, State.PENDING_OTP2, State.VALIDATING,
                         State.APPROVED, State.DISBURSING})  # fmt: skip


def next_state(current: State, event: str) -> State:
    """The state after `event`, or LendingError `transicion_invalida` naming both."""
    try:
        return ALLOWED[current, event]
    except KeyError:
        raise LendingError("transicion_invalida", f"{event} is not allowed in state {current}") from None
