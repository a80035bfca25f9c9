"""Signed webhooks to the distributors (spec step 31).

Headers: `X-Lending-Event-Id` (receivers de-duplicate by it), `X-Lending-Timestamp` (Unix
seconds) and `X-Lending-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with the
channel's secret. A receiver recomputes it over the raw bytes it got and refuses a timestamp
older than its tolerance (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.lending import MEXICO

EVENT_HEADER = "X-Lending-Event-Id"
TIMESTAMP_HEADER = "X-Lending-Timestamp"
SIGNATURE_HEADER = "X-Lending-Signature"
EVENT_TYPES = {"disbursed": "disbursement.succeeded", "failed": "disbursement.failed"}


def channel_secret(master_key: bytes, channel: str, version: int) -> bytes:
    """Each channel's signing secret, derived from the master key so that none is stored in SQL;
    bumping the channel's version rotates its secret alone."""
    return hmac.new(master_key, f"lending-webhook:{channel}:{version}".encode(), hashlib.sha256).hexdigest().encode()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base, 2 x base, 4 x base ... capped; given up once `give_up_after`
    has passed since the event was queued (the event then waits for an operator)."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    give_up_after: timedelta = timedelta(hours=24)

    def next_attempt(self, queued_at: datetime, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed tries, or None to give up."""
        delay = min(self.base * (2 ** max(attempts - 1, 0)), self.cap)
        if now + delay - queued_at > self.give_up_after:
            return None
        return now + delay


def body(event: Mapping[str, object]) -> bytes:
    """The JSON a distributor receives: stable key order, exact amount as a string, local time."""
    occurred = event["occurred_at"]
    assert isinstance(occurred, datetime)
    amount = event["amount"]
    assert isinstance(amount, Decimal)
    document = {
        "eventId": event["event_id"],
        "type": EVENT_TYPES[str(event["outcome"])],
        "occurredAt": occurred.astimezone(MEXICO).isoformat(timespec="seconds"),
        "transactionId": event["purchase_id"],
        "orderId": event["order_id"],
        "channel": event["channel"],
        "amount": f"{amount:.2f}",
        "currency": "MXN",
        "attempt": event["attempt"],
        "trackingKey": event["tracking_key"] or None,
        "reasonCode": None if event["outcome"] == "disbursed" else event["reason_code"],
        "reason": event.get("reason") if event["outcome"] == "failed" else None,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def headers(secret: bytes, event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        EVENT_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(secret: bytes, received: Mapping[str, str], body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: the signature over these exact bytes, and a recent timestamp."""
    lowered = {k.lower(): v for k, v in received.items()}
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    return hmac.compare_digest(given, signature(secret, timestamp, body))
