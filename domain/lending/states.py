"""The life of a credit-line purchase, as allowed transitions; anything else is refused.

PENDING_CREDIT --credit_ok--> PENDING_OTP1 --otp1_ok--> QR_PENDING --scanned--> PENDING_OTP2
PENDING_OTP2 --otp2_ok--> VALIDATING --approved--> APPROVED (ready for disbursement)
refusals: credit_refused, otp1_failed, otp2_failed, rejected -> REJECTED
PENDING_OTP2 --sms_failed--> QR_PENDING (OTP #2 could not be sent: the distributor scans again)
every state before money can move (EXPIRES) --expired--> EXPIRED at its deadline (the timer),
--released--> REJECTED by an operator (manage.py release-purchase); both release the held limit
APPROVED --disbursing--> DISBURSING (--retry--> DISBURSING) --disbursed--> DISBURSED | --failed-->
DISBURSEMENT_FAILED (the held limit is released); DISBURSING --held--> DISBURSING: a rejection of a
purchase the bank also reported paid is neither retried nor failed, it waits for an operator

Every state that holds limit either ends at a deadline (EXPIRES) or is one where money may
already be on its way (MONEY_MAY_MOVE: never expired nor released, only the bank's answer ends
it); the module refuses to load otherwise.
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


# Before any money can move: each has a deadline (lending_purchases.expires_at) after which the
# qr_expiration timer expires it, and an operator may release it.
EXPIRES = frozenset({State.PENDING_CREDIT, State.PENDING_OTP1, State.QR_PENDING, State.PENDING_OTP2,
                     State.VALIDATING})  # fmt: skip
# The dispatcher may have put it in a file for the bank: only the bank's answer ends it.
MONEY_MAY_MOVE = frozenset({State.APPROVED, State.DISBURSING})
FINAL = frozenset({State.REJECTED, State.EXPIRED, State.DISBURSED, State.DISBURSEMENT_FAILED})

ALLOWED: dict[tuple[State, str], State] = {
    (State.PENDING_CREDIT, "credit_ok"): State.PENDING_OTP1,
    (State.PENDING_CREDIT, "credit_refused"): State.REJECTED,
    (State.PENDING_OTP1, "otp1_ok"): State.QR_PENDING,
    (State.PENDING_OTP1, "otp1_failed"): State.REJECTED,
    (State.QR_PENDING, "scanned"): State.PENDING_OTP2,
    (State.PENDING_OTP2, "otp2_ok"): State.VALIDATING,
    (State.PENDING_OTP2, "otp2_failed"): State.REJECTED,
    (State.PENDING_OTP2, "sms_failed"): State.QR_PENDING,
    (State.VALIDATING, "approved"): State.APPROVED,
    (State.VALIDATING, "rejected"): State.REJECTED,
    (State.APPROVED, "disbursing"): State.DISBURSING,
    (State.DISBURSING, "retry"): State.DISBURSING,  # a retryable rejection: sent again in a retry file
    (State.DISBURSING, "held"): State.DISBURSING,  # rejected, but reported paid elsewhere: for an operator
    (State.DISBURSING, "disbursed"): State.DISBURSED,
    (State.DISBURSING, "failed"): State.DISBURSEMENT_FAILED,
    **{(state, "expired"): State.EXPIRED for state in EXPIRES},
    **{(state, "released"): State.REJECTED for state in EXPIRES},
}
HOLDS_LIMIT = frozenset({State.PENDING_OTP1, State.QR_PENDING, State.PENDING_OTP2, State.VALIDATING,
                         State.APPROVED, State.DISBURSING})  # fmt: skip


def _check_machine() -> None:
    """Every state that holds limit ends in bounded time or is one the bank's answer ends; the
    final states hold nothing and lead nowhere."""
    unbounded = HOLDS_LIMIT - EXPIRES - MONEY_MAY_MOVE
    if unbounded:
        raise AssertionError(f"states holding limit with no deadline: {sorted(unbounded)}")
    if HOLDS_LIMIT & FINAL or any(state in FINAL for state, _ in ALLOWED):
        raise AssertionError("a final state holds limit or has a way out")
    if set(State) != EXPIRES | MONEY_MAY_MOVE | FINAL:
        raise AssertionError(f"states in no class: {sorted(set(State) - EXPIRES - MONEY_MAY_MOVE - FINAL)}")


_check_machine()


def next_state(current: State, event: str) -> State:
    """The state after `event`, or LendingError `transicion_invalida` naming both."""
    try:
        return ALLOWED[current, event]
    except KeyError:
        raise LendingError("transicion_invalida", f"{event} is not allowed in state {current}") from None
