"""Webhook signatures: what the sender writes, a receiver verifies; any change is refused. During a
secret rotation's overlap two signatures, either verifies. The URLs a channel may have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lending.webhooks import (
    MAX_SIGNATURES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SecretVersions,
    WebhookUrlError,
    check_url,
    headers,
    signature,
    signatures_in,
    url_problem,
    verify,
)

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


# -- issue 29: two signatures during a rotation's overlap, URLs a channel may have -------------

OLD, NEW = b"old-secret-0123456789", b"new-secret-0123456789"


@given(st.binary(max_size=300), st.integers(1_600_000_000, 2_000_000_000))
def test_during_an_overlap_either_secret_verifies_and_no_other(body: bytes, timestamp: int) -> None:
    sent = headers([NEW, OLD], "evt-3", timestamp, body)
    assert sent[SIGNATURE_HEADER] == f"{signature(NEW, timestamp, body)},{signature(OLD, timestamp, body)}"
    assert verify(OLD, sent, body, timestamp) and verify(NEW, sent, body, timestamp)
    assert verify([OLD, NEW], sent, body, timestamp)
    assert not verify(SECRET, sent, body, timestamp)
    assert not verify(OLD, sent, body + b"x", timestamp)
    assert not verify(OLD, headers(NEW, "evt-3", timestamp, body), body, timestamp), "after the overlap: new only"


def test_the_signature_header_is_read_leniently_and_boundedly() -> None:
    good = signature(OLD, 1_800_000_000, b"{}")
    base = {TIMESTAMP_HEADER: "1800000000"}
    for header in (f"v1=00, {good}", f" {good} ,v1=11", f"v0=zz,{good}", f"v1=é,{good}"):
        assert verify(OLD, {**base, SIGNATURE_HEADER: header}, b"{}", 1_800_000_000), header
    assert signatures_in(f"v1=a,v2=b, v1=c ,{good}") == ["v1=a", "v1=c", good]
    padded = ",".join(["v1=00"] * MAX_SIGNATURES + [good])  # entries past the bound are not read
    assert not verify(OLD, {**base, SIGNATURE_HEADER: padded}, b"{}", 1_800_000_000)
    assert not verify(OLD, {**base, SIGNATURE_HEADER: "é" * 50}, b"{}", 1_800_000_000)


def test_the_versions_that_sign() -> None:
    t = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert SecretVersions(1).signing(t) == [1]
    rotated = SecretVersions(2, 1, t + timedelta(hours=72))
    assert rotated.signing(t) == [2, 1] and rotated.signing(t + timedelta(hours=71, minutes=59)) == [2, 1]
    assert rotated.signing(t + timedelta(hours=72)) == [2] and not rotated.overlapping(t + timedelta(hours=80))


ACCEPTED = ["https://kof.example.com/hooks", "https://kof.example.com:8443/hooks?c=KOF", "HTTPS://KOF.EXAMPLE.COM/x",
            "https://10.0.0.7/hooks", "https://[2001:db8::1]/x", "http://127.0.0.1:8090/hooks/KOF",
            "http://localhost:8090/hooks/KOF", "http://[::1]:8090/x", "https://kof.example.com/" + "a" * 275]  # fmt: skip
REFUSED = {
    "": "no webhook URL",
    "not-a-url": "not an absolute URL",
    "//kof.example.com/x": "not an absolute URL",
    "https://": "not an absolute URL",
    "https:///hooks": "not an absolute URL",
    "ftp://kof.example.com/x": "scheme ftp",
    "http://kof.example.com/hooks": "plain http outside the loopback",
    "http://10.0.0.7/hooks": "plain http outside the loopback",
    "https://user:pw@kof.example.com/": "user or password",
    "https://@kof.example.com/": "user or password",
    "https://kof.example.com/hooks#top": "fragment",
    "https://kof.example.com/ hooks": "spaces, control or non-ASCII",
    "https://kof.example.com/\u00f1": "spaces, control or non-ASCII",
    "https://kof.example.com/\n": "spaces, control or non-ASCII",
    "https://kof.example.com:99999/": "not a URL",
    "https://kof.example.com:0/": "port 0",
    "https://kof_mx.example.com/": "neither a DNS name nor an IP address",
    "https://kof.example.com/" + "a" * 277: "longer than 300",
}


def test_webhook_urls() -> None:
    for url in ACCEPTED:
        assert url_problem(url) is None and check_url(url) == url, url
    assert url_problem(None) == "no webhook URL"
    for url, why in REFUSED.items():
        assert why in (url_problem(url) or ""), (url, url_problem(url))
        with pytest.raises(WebhookUrlError, match="webhook URL refused: ") as refused:
            check_url(url)
        assert refused.value.field == "webhook" and "\n" not in str(refused.value)


@given(st.text(max_size=400))
def test_any_text_is_judged_without_raising(url: str) -> None:
    problem = url_problem(url)
    assert problem is None or isinstance(problem, str)
