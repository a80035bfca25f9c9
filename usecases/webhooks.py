"""Delivery of the webhook outbox (spec step 31): signed POSTs to each channel's URL.

A due event is claimed with a compare-and-set that pushes its next attempt past the POST's
timeout (a lease), so overlapping deliverers never post it at the same time; a deliverer
that dies after the POST leaves it to be posted again once the lease ends, with the same
event id and the same bytes (receivers de-duplicate by the id). Failures back off
exponentially; past the give-up window the event is FAILED and waits for an operator.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.webhook_http import PostResult, WebhookPoster
from domain.lending.responses import reason_text
from domain.lending.webhooks import RetryPolicy, body, channel_secret, headers
from sql.engine import stored_utc
from sql.tables import lending_channels, lending_orders, lending_purchases, lending_webhooks

_W = lending_webhooks
PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"


@dataclass(frozen=True)
class WebhookConfig:
    master_key: bytes
    policy: RetryPolicy
    timeout: float
    batch: int = 200
    workers: int = 8


@dataclass(frozen=True)
class Delivery:
    event_id: str
    channel: str
    state: str  # DELIVERED, PENDING (to be retried) or FAILED (given up)
    attempts: int
    status: int | None
    error: str | None
    next_attempt_at: datetime | None


class WebhookNotFound(LookupError):
    pass


def _event_body(conn: sa.Connection, event: Any) -> bytes:
    """The JSON of an event, rendered once and stored: every retry and replay sends these bytes."""
    if event.body is not None:
        return event.body.encode()
    facts = conn.execute(
        sa.select(lending_purchases.c.amount, lending_orders.c.order_id)
        .join_from(lending_purchases, lending_orders, lending_orders.c.id == lending_purchases.c.order_ref)
        .where(lending_purchases.c.id == event.purchase_id)
    ).one()  # fmt: skip
    return body({
        "event_id": event.event_id, "outcome": event.outcome, "occurred_at": stored_utc(event.occurred_at),
        "purchase_id": event.purchase_id, "order_id": facts.order_id, "channel": event.channel,
        "amount": facts.amount, "attempt": event.attempt, "tracking_key": event.tracking_key,
        "reason_code": event.reason_code, "reason": reason_text(event.reason_code or ""),
    })  # fmt: skip


def _claim(engine: Engine, event: Any, now: datetime, lease: timedelta) -> tuple[bytes, Any] | None:
    """The body and the channel if this deliverer won the event, None if another one did."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        payload = _event_body(conn, event)
        won = conn.execute(
            sa.update(_W).where(_W.c.event_id == event.event_id, _W.c.state == PENDING,
                                _W.c.next_attempt_at == event.next_attempt_at)
            .values(next_attempt_at=now + lease, body=payload.decode())
        ).rowcount  # fmt: skip
        if not won:
            return None
        channel = conn.execute(sa.select(lending_channels).where(lending_channels.c.channel == event.channel)).one()
        return payload, channel


def _record(engine: Engine, event: Any, outcome: PostResult, now: datetime, policy: RetryPolicy) -> Delivery:
    attempts = event.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status": outcome.status, "last_error": outcome.error}
    retry_at = None
    if outcome.delivered:
        values |= {"state": DELIVERED, "delivered_at": now}
    else:
        retry_at = policy.next_attempt(stored_utc(event.queued_at), attempts, now)
        values |= {"state": PENDING, "next_attempt_at": retry_at} if retry_at else {"state": FAILED}
    with engine.begin() as conn:
        conn.execute(sa.update(_W).where(_W.c.event_id == event.event_id).values(**values))
    return Delivery(event.event_id, event.channel, values["state"], attempts, outcome.status, outcome.error, retry_at)


def _deliver_one(engine: Engine, poster: WebhookPoster, cfg: WebhookConfig, event: Any,
                 clock: Callable[[], datetime]) -> Delivery | None:  # fmt: skip
    claimed = _claim(engine, event, clock(), timedelta(seconds=cfg.timeout + 60))
    if claimed is None:
        return None
    payload, channel = claimed
    if not channel.webhook_url:
        outcome = PostResult(None, f"channel {channel.channel} has no webhook_url")
    else:
        secret = channel_secret(cfg.master_key, channel.channel, channel.webhook_secret_version)
        now = clock()
        outcome = poster.post(channel.webhook_url, headers(secret, event.event_id, int(now.timestamp()), payload),
                              payload)  # fmt: skip
    return _record(engine, event, outcome, clock(), cfg.policy)


def deliver_webhooks(engine: Engine, poster: WebhookPoster, cfg: WebhookConfig, clock: Callable[[], datetime],
                     event_id: str | None = None) -> list[Delivery]:  # fmt: skip
    """Post every due PENDING event (or just `event_id`, if due), a few at a time."""
    query = sa.select(_W).where(_W.c.state == PENDING, _W.c.next_attempt_at <= clock())
    if event_id is not None:
        query = query.where(_W.c.event_id == event_id)
    with engine.connect() as conn:
        due = conn.execute(query.order_by(_W.c.next_attempt_at, _W.c.event_id).limit(cfg.batch)).all()
    if not due:
        return []
    with ThreadPoolExecutor(max_workers=min(cfg.workers, len(due))) as pool:
        done = list(pool.map(lambda event: _deliver_one(engine, poster, cfg, event, clock), due))
    return [d for d in done if d is not None]


def replay_webhook(engine: Engine, event_id: str, now: datetime) -> None:
    """An operator's second chance: due now, with a fresh give-up window; same id and bytes."""
    with engine.begin() as conn:
        again = sa.update(_W).where(_W.c.event_id == event_id).values(
            state=PENDING, next_attempt_at=now, queued_at=now, last_error="replayed by an operator")  # fmt: skip
        if not conn.execute(again).rowcount:
            raise WebhookNotFound(f"no webhook event {event_id!r}")


def list_webhooks(engine: Engine, state: str | None = None, limit: int = 100) -> list[Any]:
    query = sa.select(_W.c.event_id, _W.c.channel, _W.c.outcome, _W.c.state, _W.c.attempts, _W.c.last_status,
                      _W.c.last_error, _W.c.next_attempt_at, _W.c.delivered_at, _W.c.created_at)  # fmt: skip
    if state:
        query = query.where(_W.c.state == state)
    with engine.connect() as conn:
        return conn.execute(query.order_by(_W.c.created_at.desc(), _W.c.event_id).limit(limit)).all()


def find_webhook(engine: Engine, event_id: str) -> Any | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(_W).where(_W.c.event_id == event_id)).first()


def webhook_secret(engine: Engine, master_key: bytes, channel: str, rotate: bool = False) -> tuple[bytes, int]:
    """The secret the channel checks signatures with (a new one if `rotate`), and its version."""
    with engine.begin() as conn:
        where = lending_channels.c.channel == channel
        if rotate:
            conn.execute(sa.update(lending_channels).where(where).values(
                webhook_secret_version=lending_channels.c.webhook_secret_version + 1))  # fmt: skip
        version = conn.execute(sa.select(lending_channels.c.webhook_secret_version).where(where)).scalar()
    if version is None:
        raise WebhookNotFound(f"no channel {channel!r}")
    return channel_secret(master_key, channel, version), version
