"""Signed webhooks to the distributors (spec step 31).

Headers: `X-Lending-Event-Id` (receivers de-duplicate by it), `X-Lending-Timestamp` (Unix
seconds) and `X-Lending-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with the
channel's secret. A receiver recomputes it over the raw bytes it got and refuses a timestamp
older than its tolerance (replays).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EVENT_HEADER = "X-Lending-Event-Id"
TIMESTAMP_HEADER = "X-Lending-Timestamp"
SIGNATURE_HEADER = "X-Lending-Signature"


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
