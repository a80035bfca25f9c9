"""Delivery of the webhook outbox (spec step 31): signed POSTs to each channel's URL.

A due event is claimed with a compare-and-set that pushes its next attempt past the POST's
timeout (a lease), so overlapping deliverers never post it at the same time; a deliverer
that dies after the POST leaves it to be posted again once the lease ends, with the same
event id and the same bytes (receivers de-duplicate by the id). Failures back off
exponentially; past the give-up window the event is FAILED and waits for an operator.

No event is lost quietly (issue 29): each is PENDING (it will be tried), DELIVERED, or waits
for an operator, listed by `manage.py webhooks --parked` and counted on the console: FAILED
(given up after the window) or PARKED (its channel had no usable URL when its turn came; no
POST, no try counted). Both are replayed once the cause is fixed (`replay-webhook`).

The signatures are made at each POST from the channel's secrets as they are then: during a
rotation's overlap both the new and the previous secret sign (`v1=<new>,v1=<previous>`); the
body was fixed at the first try and never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.webhook_http import PostResult, WebhookPoster
from domain.errors import DomainError
from domain.lending.responses import reason_text
from domain.lending.webhooks import (
    DEFAULT_OVERLAP,
    MAX_OVERLAP,
    RetryPolicy,
    SecretVersions,
    body,
    channel_secret,
    headers,
    url_problem,
)
from sql.engine import stored_utc
from sql.tables import lending_channels, lending_orders, lending_purchases, lending_webhooks

_W = lending_webhooks
_C = lending_channels
PENDING, DELIVERED, FAILED, PARKED = "PENDING", "DELIVERED", "FAILED", "PARKED"
WAITING = (FAILED, PARKED)  # waiting for an operator: listed, counted on the console, replayable
STATES = (PENDING, DELIVERED, FAILED, PARKED)


@dataclass(frozen=True)
class WebhookConfig:
    master_key: bytes
    policy: RetryPolicy
    timeout: float
    batch: int = 200
    workers: int = 8
    secret_overlap: timedelta = DEFAULT_OVERLAP  # how long a rotated secret still signs


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


class WebhookRefused(DomainError):
    """An operator's request that would leave events undeliverable or is not possible now; the
    message says why and what to do."""


@dataclass(frozen=True)
class ChannelSetup:
    """What `save_channel` did: the fields it changed (before, after), the events it parked
    because the URL was removed, and the channel's events waiting for an operator by state."""

    channel: str
    created: bool
    changes: dict[str, tuple[Any, Any]]
    webhook_url: str | None
    parked_now: int
    waiting: dict[str, int]


@dataclass(frozen=True)
class ChannelSecrets:
    """A channel's signing secrets as a distributor needs them: the current one and, after a
    rotation, the previous one with the instant it stops (or stopped) signing."""

    channel: str
    versions: SecretVersions
    secret: bytes
    previous_secret: bytes | None

    def overlapping(self, now: datetime) -> bool:
        return self.versions.overlapping(now)


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


def _versions(channel: Any) -> SecretVersions:
    until = channel.webhook_previous_until
    return SecretVersions(channel.webhook_secret_version, channel.webhook_previous_version,
                          stored_utc(until) if until is not None else None)  # fmt: skip


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


def _park(engine: Engine, event: Any, reason: str) -> Delivery:
    """No POST: the channel cannot receive it. Waits for an operator, its tries unchanged."""
    with engine.begin() as conn:
        conn.execute(sa.update(_W).where(_W.c.event_id == event.event_id).values(
            state=PARKED, last_status=None, last_error=reason))  # fmt: skip
    return Delivery(event.event_id, event.channel, PARKED, event.attempts, None, reason, None)


