"""OpenTelemetry, checked with in-memory exporters: one span per invocation continuing the caller's
trace, SQL / file / Table / httpx spans under it, business counters, the trace id as ApiLogs'
CorrelationId, the log-writer thread's lines in their invocation, and no secret or unmasked
identity in any attribute."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.functions.timer import TimerRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import bootstrap
from adapters import telemetry
from adapters.table_log import API_LOGS, PROCESS_LOGS, TableLogSink, make_entity, partition_key, read_partition
from adapters.webhook_http import HttpWebhookPoster
from local_host.invoke import InvocationContext, TraceContext, host_trace_context
from tests.conftest import free_port, serve_in_thread
from tests.e2e.calls import call, deliver, function, json_of, load_pending
from tests.e2e.test_debt_loader_timer import drop
from usecases.clients import register_client
from usecases.companies import seed_demo

SECRET = "bank-secret-telemetry-123"
CALLER_TRACE = uuid.uuid4().hex  # the session shares Azurite: a trace no other test uses
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
CONSULTA = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}
PAGO = {
    "fechaTxn": "22112026", "horaTxn": "180520", "idCanal": "10", "idForma": "01", "numeroOperacion": "77001",
    "idConsulta": "4785124", "servicio": "001", "numeroDocumento": "F001-00000001", "importePagado": "102.49",
    "moneda": "1", "idEmpresa": "730", "idBanco": "1020", "voucher": "", "referenciaDeuda": 1,
}  # fmt: skip


class Traced:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def counters(self) -> dict[tuple[str, tuple[tuple[str, Any], ...]], int]:
        found: dict[tuple[str, tuple[tuple[str, Any], ...]], int] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        found[(metric.name, tuple(sorted(point.attributes.items())))] = point.value
        return found


@pytest.fixture
def traced() -> Iterator[Traced]:
    tracing = Traced()
    telemetry.enable(tracing.provider, tracing.meters)
    try:
        yield tracing
    finally:
        telemetry.disable()


def children_of(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def every_value(spans: list[ReadableSpan]) -> str:
    """Every attribute, event and link value of every span, as one text to search."""
    parts: list[str] = []
    for s in spans:
        parts.append(s.name)
        parts.extend(str(v) for v in (s.attributes or {}).values())
        for event in s.events:
            parts.extend(str(v) for v in (event.attributes or {}).values())
        parts.append(str(s.status.description or ""))
    return "\n".join(parts)


def test_http_invocation_continues_the_callers_trace(app_env: Path, azurite: str, traced: Traced) -> None:
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    register_client(bootstrap.unit_of_work, "bank-1020", SECRET, "yapago", bootstrap.utc_now())
    drop(app_env / "exchange", "valid_r")
    load_pending()
    traced.exporter.clear()

    issued = call("auth_token", "POST", headers={"client_id": "bank-1020", "client_secret": SECRET})
    jwt = json_of(issued)["access_token"]
    headers = {"Authorization": f"Bearer {jwt}", "traceparent": TRACEPARENT, "tracestate": "vendor=1"}
    consulta = call("yapago_consulta", "POST", headers=headers, body=CONSULTA)
    pago = call("yapago_pago", "POST", headers=headers, body=PAGO)
    assert consulta.status_code == 200 and pago.status_code == 200, pago.get_body()
    bootstrap.log_sink().flush()

    spans = traced.spans()
    (invocation,) = [s for s in spans if s.name == "yapago_pago"]
    assert invocation.kind == SpanKind.SERVER
    assert format(invocation.context.trace_id, "032x") == CALLER_TRACE
    assert invocation.parent is not None and format(invocation.parent.span_id, "016x") == CALLER_SPAN
    assert invocation.attributes["faas.trigger"] == "http" and len(invocation.attributes["faas.invocation_id"]) == 32
    assert invocation.attributes["http.response.status_code"] == 200
    assert invocation.attributes["enduser.id"] == "bank-1020"
    assert invocation.attributes["url.path"] == "/api/yapago/pago"

    sql = [s for s in children_of(spans, invocation) if s.attributes.get("db.system") == "sqlite"]
    assert sql and all(s.kind == SpanKind.CLIENT for s in sql)
    assert {s.attributes["db.operation"] for s in sql} >= {"SELECT", "INSERT"}
    assert all("?" in s.attributes["db.statement"] or "4785124" not in s.attributes["db.statement"] for s in sql)

    table = [s for s in spans if s.name == f"Table insert {API_LOGS}"]
    assert any(s.parent is not None and s.parent.span_id == invocation.context.span_id for s in table), \
        "the ApiLogs write of the call is a child of its invocation"  # fmt: skip

    assert pago.headers["X-Correlation-Id"] == CALLER_TRACE
    rows = read_partition(azurite, API_LOGS, partition_key("yapago_pago", datetime.now(UTC)))
    (row,) = [r for r in rows if r["CorrelationId"] == CALLER_TRACE]
    assert row["Function"] == "yapago_pago" and "CallerCorrelationId" not in row

    code = json_of(pago)["codResp"]
    counters = traced.counters()
    assert counters[("yapago.requests", (("codResp", code), ("operation", "pago")))] == 1
    assert counters[("yapago.requests", (("codResp", json_of(consulta)["codResp"]), ("operation", "consulta")))] == 1

    text = every_value(spans)
    signing_key = bootstrap.get_settings().signing_key()
    for secret in (SECRET, jwt, "Bearer", "4785124", "JUAN PEREZ", "F001-00000001", signing_key):
        assert str(secret) not in text, secret


def test_a_call_without_traceparent_starts_a_trace_named_in_the_answer(app_env: Path, traced: Traced) -> None:
    response = call("auth_token", "POST", headers={"traceparent": "00-" + "0" * 32 + "-" + "1" * 16 + "-01"})
    assert response.status_code in (400, 401)
    (invocation,) = [s for s in traced.spans() if s.name == "auth_token"]
    assert invocation.parent is None, "an all-zero trace id is not a trace to continue"
    assert response.headers["X-Correlation-Id"] == format(invocation.context.trace_id, "032x")
    assert json_of(response)["correlationId"] == response.headers["X-Correlation-Id"]


def test_the_hosts_trace_context_wins_over_the_header(app_env: Path, traced: Traced) -> None:
    """On Azure the host hands the worker its own activity's traceparent (which already joined
    the caller's trace); the worker's span is its child."""
    host = "00-11111111111111111111111111111111-2222222222222222-01"
    context = InvocationContext("inv-1", "auth_token", ".", trace_context=TraceContext(host))
    response = function("auth_token").get_user_function()(
        _request("POST", "auth/token", {"traceparent": TRACEPARENT}), context
    )
    (invocation,) = [s for s in traced.spans() if s.name == "auth_token"]
    assert format(invocation.parent.span_id, "016x") == "2222222222222222"
    assert invocation.attributes["faas.invocation_id"] == "inv-1"
    assert response.headers["X-Correlation-Id"] == "1" * 32


def _request(method: str, route: str, headers: dict[str, str]) -> Any:
    import azure.functions as func

    return func.HttpRequest(method, f"http://localhost/api/{route}", headers=headers, body=b"")


def test_dispatch_and_queue_runs_span_files_sql_and_count_lines(app_env: Path, azurite: str, traced: Traced) -> None:
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    name = drop(app_env / "exchange", "valid_r")
    context = InvocationContext("timer-inv-1", "debt_loader", ".", trace_context=host_trace_context(None))
    function("debt_loader").get_user_function()(TimerRequest(), context)
    queued = InvocationContext("queue-inv-1", "debt_files", ".", trace_context=host_trace_context(None))
    assert deliver("debt_files", bootstrap.get_settings().debt_queue, queued) == 1
    bootstrap.log_sink().flush()

    spans = traced.spans()
    (dispatch,) = [s for s in spans if s.name == "debt_loader"]
    assert dispatch.kind == SpanKind.INTERNAL and dispatch.attributes["faas.trigger"] == "timer"
    assert dispatch.attributes["faas.invocation_id"] == "timer-inv-1"
    assert format(dispatch.context.trace_id, "032x") == context.trace_context.trace_parent.split("-")[1]
    (run,) = [s for s in spans if s.name == "debt_files"]
    assert run.attributes["faas.trigger"] == "queue" and run.attributes["app.dequeue_count"] == 1
    trace_id = format(run.context.trace_id, "032x")
    files = {s.attributes["file.operation"]: s for s in spans
             if s.attributes.get("file.system") == "file" and s.context.trace_id == run.context.trace_id}  # fmt: skip
    assert {"list", "open", "move"} <= set(files)
    assert any(name in s.attributes["file.path"] for s in files.values())
    assert any(s.attributes.get("db.operation") == "INSERT" for s in spans if s.context.trace_id == run.context.trace_id)

    counters = traced.counters()
    assert counters[("debt.lines", (("outcome", "applied"),))] == 4
    rows = read_partition(azurite, PROCESS_LOGS, partition_key("debt_loader", datetime.now(UTC)))
    assert {r["Kind"] for r in rows if r.get("CorrelationId") == trace_id} == {"file"}, "its files carry the trace id"
    runs = read_partition(azurite, PROCESS_LOGS, partition_key("debt_files", datetime.now(UTC)))
    assert [r["Company"] for r in runs if r.get("CorrelationId") == trace_id] == ["00730"]


def test_httpx_calls_are_children_with_scrubbed_urls_and_propagate(traced: Traced) -> None:
    seen: list[dict[str, str]] = []

    async def receiver(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serve_in_thread(receiver) as base:
        with telemetry.invocation("webhook_delivery", "timer") as invocation:
            url = f"{base}/hooks/KOF/12345678/?token=s3cr3t-token&sig=abc"
            result = HttpWebhookPoster(5).post(url, {"X-Signature": "sig-value"}, b"{}")
        assert result.delivered
        (client,) = [s for s in traced.spans() if s.kind == SpanKind.CLIENT]
        assert client.parent.span_id == invocation.span.get_span_context().span_id
        recorded = client.attributes.get("url.full") or client.attributes.get("http.url")
        assert recorded == f"{base}/hooks/KOF/*/", recorded
        assert "s3cr3t" not in every_value(traced.spans())
        assert seen[0]["traceparent"].split("-")[1:3] == [invocation.trace_id, format(client.context.span_id, "016x")]


def test_table_writer_thread_logs_inside_the_invocation(traced: Traced) -> None:
    """A failed Table batch is logged from the writer thread with the invocation id the worker
    reads (thread_local_storage) and the invocation's trace context."""
    dead = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            f"TableEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;")  # fmt: skip
    sink = TableLogSink(dead, timeout=0.5, linger=0.01)
    worker_local = threading.local()
    seen: list[tuple[str | None, str]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            from opentelemetry import trace

            context = trace.get_current_span().get_span_context()
            seen.append((getattr(worker_local, "invocation_id", None), format(context.trace_id, "032x")))

    handler = Capture()
    logging.getLogger().addHandler(handler)
    try:
        context = InvocationContext("inv-table", "x", ".", trace_context=host_trace_context(None),
                                    thread_local_storage=worker_local)  # fmt: skip
        with telemetry.invocation("x", "http", context) as invocation:
            sink.write("Probe", make_entity("x", datetime.now(UTC), {"A": 1}))
        assert sink.flush(10)
    finally:
        logging.getLogger().removeHandler(handler)
        sink.close()
    assert ("inv-table", invocation.trace_id) in seen
    assert getattr(worker_local, "invocation_id", None) is None, "restored after the batch"


def test_off_costs_nothing_but_still_names_the_trace(app_env: Path) -> None:
    assert not telemetry.enabled()
    response = call("auth_token", "POST", headers={"traceparent": TRACEPARENT})
    assert response.headers["X-Correlation-Id"] == CALLER_TRACE


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://user:pw@mambu.example/api/clients/12345678?apiKey=x#f", "https://mambu.example/api/clients/*"),
        ("http://127.0.0.1:8080/hooks/KOF", "http://127.0.0.1:8080/hooks/KOF"),
        ("https://x.blob.core.windows.net/c/00730/Deudas/a.TXT?sv=1&sig=zz", "https://x.blob.core.windows.net/c/*/Deudas/a.TXT"),
        ("https://h/" + "a" * 40, "https://h/*"),
    ],
)
def test_safe_url(url: str, safe: str) -> None:
    assert telemetry.safe_url(url) == safe


