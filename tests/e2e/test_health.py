"""/api/health: every dependency with its latency; `degraded` (still 200) when a partner is
down, 503 only when the instance itself cannot serve (database, settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bootstrap
from blueprints import dependencies
from tests.conftest import MAMBU_KEY
from tests.e2e.calls import call


@pytest.fixture
def fresh(app_env: Path) -> Path:
    dependencies.forget()
    yield app_env
    dependencies.forget()


def health() -> tuple[int, dict]:
    answer = call("health")
    return answer.status_code, json.loads(answer.get_body())


def test_every_dependency_with_its_latency(fresh: Path, mambu: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMBU_BASE_URL", mambu)
    monkeypatch.setenv("MAMBU_API_KEY", MAMBU_KEY)
    monkeypatch.setenv("SMS_OUTBOX_PATH", str(fresh / "sms" / "outbox.jsonl"))
    bootstrap.reset()
    status, body = health()
    assert status == 200 and body["status"] == "ok", body
    checks = body["checks"]
    assert set(checks) == {"database", "logs", "exchange", "queues", "mambu", "sms"}
    assert all(c["status"] == "ok" and c["ms"] >= 0 for c in checks.values()), checks
    assert (checks["database"]["detail"], checks["exchange"]["detail"], checks["sms"]["detail"]) == (
        "sqlite", "file", "outbox")
    assert body["database"] == "ok" and body["time"]


def test_a_partner_down_is_degraded_not_unavailable(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMBU_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("MAMBU_API_KEY", "wrong-key")
    bootstrap.reset()
    status, body = health()
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["mambu"]["status"] == "down" and body["checks"]["mambu"]["error"] == "ConnectError"
    assert body["checks"]["database"]["status"] == "ok"
    assert "wrong-key" not in json.dumps(body)


def test_a_wrong_mambu_key_is_named_as_such(fresh: Path, mambu: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMBU_BASE_URL", mambu)
    monkeypatch.setenv("MAMBU_API_KEY", "not-the-key")
    bootstrap.reset()
    _, body = health()
    assert body["checks"]["mambu"] == {"status": "down", "error": "MambuUnavailable", "ms": body["checks"]["mambu"]["ms"]}
    assert "not-the-key" not in json.dumps(body)


def test_results_are_reused_for_a_few_seconds(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = health()[1]["checks"]
    monkeypatch.setattr(dependencies, "CHECKS", {})  # a second look would find nothing
    assert health()[1]["checks"] == first