def _deliver_one(engine: Engine, poster: WebhookPoster, cfg: WebhookConfig, event: Any,
                 clock: Callable[[], datetime]) -> Delivery | None:  # fmt: skip
    claimed = _claim(engine, event, clock(), timedelta(seconds=cfg.timeout + 60))
    if claimed is None:
        return None
    payload, channel = claimed
    problem = url_problem(channel.webhook_url)
    if problem is not None:
        return _park(engine, event, _parked_reason(channel.channel, problem))
    now = clock()
    secrets = [channel_secret(cfg.master_key, channel.channel, v) for v in _versions(channel).signing(now)]
    outcome = poster.post(channel.webhook_url, headers(secrets, event.event_id, int(now.timestamp()), payload),
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


def _usable_url(conn: sa.Connection, channel: str) -> None:
    url = conn.execute(sa.select(_C.c.webhook_url).where(_C.c.channel == channel)).scalar()
    problem = url_problem(url)
    if problem is not None:
        raise WebhookRefused(f"channel {channel} cannot receive events ({problem}): set its URL with "
                             f"`manage.py create-channel --channel {channel} --webhook https://...` first, "
                             "then replay")  # fmt: skip


def replay_webhook(engine: Engine, event_id: str, now: datetime) -> None:
    """An operator's second chance: due now, with a fresh give-up window; same id and bytes.
    Refused (WebhookRefused) while its channel has no usable URL: it would only park again."""
    with engine.begin() as conn:
        channel = conn.execute(sa.select(_W.c.channel).where(_W.c.event_id == event_id)).scalar()
        if channel is None:
            raise WebhookNotFound(f"no webhook event {event_id!r}")
        _usable_url(conn, channel)
        again = sa.update(_W).where(_W.c.event_id == event_id).values(
            state=PENDING, next_attempt_at=now, queued_at=now, last_error="replayed by an operator")  # fmt: skip
        if not conn.execute(again).rowcount:
            raise WebhookNotFound(f"no webhook event {event_id!r}")


def replay_channel(engine: Engine, channel: str, now: datetime) -> int:
    """Every event of `channel` waiting for an operator (FAILED or PARKED) due again now, with a
    fresh give-up window; how many. Refused while the channel has no usable URL."""
    with engine.begin() as conn:
        if conn.execute(sa.select(_C.c.channel).where(_C.c.channel == channel)).first() is None:
            raise WebhookNotFound(f"no channel {channel!r}")
        _usable_url(conn, channel)
        again = sa.update(_W).where(_W.c.channel == channel, _W.c.state.in_(WAITING)).values(
            state=PENDING, next_attempt_at=now, queued_at=now, last_error="replayed by an operator")  # fmt: skip
        return int(conn.execute(again).rowcount)


def _parked_reason(channel: str, problem: str) -> str:
    return f"channel {channel}: {problem}; set it with create-channel --webhook, then replay-webhook"[:300]


def park_pending(conn: sa.Connection, channel: str) -> int:
    """The channel's PENDING events parked at once (its URL was removed): how many."""
    park = sa.update(_W).where(_W.c.channel == channel, _W.c.state == PENDING).values(
        state=PARKED, last_status=None, last_error=_parked_reason(channel, "webhook URL removed"))  # fmt: skip
    return int(conn.execute(park).rowcount)


def state_counts(conn: sa.Connection, channel: str | None = None) -> dict[str, int]:
    """Webhook events by state (of one channel, or all)."""
    query = sa.select(_W.c.state, sa.func.count()).group_by(_W.c.state)
    if channel is not None:
        query = query.where(_W.c.channel == channel)
    return {state: int(n) for state, n in conn.execute(query).all()}


def waiting_counts(engine: Engine, channel: str | None = None) -> dict[str, int]:
    """FAILED and PARKED events (waiting for an operator), each state's count."""
    with engine.connect() as conn:
        counts = state_counts(conn, channel)
    return {state: counts.get(state, 0) for state in WAITING}


def list_webhooks(engine: Engine, state: str | Sequence[str] | None = None, limit: int = 100,
                  channel: str | None = None) -> list[Any]:  # fmt: skip
    """Newest first; `state` one state or several (WAITING: what waits for an operator)."""
    query = sa.select(_W.c.event_id, _W.c.channel, _W.c.outcome, _W.c.state, _W.c.attempts, _W.c.last_status,
                      _W.c.last_error, _W.c.next_attempt_at, _W.c.delivered_at, _W.c.created_at)  # fmt: skip
    if state:
        query = query.where(_W.c.state.in_([state] if isinstance(state, str) else list(state)))
    if channel:
        query = query.where(_W.c.channel == channel)
    with engine.connect() as conn:
        return conn.execute(query.order_by(_W.c.created_at.desc(), _W.c.event_id).limit(limit)).all()


def find_webhook(engine: Engine, event_id: str) -> Any | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(_W).where(_W.c.event_id == event_id)).first()


