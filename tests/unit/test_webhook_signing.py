"""Webhook signatures: what the sender writes, a receiver verifies; any change is refused."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.lending.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, headers, verify

SECRET = b"channel-secret-0123456789"


@given(st.binary(max_size=300), st.integers(1_600_000_000, 2_000_000_000))
def test_sign_then_verify(body: bytes, timestamp: int) -> None:
    sent = headers(SECRET, "evt-1", timestamp, body)
    assert verify(SECRET, sent, body, timestamp + 10)
    assert not verify(b"other-secret", sent, body, timestamp)
    assert not verify(SECRET, sent, body + b" ", timestamp)
    assert not verify(SECRET, sent, body, timestamp + 301), "too old: a replay"
    assert not verify(SECRET, {**sent, TIMESTAMP_HEADER: str(timestamp + 1)}, body, timestamp)


def test_headers_are_case_insensitive_and_missing_ones_fail() -> None:
    sent = headers(SECRET, "evt-2", 1_800_000_000, b"{}")
    assert verify(SECRET, {k.lower(): v for k, v in sent.items()}, b"{}", 1_800_000_000)
    assert not verify(SECRET, {SIGNATURE_HEADER: sent[SIGNATURE_HEADER]}, b"{}", 1_800_000_000)
