"""Booking in Mambu the credit each disbursed purchase consumed (issue 13).

When the bank confirms a disbursement, the purchase's hold on the customer's line becomes a
row of `lending_drawdowns` in the same transaction (usecases/disbursement_responses.py): from
then on the credit check counts it, until Mambu has it. This module books each pending row as
a disbursement on the customer's loan account (adapters/mambu.py: `Idempotency-Key` derived
from the purchase, `externalId` = the purchase id, so a retry or a second booker never books
it twice) and marks it BOOKED with the time Mambu's answer came back. The credit check reads
Mambu's available amount and then counts the rows not booked before that read, so the amount
is never out of both and never given back: only a repayment (in Mambu) frees it again.

A row is claimed with a compare-and-set on its next attempt (a lease past the call's timeout),
like the webhook outbox. Failures back off (30 s doubling to 1 h) and never give up: the money
is out, the booking must happen; `manage.py drawdowns --state PENDING` lists what waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.lending import LendingError
from sql.tables import lending_drawdowns

_D = lending_drawdowns
PENDING, BOOKED = "PENDING", "BOOKED"
BASE_DELAY, MAX_DELAY, LEASE = timedelta(seconds=30), timedelta(hours=1), timedelta(minutes=2)


class Booker(Protocol):
    def book_drawdown(self, customer_id: str, purchase_id: str, amount: Decimal) -> str: ...


@dataclass(frozen=True)
class Booking:
    purchase_id: str
    customer_id: str
    amount: Decimal
    state: str  # BOOKED, or PENDING (to be tried again)
    attempts: int
    transaction_id: str | None
    error: str | None
    next_attempt_at: datetime | None


def _claim(engine: Engine, row: Any, now: datetime) -> bool:
    with engine.begin() as conn:
        return bool(
            conn.execute(
                sa.update(_D)
                .where(_D.c.purchase_id == row.purchase_id, _D.c.state == PENDING,
                       _D.c.next_attempt_at == row.next_attempt_at)
                .values(next_attempt_at=now + LEASE)
            ).rowcount
        )  # fmt: skip


def _book_one(engine: Engine, booker: Booker, row: Any, clock: Callable[[], datetime]) -> Booking | None:
    if not _claim(engine, row, clock()):
        return None  # another booker has it
    attempts = row.attempts + 1
    amount = Decimal(row.amount)
    try:
        transaction = booker.book_drawdown(row.customer_id, row.purchase_id, amount)
    except LendingError as exc:
        retry_at = clock() + min(BASE_DELAY * 2 ** (attempts - 1), MAX_DELAY)
        error = f"{exc.code}: {exc.message}"[:300]
        with engine.begin() as conn:
            conn.execute(sa.update(_D).where(_D.c.purchase_id == row.purchase_id, _D.c.state == PENDING)
                         .values(attempts=attempts, last_error=error, next_attempt_at=retry_at))  # fmt: skip
        return Booking(row.purchase_id, row.customer_id, amount, PENDING, attempts, None, error, retry_at)
    booked_at = clock()  # after Mambu answered: a line read before this may not include it
    with engine.begin() as conn:
        conn.execute(sa.update(_D).where(_D.c.purchase_id == row.purchase_id, _D.c.state == PENDING)
                     .values(state=BOOKED, attempts=attempts, last_error=None, mambu_transaction_id=transaction,
                             booked_at=booked_at))  # fmt: skip
    return Booking(row.purchase_id, row.customer_id, amount, BOOKED, attempts, transaction, None, None)


def book_drawdowns(
    engine: Engine, booker: Booker, clock: Callable[[], datetime], purchase_id: str | None = None, batch: int = 500
) -> list[Booking]:
    """Book every due PENDING drawdown (or just `purchase_id`, if due), oldest first."""
    query = sa.select(_D).where(_D.c.state == PENDING, _D.c.next_attempt_at <= clock())
    if purchase_id is not None:
        query = query.where(_D.c.purchase_id == purchase_id)
    with engine.connect() as conn:
        due = conn.execute(query.order_by(_D.c.next_attempt_at, _D.c.purchase_id).limit(batch)).all()
    done = (_book_one(engine, booker, row, clock) for row in due)
    return [b for b in done if b is not None]


def list_drawdowns(engine: Engine, state: str | None = None, limit: int = 100) -> list[Any]:
    query = sa.select(_D)
    if state:
        query = query.where(_D.c.state == state)
    with engine.connect() as conn:
        return conn.execute(query.order_by(_D.c.created_at, _D.c.purchase_id).limit(limit)).all()
