"""One-time passwords: 6 digits, stored only as a keyed hash, checked in constant time,
valid for a few minutes and a bounded number of attempts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def code_hash(code: str, salt: str, key: bytes) -> str:
    return hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OtpCheck:
    ok: bool
    reason: str  # "ok", "expired", "wrong", "too_many_attempts"


def check(code: str, stored_hash: str, salt: str, key: bytes, expires_at: datetime, attempts: int,
          max_attempts: int, now: datetime) -> OtpCheck:  # fmt: skip
    """`attempts` counts the earlier tries; the caller stores attempts + 1 whatever the result."""
    if attempts >= max_attempts:
        return OtpCheck(False, "too_many_attempts")
    if now >= expires_at:
        return OtpCheck(False, "expired")
    given = code.strip()
    if not hmac.compare_digest(code_hash(given, salt, key), stored_hash):
        return OtpCheck(False, "wrong")
    return OtpCheck(True, "ok")


def expiry(now: datetime, minutes: int) -> datetime:
    return now + timedelta(minutes=minutes)