# -- the channel's signing secrets ---------------------------------------------------------------


def _secrets_of(master_key: bytes, row: Any) -> ChannelSecrets:
    versions = _versions(row)
    previous = channel_secret(master_key, row.channel, versions.previous) if versions.previous else None
    return ChannelSecrets(row.channel, versions, channel_secret(master_key, row.channel, versions.current), previous)


def _channel_row(conn: sa.Connection, channel: str) -> Any:
    row = conn.execute(sa.select(_C).where(_C.c.channel == channel)).first()
    if row is None:
        raise WebhookNotFound(f"no channel {channel!r}")
    return row


def channel_secrets(engine: Engine, master_key: bytes, channel: str) -> ChannelSecrets:
    with engine.connect() as conn:
        return _secrets_of(master_key, _channel_row(conn, channel))


def rotate_webhook_secret(engine: Engine, master_key: bytes, channel: str, now: datetime,
                          overlap: timedelta = DEFAULT_OVERLAP) -> ChannelSecrets:  # fmt: skip
    """A new secret for `channel`; the one it replaces still signs for `overlap` (0: stops now,
    for a secret that leaked). Refused while a previous rotation's overlap runs: a third
    secret would stop the oldest one at once, under a distributor that may still use it. A
    compare-and-set on the version: two operators rotating at once, one of them is refused."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise WebhookRefused(f"the overlap must be 0 to {MAX_OVERLAP.days * 24} hours", field="overlap")
    with engine.begin() as conn:
        row = _channel_row(conn, channel)
        versions = _versions(row)
        if versions.overlapping(now):
            raise WebhookRefused(
                f"channel {channel} is rotating already: version {versions.previous} still signs until "
                f"{versions.previous_until:%Y-%m-%d %H:%M:%S}Z; end that overlap first (`manage.py "
                f"webhook-secret {channel} --end-overlap`, once {channel} uses version {versions.current}) or "
                "rotate after it")  # fmt: skip
        seen = row.webhook_secret_version
        won = conn.execute(sa.update(_C).where(_C.c.channel == channel, _C.c.webhook_secret_version == seen)
                           .values(webhook_secret_version=seen + 1, webhook_previous_version=seen,
                                   webhook_previous_until=now + overlap)).rowcount  # fmt: skip
        if not won:
            raise WebhookRefused(f"channel {channel}'s secret was rotated meanwhile by someone else: see "
                                 f"`manage.py webhook-secret {channel}`")  # fmt: skip
        return _secrets_of(master_key, _channel_row(conn, channel))


def end_secret_overlap(engine: Engine, master_key: bytes, channel: str,
                       now: datetime) -> tuple[ChannelSecrets, datetime]:  # fmt: skip
    """The previous secret stops signing now (the distributor confirmed it uses the new one, or
    the previous one leaked); the secrets and when it would have stopped. Refused when no
    overlap runs."""
    with engine.begin() as conn:
        row = _channel_row(conn, channel)
        versions = _versions(row)
        if not versions.overlapping(now) or versions.previous_until is None:
            raise WebhookRefused(f"channel {channel} has no previous secret signing: only version "
                                 f"{versions.current} does")  # fmt: skip
        conn.execute(sa.update(_C).where(_C.c.channel == channel,
                                         _C.c.webhook_secret_version == row.webhook_secret_version)
                     .values(webhook_previous_until=now))  # fmt: skip
        return _secrets_of(master_key, _channel_row(conn, channel)), versions.previous_until


def webhook_secret(engine: Engine, master_key: bytes, channel: str, rotate: bool = False, *,
                   now: datetime | None = None, overlap: timedelta = DEFAULT_OVERLAP) -> tuple[bytes, int]:  # fmt: skip
    """The secret the channel checks signatures with (a new one if `rotate`, the previous one
    still signing for `overlap`), and its version."""
    if rotate:
        found = rotate_webhook_secret(engine, master_key, channel, now or datetime.now(UTC), overlap)
    else:
        found = channel_secrets(engine, master_key, channel)
    return found.secret, found.versions.current
