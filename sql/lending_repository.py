"""SQL for the credit-line purchases: orders, purchases and their state, checks, OTPs, events."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.lending.states import EXPIRES, HOLDS_LIMIT, State
from sql.locks import lock_row
from sql.tables import (
    lending_channels,
    lending_credit_checks,
    lending_customers,
    lending_drawdowns,
    lending_events,
    lending_orders,
    lending_otps,
    lending_purchases,
)

CLOCK_MARGIN = timedelta(seconds=5)  # clocks of two instances (NTP keeps them far closer)


class LendingRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- catalogue -------------------------------------------------------------------------------

    def save_channel(self, channel: str, name: str | None, clabe: str | None, webhook_url: str | None, now: datetime,
                     *, clear_webhook: bool = False) -> dict[str, tuple[Any, Any]]:  # fmt: skip
        """Create the channel, or change only the fields given (None keeps a field; `clear_webhook`
        removes the URL), under the row's lock. The fields written, each with (before, after);
        a new channel's fields have None before. A new channel needs its name and CLABE (the
        caller checks: NOT NULL refuses it otherwise)."""
        key = lending_channels.c.channel == channel
        values: dict[str, Any] = {k: v for k, v in (("name", name), ("clabe", clabe), ("webhook_url", webhook_url))
                                  if v is not None}  # fmt: skip
        if clear_webhook:
            values["webhook_url"] = None
        before = lock_row(self.conn, lending_channels, key, "update")
        if before is None:
            self.conn.execute(sa.insert(lending_channels).values(channel=channel, created_at=now, **values))
            return {k: (None, v) for k, v in values.items() if v is not None}
        changed = {k: (getattr(before, k), v) for k, v in values.items() if getattr(before, k) != v}
        if changed:
            self.conn.execute(sa.update(lending_channels).where(key).values({k: v for k, (_, v) in changed.items()}))
        return changed

    def save_customer(self, customer_id: str, phone: str, now: datetime) -> None:
        key = lending_customers.c.customer_id == customer_id
        if not self.conn.execute(sa.update(lending_customers).where(key).values(phone=phone)).rowcount:
            self.conn.execute(sa.insert(lending_customers).values(customer_id=customer_id, phone=phone, created_at=now))

    def channel(self, channel: str) -> sa.Row[Any] | None:
        return self.conn.execute(sa.select(lending_channels).where(lending_channels.c.channel == channel)).first()

    def customer(self, customer_id: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(lending_customers).where(lending_customers.c.customer_id == customer_id)
        ).first()

    def lock_customer(self, customer_id: str) -> sa.Row[Any] | None:
        """Hold the customer's row until commit: their purchases take turns on the limit."""
        return lock_row(self.conn, lending_customers, lending_customers.c.customer_id == customer_id, "update")

    # -- orders ----------------------------------------------------------------------------------

    def order(self, channel: str, order_id: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(lending_orders).where(
                (lending_orders.c.channel == channel) & (lending_orders.c.order_id == order_id)
            )
        ).first()

    def order_by_ref(self, order_ref: int) -> sa.Row[Any] | None:
        return self.conn.execute(sa.select(lending_orders).where(lending_orders.c.id == order_ref)).first()

    def add_order(self, **values: Any) -> int:
        return int(self.conn.execute(sa.insert(lending_orders).values(**values)).inserted_primary_key[0])

    # -- purchases -------------------------------------------------------------------------------

    def held(self, customer_id: str, line_read_at: datetime) -> Decimal:
        """What this system holds of the customer's line beyond what Mambu reported when it was
        read at `line_read_at`: the purchases not yet finished or failed, and the disbursed ones
        whose drawdown Mambu had not confirmed by then (a booking that ended after the read may
        or may not be in what was read: counted, so never too little). The margin covers clocks
        of different instances."""
        holds = sa.select(sa.func.coalesce(sa.func.sum(lending_purchases.c.amount), 0)).where(
            (lending_purchases.c.customer_id == customer_id)
            & lending_purchases.c.state.in_([s.value for s in HOLDS_LIMIT])
        )
        drawn = sa.select(sa.func.coalesce(sa.func.sum(lending_drawdowns.c.amount), 0)).where(
            (lending_drawdowns.c.customer_id == customer_id)
            & (lending_drawdowns.c.booked_at.is_(None) | (lending_drawdowns.c.booked_at >= line_read_at - CLOCK_MARGIN))
        )
        held, unbooked = (Decimal(str(self.conn.execute(q).scalar_one())) for q in (holds, drawn))
        return held + unbooked

    def holding(self, customer_id: str | None = None, limit: int = 500) -> list[sa.Row[Any]]:
        """The purchases holding limit (a customer's, or everyone's), oldest change first."""
        query = sa.select(lending_purchases).where(lending_purchases.c.state.in_([s.value for s in HOLDS_LIMIT]))
        if customer_id is not None:
            query = query.where(lending_purchases.c.customer_id == customer_id)
        return list(self.conn.execute(query.order_by(lending_purchases.c.updated_at, lending_purchases.c.id)
                                      .limit(limit)))  # fmt: skip

    def purchase_for_order(self, order_ref: int) -> sa.Row[Any] | None:
        """The order's live purchase (a refused or expired one does not count)."""
        return self.conn.execute(
            sa.select(lending_purchases).where(
                (lending_purchases.c.order_ref == order_ref)
                & lending_purchases.c.state.notin_([State.REJECTED.value, State.EXPIRED.value])
            )
        ).first()

    def add_purchase(self, **values: Any) -> None:
        self.conn.execute(sa.insert(lending_purchases).values(**values))

    def purchase(self, purchase_id: str, lock: bool = False) -> sa.Row[Any] | None:
        where = lending_purchases.c.id == purchase_id
        if lock:
            return lock_row(self.conn, lending_purchases, where, "update")
        return self.conn.execute(sa.select(lending_purchases).where(where)).first()

    def move(self, purchase_id: str, expected: State, to: State, now: datetime, **values: Any) -> bool:
        """Compare-and-set the state: False when another request moved it first."""
        return bool(
            self.conn.execute(
                sa.update(lending_purchases)
                .where((lending_purchases.c.id == purchase_id) & (lending_purchases.c.state == expected.value))
                .values(state=to.value, updated_at=now, **values)
            ).rowcount
        )

    def expirable(self, now: datetime, stale_before: datetime, limit: int = 500) -> list[sa.Row[Any]]:
        """Purchases before money can move past their deadline, oldest deadline first. One with
        no deadline (written by older code or by hand): past its QR's validity, or with no QR
        either, unchanged since `stale_before`."""
        p = lending_purchases.c
        undated = p.expires_at.is_(None) & (
            (p.valid_until <= now) | (p.valid_until.is_(None) & (p.updated_at <= stale_before))
        )
        return list(
            self.conn.execute(
                sa.select(p.id, p.state)
                .where(p.state.in_([s.value for s in EXPIRES]) & ((p.expires_at <= now) | undated))
                .order_by(p.expires_at, p.id)
                .limit(limit)
            )
        )

    def otp_rounds(self, order_ref: int) -> int:
        """OTP codes sent (or tried: an SMS that failed counts) for the order, all its purchases."""
        return int(
            self.conn.execute(
                sa.select(sa.func.count())
                .select_from(lending_otps.join(lending_purchases, lending_purchases.c.id == lending_otps.c.purchase_id))
                .where(lending_purchases.c.order_ref == order_ref)
            ).scalar_one()
        )

    def otp_day(self, customer_id: str, since: datetime) -> tuple[int, int]:
        """(codes sent, wrong codes entered) for the customer's codes created from `since` on."""
        joined = lending_otps.join(lending_purchases, lending_purchases.c.id == lending_otps.c.purchase_id)
        rounds, wrong = self.conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(lending_otps.c.wrong), 0))
            .select_from(joined)
            .where((lending_purchases.c.customer_id == customer_id) & (lending_otps.c.created_at >= since))
        ).one()
        return int(rounds), int(wrong)

    # -- checks, OTPs, events --------------------------------------------------------------------

    def add_credit_check(self, **values: Any) -> None:
        self.conn.execute(sa.insert(lending_credit_checks).values(**values))

    def add_otp(self, **values: Any) -> int:
        return int(self.conn.execute(sa.insert(lending_otps).values(**values)).inserted_primary_key[0])

    def otp(self, purchase_id: str, purpose: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(lending_otps)
            .where((lending_otps.c.purchase_id == purchase_id) & (lending_otps.c.purpose == purpose))
            .order_by(lending_otps.c.id.desc())
            .limit(1)
        ).first()

    def record_attempt(self, otp_id: int, outcome: str) -> None:
        wrong = lending_otps.c.wrong + (1 if outcome == "wrong" else 0)
        self.conn.execute(
            sa.update(lending_otps)
            .where(lending_otps.c.id == otp_id)
            .values(attempts=lending_otps.c.attempts + 1, outcome=outcome, wrong=wrong)
        )

    def otp_not_sent(self, otp_id: int, now: datetime) -> None:
        """The code's SMS failed: it can never be used (it still counts as a round)."""
        self.conn.execute(
            sa.update(lending_otps).where(lending_otps.c.id == otp_id).values(outcome="not_sent", expires_at=now)
        )

    def add_event(self, purchase_id: str, from_state: str | None, event: str, to_state: str | None, detail: str,
                  now: datetime) -> None:  # fmt: skip
        self.conn.execute(
            sa.insert(lending_events).values(
                purchase_id=purchase_id, from_state=from_state, event=event, to_state=to_state, detail=detail[:300],
                created_at=now,
            )
        )  # fmt: skip
