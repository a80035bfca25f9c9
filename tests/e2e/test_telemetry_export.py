"""The local host with APPLICATIONINSIGHTS_CONNECTION_STRING set, exporting through the real
azure-monitor-opentelemetry distro to a local ingestion endpoint (fakes/appinsights.py): the
invocation arrives as a Request in the caller's operation, Mambu (httpx) and SQL as its
dependencies, the business counters as metrics, and no envelope carries a secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.appinsights import FakeIngestion
from tests.conftest import MAMBU_KEY, ROOT, SIGNING_KEY, serve_in_thread, stop
from tests.e2e.test_local_host import start_host

SECRET = "telemetry-secret-value"
LENDING_KEY = "k" * 40
TRACE = uuid.uuid4().hex
TRACEPARENT = f"00-{TRACE}-{'ab' * 8}-01"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, azurite: str, mambu: str) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("telemetry")
    ingestion = FakeIngestion()
    with serve_in_thread(ingestion) as ingest:
        env = {**os.environ, "SQL_URL": f"sqlite:///{tmp / 'db.sqlite'}", "SFTP_URL": f"file://{tmp / 'x'}",
               "LOG_STORAGE_CONNECTION": azurite, "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
               "MAMBU_BASE_URL": mambu, "MAMBU_API_KEY": MAMBU_KEY, "SMS_OUTBOX_PATH": str(tmp / "sms.jsonl"),
               "LENDING_SIGNING_KEY": LENDING_KEY,
               "APPLICATIONINSIGHTS_CONNECTION_STRING":
                   f"InstrumentationKey=00000000-0000-0000-0000-0000000000aa;IngestionEndpoint={ingest}/;"
                   f"LiveEndpoint={ingest}/",
               "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "OTEL_BSP_SCHEDULE_DELAY": "100",
               "OTEL_METRIC_EXPORT_INTERVAL": "500"}  # fmt: skip
        for args in (["migrate"], ["seed-demo"],
                     ["create-client", "--id", "kof-app", "--secret", SECRET, "--scopes", "merchant", "--channels",
                      "KOF"],
                     ["create-client", "--id", "customer-app", "--secret", SECRET, "--scopes", "lending"],
                     ["create-client", "--id", "bank-1020", "--secret", SECRET, "--scopes", "yapago"]):  # fmt: skip
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
        proc, port, log = start_host(tmp, env, "--workers", "1", "--no-timers")
        try:
            base = f"http://127.0.0.1:{port}/api"
            tokens = {who: httpx.post(f"{base}/auth/token", headers={"client_id": who, "client_secret": SECRET},
                                      timeout=30).json()["access_token"] for who in ("kof-app", "customer-app", "bank-1020")}  # fmt: skip
            order = f"KOF-{uuid.uuid4().hex[:8]}"
            body = {"orderId": order, "channel": "KOF", "customerId": "CUST-001", "amount": "100.00", "concept": "x"}
            created = httpx.post(f"{base}/lending/orders", json=body, timeout=30,
                                 headers={"Authorization": f"Bearer {tokens['kof-app']}"})  # fmt: skip
            assert created.status_code == 201, created.text
            asked = httpx.post(f"{base}/lending/qr-requests", timeout=30, json={
                "orderId": order, "channel": "KOF", "customerId": "CUST-001", "amount": "100.00",
            }, headers={"Authorization": f"Bearer {tokens['customer-app']}", "traceparent": TRACEPARENT})  # fmt: skip
            assert asked.status_code == 201, asked.text
            consulta = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020",
                        "idCanal": "10"}  # fmt: skip
            answered = httpx.post(f"{base}/yapago/consulta", json=consulta, timeout=30,
                                  headers={"Authorization": f"Bearer {tokens['bank-1020']}"})  # fmt: skip
            code = answered.json()["codResp"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not _complete(ingestion.envelopes):
                time.sleep(0.2)
            yield {"envelopes": list(ingestion.envelopes), "tokens": tokens, "answer": asked, "log": log, "code": code}
        finally:
            stop(proc)


def _complete(envelopes: list[dict[str, Any]]) -> bool:
    names = {e["data"]["baseData"].get("name") for e in envelopes if e["data"]["baseType"] == "RequestData"}
    metrics = {m["name"] for e in envelopes if e["data"]["baseType"] == "MetricData" for m in e["data"]["baseData"]["metrics"]}
    return "lending_qr_request" in names and "yapago.requests" in metrics


def in_operation(envelopes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["data"]["baseType"] == kind and e["tags"].get("ai.operation.id") == TRACE]


def _request(exported: dict[str, Any]) -> dict[str, Any]:
    (request,) = [e for e in in_operation(exported["envelopes"], "RequestData")
                  if e["data"]["baseData"]["name"] == "lending_qr_request"]  # fmt: skip
    return request


def test_the_invocation_is_a_request_in_the_callers_operation(exported: dict[str, Any]) -> None:
    """The host's request joins the caller's trace; the worker's invocation span is under it."""
    request = _request(exported)
    assert request["tags"]["ai.operation.parentId"] == "ab" * 8
    assert request["data"]["baseData"]["responseCode"] == "201"
    assert request["data"]["baseData"]["properties"]["faas.trigger"] == "http"
    (worker,) = [d for d in in_operation(exported["envelopes"], "RemoteDependencyData")
                 if d["data"]["baseData"]["name"] == "lending_qr_request"]  # fmt: skip
    assert worker["tags"]["ai.operation.parentId"] == request["data"]["baseData"]["id"]
    assert len(worker["data"]["baseData"]["properties"]["faas.invocation_id"]) == 36
    assert exported["answer"].headers["X-Correlation-Id"] == TRACE


def test_mambu_and_sql_are_its_dependencies(exported: dict[str, Any]) -> None:
    dependencies = in_operation(exported["envelopes"], "RemoteDependencyData")
    (worker,) = [d for d in dependencies if d["data"]["baseData"]["name"] == "lending_qr_request"]
    kinds = {d["data"]["baseData"].get("type") for d in dependencies}
    assert {"HTTP", "SQL", "InProc"} <= kinds, kinds
    mambu = [d for d in dependencies if d["data"]["baseData"].get("type") == "HTTP"]
    assert {d["data"]["baseData"]["name"] for d in mambu} == {
        "GET /api/clients/CUST-001/creditarrangements", "GET /api/creditarrangements/CA-CUST-001/accounts"}
    assert all("?" not in d["data"]["baseData"]["data"] for d in mambu), "no query string recorded"
    assert all(d["tags"]["ai.operation.parentId"] == worker["data"]["baseData"]["id"] for d in mambu)


def test_no_envelope_carries_a_secret(exported: dict[str, Any]) -> None:
    text = json.dumps(exported["envelopes"])
    for secret in (SECRET, MAMBU_KEY, SIGNING_KEY, LENDING_KEY, *exported["tokens"].values()):
        assert secret not in text


def test_business_counters_are_metrics(exported: dict[str, Any]) -> None:
    counted = [e["data"]["baseData"] for e in exported["envelopes"] if e["data"]["baseType"] == "MetricData"
               and e["data"]["baseData"]["metrics"][0]["name"] == "yapago.requests"]  # fmt: skip
    assert counted and counted[0]["properties"] == {"operation": "consulta", "codResp": exported["code"]}
    assert sum(m["metrics"][0]["value"] for m in counted[-1:]) == 1