def test_connection_string_configures_the_distro_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    import azure.monitor.opentelemetry as distro

    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr(telemetry, "_use", lambda *a: None)
    monkeypatch.setattr(telemetry._State, "configured", False)
    monkeypatch.setattr(telemetry._State, "httpx_instrumented", False)
    env = {telemetry.CONNECTION_SETTING: "InstrumentationKey=00000000-0000-0000-0000-000000000000",
           telemetry.AUTHENTICATION_SETTING: "Authorization=AAD;ClientId=11111111-2222-3333-4444-555555555555"}  # fmt: skip
    telemetry.ensure_configured(env)
    telemetry.ensure_configured(env)
    (options,) = calls
    assert options["connection_string"] == env[telemetry.CONNECTION_SETTING]
    assert type(options["credential"]).__name__ == "ManagedIdentityCredential"
    assert options["instrumentation_options"]["django"] == {"enabled": False}
    monkeypatch.setattr(telemetry._State, "configured", False)
    telemetry.ensure_configured({})
    assert len(calls) == 1, "no connection string: nothing configured"
    monkeypatch.setattr(telemetry._State, "configured", False)


def test_invalid_traceparents_are_not_continued() -> None:
    for bad in ("", "garbage", "01-" + "a" * 32 + "-" + "b" * 16 + "-01", "00-" + "a" * 32 + "-" + "0" * 16 + "-01"):
        assert telemetry.trace_id_of(bad) is None
    assert telemetry.trace_id_of(TRACEPARENT.upper()) == CALLER_TRACE
    assert json.dumps(host_trace_context(None).attributes) == "{}"
    assert httpx  # the instrumented client library is importable here
