"""Hypothesis over the lending routes, in-process as the host calls them: whatever a distributor
or the app sends, never a 5xx (503 only when a dependency is down, which here it is not), and
refusals in the lending error shape with the field named when a value is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bootstrap
from tests.conftest import MAMBU_KEY
from tests.e2e.calls import call
from tests.e2e.test_yapago_fuzz import ANY_JSON, TEXTY, mutated
from usecases.clients import register_client
from usecases.lending import seed_lending_demo

ORDER = {"orderId": "F-1", "channel": "KOF", "customerId": "CUST-001", "amount": "12.50", "concept": "Pedido"}
QR = {"orderId": "F-1", "channel": "KOF", "customerId": "CUST-001", "amount": "12.50"}
OTP = {"customerId": "CUST-001", "code": "123456"}
SCAN = {"channel": "KOF", "payload": "LQR1.e30.AAAA"}
PURCHASE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def tokens(app_env: Any, monkeypatch: pytest.MonkeyPatch, mambu: str) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("MAMBU_BASE_URL", mambu)
    monkeypatch.setenv("MAMBU_API_KEY", MAMBU_KEY)
    monkeypatch.setenv("LENDING_SIGNING_KEY", "l" * 40)
    monkeypatch.setenv("SMS_OUTBOX_PATH", str(app_env / "sms.jsonl"))
    bootstrap.reset()
    seed_lending_demo(bootstrap.engine(), bootstrap.utc_now())
    found = {}
    for who, scopes, channels in (("kof-fuzz", "merchant", "KOF"), ("app-fuzz", "lending", None)):
        register_client(bootstrap.unit_of_work, who, "fuzz-secret-value", scopes, bootstrap.utc_now(),
                        channels=channels)  # fmt: skip
        answer = call("auth_token", "POST", body={"client_id": who, "client_secret": "fuzz-secret-value"})
        found[who] = json.loads(answer.get_body())["access_token"]
    yield found


def check(name: str, body: Any, token: str, route_params: dict[str, str] | None = None) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = call(name, "POST", headers={"Authorization": f"Bearer {token}"}, body=raw, route_params=route_params)
    assert response.status_code < 500, response.get_body()
    answer = json.loads(response.get_body())
    assert set(answer) >= {"error", "message", "correlationId"} or response.status_code < 300, answer


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FIELDS = st.one_of(TEXTY, ANY_JSON, st.sampled_from(["1e2", "1_000", "-1", "0", "١٢", "12.505", "\x00", "KOF\x1b"]))


@SETTINGS
@given(body=mutated(ORDER), extra=st.dictionaries(st.sampled_from(sorted(ORDER)), FIELDS, max_size=2))
def test_orders_fuzz(tokens: dict[str, str], body: dict[str, Any], extra: dict[str, Any]) -> None:
    check("lending_orders", {**body, **extra}, tokens["kof-fuzz"])


@SETTINGS
@given(body=mutated(QR), extra=st.dictionaries(st.sampled_from(sorted(QR)), FIELDS, max_size=2))
def test_qr_requests_fuzz(tokens: dict[str, str], body: dict[str, Any], extra: dict[str, Any]) -> None:
    check("lending_qr_request", {**body, **extra}, tokens["app-fuzz"])


@SETTINGS
@given(body=mutated(SCAN), otp=mutated(OTP), purchase=st.one_of(st.just(PURCHASE), st.text(max_size=40)))
def test_scans_and_otps_fuzz(tokens: dict[str, str], body: dict[str, Any], otp: dict[str, Any], purchase: str) -> None:
    check("lending_scan", body, tokens["kof-fuzz"])
    for name in ("lending_qr_otp", "lending_confirm"):
        check(name, otp, tokens["app-fuzz"], {"purchaseId": purchase})


@SETTINGS
@given(raw=st.binary(max_size=200) | ANY_JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes(tokens: dict[str, str], raw: bytes) -> None:
    check("lending_orders", raw, tokens["kof-fuzz"])
    check("lending_qr_request", raw, tokens["app-fuzz"])
