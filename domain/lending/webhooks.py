"""Signed webhooks to the distributors (spec step 31).

Headers: `X-Lending-Event-Id` (receivers de-duplicate by it), `X-Lending-Timestamp` (Unix
seconds) and `X-Lending-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with the
channel's secret. While a rotated secret overlaps the new one the header carries one `v1=`
entry per valid secret, comma-separated, the current one first (`v1=<new>,v1=<previous>`, as
Stripe does): a receiver accepts the event when any entry matches its secret, so a distributor
still on the previous secret and one already on the new accept alike. A receiver recomputes it
over the raw bytes it got and refuses a timestamp older than its tolerance (replays).

Where a channel's events may be sent: an absolute https URL with a host, no user or password,
no fragment, printable ASCII, at most 300 characters; plain http only to the loopback (the
local fakes). Anything else is refused when it is given and, should one be in SQL already,
the event is parked rather than sent.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from domain.errors import DomainError
from domain.lending import MEXICO

EVENT_HEADER = "X-Lending-Event-Id"
TIMESTAMP_HEADER = "X-Lending-Timestamp"
SIGNATURE_HEADER = "X-Lending-Signature"
EVENT_TYPES = {"disbursed": "disbursement.succeeded", "failed": "disbursement.failed"}
MAX_URL_LENGTH = 300  # lending_channels.webhook_url
MAX_SIGNATURES = 8  # entries a verifier reads from the header (two are sent at most)
DEFAULT_OVERLAP = timedelta(hours=72)  # WEBHOOK_SECRET_OVERLAP_HOURS
MAX_OVERLAP = timedelta(days=30)


class WebhookUrlError(DomainError):
    """A webhook URL that is refused: the message says why, in one line."""


def url_problem(url: str | None) -> str | None:
    """Why `url` cannot receive a channel's events, or None when it can."""
    if url is None or url == "":
        return "no webhook URL"
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(not (32 < ord(ch) < 127) for ch in url):
        return "spaces, control or non-ASCII characters (percent-encode them)"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        return f"not a URL ({exc})"
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if not scheme or not parts.netloc:
        return "not an absolute URL (https://host/path)"
    if scheme not in ("https", "http"):
        return f"scheme {scheme} (https only)"
    if not host:
        return "no host"
    if not _HOST.fullmatch(host) and not _ip(host):
        return f"host {host!r} is neither a DNS name nor an IP address"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "a user or password in the URL (the signature authenticates us)"
    if parts.fragment or "#" in url:
        return "a fragment (#...) is never sent"
    if scheme == "http" and not _loopback(host):
        return "plain http outside the loopback (https only; http://127.0.0.1 for a local fake)"
    if port == 0:
        return "port 0"
    return None


_HOST = re.compile(r"(?=.{1,253}\.?$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _loopback(host: str) -> bool:
    address = _ip(host)
    return host == "localhost" or (address is not None and address.is_loopback)


def check_url(url: str) -> str:
    """`url` when a channel's events may be sent there; WebhookUrlError saying why otherwise."""
    problem = url_problem(url)
    if problem is not None:
        raise WebhookUrlError(f"webhook URL refused: {problem}: {url[:80]!r}", field="webhook")
    return url


@dataclass(frozen=True)
class SecretVersions:
    """A channel's signing secrets: the current version and, after a rotation, the previous one
    with the instant it stops being used (`previous_until`, exclusive)."""

    current: int
    previous: int | None = None
    previous_until: datetime | None = None

    def overlapping(self, now: datetime) -> bool:
        return self.previous is not None and self.previous_until is not None and now < self.previous_until

    def signing(self, now: datetime) -> list[int]:
        """The versions an event posted at `now` is signed with: current first."""
        return [self.current, self.previous] if self.overlapping(now) else [self.current]  # type: ignore[list-item]


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


def _secrets(secret: bytes | Sequence[bytes]) -> list[bytes]:
    return [secret] if isinstance(secret, bytes) else list(secret)


def signature_header(secret: bytes | Sequence[bytes], timestamp: int, body: bytes) -> str:
    """`v1=<hex>` per secret, comma-separated, in the order given (the current secret first)."""
    return ",".join(signature(s, timestamp, body) for s in _secrets(secret))


def headers(secret: bytes | Sequence[bytes], event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one POST; `secret` may be several (a rotation's overlap): one entry each."""
    return {
        EVENT_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def signatures_in(header: str) -> list[str]:
    """The `v1=` entries of a signature header (others, a future `v2=`, are skipped), at most
    MAX_SIGNATURES of them."""
    entries = [e.strip() for e in header.split(",")[:MAX_SIGNATURES]]
    return [e for e in entries if e.startswith("v1=")]


def verify(secret: bytes | Sequence[bytes], received: Mapping[str, str], body: bytes, now: int,
           tolerance: int = 300) -> bool:  # fmt: skip
    """What a receiver does: a recent timestamp, and one `v1=` entry of the header that matches
    the HMAC of these exact bytes with its secret (or one of its secrets, while it holds both)."""
    lowered = {k.lower(): v for k, v in received.items()}
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    given = signatures_in(lowered.get(SIGNATURE_HEADER.lower(), ""))
    expected = [signature(s, timestamp, body) for s in _secrets(secret)]
    return any(hmac.compare_digest(g.encode(errors="replace"), e.encode()) for g in given for e in expected)
