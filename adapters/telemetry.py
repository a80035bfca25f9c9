"""Traces, metrics and logs for Application Insights, through OpenTelemetry.

Off unless APPLICATIONINSIGHTS_CONNECTION_STRING is set, when azure-monitor-opentelemetry
is configured at the first invocation (not at import: a cold start that serves a health
probe does not pay for it), or a test enables it with its own providers. Off, every helper
here costs a flag check, and the invocation's trace id is still worked out (it is the
correlation id of ApiLogs either way).

What is traced: one span per invocation, continuing the trace context the host hands the
worker (which continues the caller's `traceparent`); under it, one span per SQL statement
(listeners on each engine), per httpx request (Mambu, webhooks, ACS; the distro's
instrumentation), per file store operation (SFTP, blob, local) and per Table log batch.
Attributes never carry a secret, a body or an unmasked document number: SQL text without its
parameters, URLs without user info, query or id-like path segments (SCRUB below), exchange paths.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import secrets
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("app")
CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"  # Authorization=AAD;ClientId=...
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ID_LIKE = re.compile(r".*\d{4,}.*|.{25,}")  # a path segment that may name a person or a secret
URL_ATTRIBUTES = ("url.full", "http.url", "http.target", "url.query", "url.path")
MAX_STATEMENT = 2000

# business counters: name -> (unit, description); the attributes are low-cardinality codes
COUNTERS: dict[str, tuple[str, str]] = {
    "yapago.requests": ("{request}", "YAPAGO consultas, pagos and reversas answered, by operation and codResp"),
    "debt.lines": ("{line}", "debt file lines applied or rejected, by outcome"),
    "files.written": ("{file}", "files written for a company or a bank, by kind"),
    "webhooks.failed": ("{delivery}", "webhook deliveries that failed, by distributor"),
}


@dataclass
class Invocation:
    """The invocation running in this context: what logs and spans of other threads refer to."""

    invocation_id: str
    function: str
    trace_id: str  # 32 hex digits: the operation id in Application Insights, ApiLogs' CorrelationId
    span: Any = None  # the invocation's span while tracing is on
    otel_context: Any = None
    thread_local: Any = None  # the worker's context.thread_local_storage (log lines find their invocation)

    def set(self, **attributes: Any) -> None:
        if self.span is not None:
            self.span.set_attributes({k: v for k, v in attributes.items() if v is not None})


class _State:
    lock = threading.Lock()
    configured = False
    tracer: Any = None
    meter: Any = None
    counters: ClassVar[dict[str, Any]] = {}
    engines: ClassVar[weakref.WeakSet[Any]] = weakref.WeakSet()
    httpx_instrumented = False


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("invocation", default=None)


def enabled() -> bool:
    return _State.tracer is not None


def current() -> Invocation | None:
    return _current.get()


# -- configuration -------------------------------------------------------------------------------


def ensure_configured(environ: Mapping[str, str] = os.environ) -> None:
    """Configure the Azure Monitor exporters once per process, if a connection string is set."""
    if _State.configured:
        return
    with _State.lock:
        if _State.configured:
            return
        _State.configured = True
        connection = (environ.get(CONNECTION_SETTING) or "").strip()
        if not connection or enabled():
            return
        try:
            _configure_azure_monitor(connection, environ)
        except Exception:  # telemetry must never fail an invocation
            log.exception("OpenTelemetry export to Application Insights could not be configured")


def _configure_azure_monitor(connection: str, environ: Mapping[str, str]) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import metrics, trace

    options: dict[str, Any] = {
        "connection_string": connection,
        "span_processors": [scrubbing_processor()],
        # only what this app uses: no web framework runs here, psycopg (3) is traced as SQL below
        "instrumentation_options": {name: {"enabled": False} for name in ("django", "fastapi", "flask", "psycopg2")},
    }
    if not environ.get("OTEL_TRACES_SAMPLER"):
        # every invocation kept: each is the record of a payment (the distro's default, about
        # five traces a second, drops the first ones of a quiet instance); OTEL_TRACES_SAMPLER lowers it
        options["sampling_ratio"] = 1.0
    client_id = _aad_client_id(environ.get(AUTHENTICATION_SETTING) or "")
    if client_id is not None:  # the resource refuses keys (local auth off): the app's identity signs in
        from azure.identity import ManagedIdentityCredential

        options["credential"] = ManagedIdentityCredential(client_id=client_id or None)
    if (environ.get("TELEMETRY_EXPORT_LOGS") or "true").lower() == "false":
        options["logger_name"] = "app.telemetry.none"  # a logger nothing writes to
    configure_azure_monitor(**options)
    _State.httpx_instrumented = True  # the distro instruments httpx itself
    _use(trace.get_tracer_provider(), metrics.get_meter_provider())
    log.info("OpenTelemetry: traces, metrics and logs go to Application Insights")


def _aad_client_id(value: str) -> str | None:
    """ClientId from `Authorization=AAD;ClientId=...` ('' for the system identity), None without AAD."""
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    if parts.get("Authorization", "").upper() != "AAD":
        return None
    return parts.get("ClientId", "")


def enable(tracer_provider: Any, meter_provider: Any) -> None:
    """Trace with these providers (tests: in-memory exporters); also instruments httpx. The
    provider gets the scrubbing processor, as configure_azure_monitor's does."""
    with _State.lock:
        _State.configured = True
        tracer_provider.add_span_processor(scrubbing_processor())
        if not _State.httpx_instrumented:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().instrument(tracer_provider=tracer_provider)
            _State.httpx_instrumented = True
        _use(tracer_provider, meter_provider)


def disable() -> None:
    """Stop tracing (tests): listeners off, httpx uninstrumented, counters dropped."""
    with _State.lock:
        for engine in list(_State.engines):
            _detach(engine)
        if _State.httpx_instrumented:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().uninstrument()
            _State.httpx_instrumented = False
        _State.tracer = _State.meter = None
        _State.counters = {}
        _State.configured = False


def _use(tracer_provider: Any, meter_provider: Any) -> None:
    _State.tracer = tracer_provider.get_tracer("payments-app")
    _State.meter = meter_provider.get_meter("payments-app")
    _State.counters = {
        name: _State.meter.create_counter(name, unit=unit, description=text) for name, (unit, text) in COUNTERS.items()
    }
    for engine in list(_State.engines):
        _attach(engine)


# -- invocations ----------------------------------------------------------------------------------


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent, None if it is not a valid one."""
    match = _TRACEPARENT.fullmatch((traceparent or "").strip().lower())
    if not match or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return match.group(1)


def _host_trace_context(context: Any) -> tuple[str | None, str | None]:
    trace_context = getattr(context, "trace_context", None)
    if trace_context is None:
        return None, None
    return getattr(trace_context, "trace_parent", None), getattr(trace_context, "trace_state", None)


@contextmanager
def invocation(
    function: str, trigger: str, context: Any = None, *, traceparent: str | None = None,
    tracestate: str | None = None, attributes: Mapping[str, Any] | None = None,
) -> Iterator[Invocation]:  # fmt: skip
    """One invocation: its span (when tracing) under the host's trace context, else the caller's
    `traceparent` (a function called without the host); a new trace when there is neither."""
    host_parent, host_state = _host_trace_context(context)
    parent = host_parent if trace_id_of(host_parent) else traceparent
    state = host_state if trace_id_of(host_parent) else tracestate
    invocation_id = getattr(context, "invocation_id", None) or secrets.token_hex(16)
    current_invocation = Invocation(
        invocation_id=invocation_id, function=function, trace_id=trace_id_of(parent) or secrets.token_hex(16),
        thread_local=getattr(context, "thread_local_storage", None),
    )  # fmt: skip
    tracer = _State.tracer
    if tracer is None:
        token = _current.set(current_invocation)
        try:
            yield current_invocation
        finally:
            _current.reset(token)
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    carrier = {"traceparent": parent or ""}
    if state:
        carrier["tracestate"] = state
    # under a host the host's span is the request; called without one, this span is
    kind = trace.SpanKind.INTERNAL if trace_id_of(host_parent) or trigger != "http" else trace.SpanKind.SERVER
    span_attributes = {"faas.invocation_id": invocation_id, "faas.trigger": trigger, "faas.name": function}
    span_attributes.update({k: v for k, v in (attributes or {}).items() if v is not None})
    with tracer.start_as_current_span(
        function, context=extract(carrier) if trace_id_of(parent) else None, kind=kind,
        attributes=span_attributes, record_exception=True,
    ) as span:  # fmt: skip
        current_invocation.span = span
        current_invocation.trace_id = format(span.get_span_context().trace_id, "032x")
        current_invocation.otel_context = otel_context.get_current()
        token = _current.set(current_invocation)
        try:
            yield current_invocation
        finally:
            _current.reset(token)


def start_host_request(
    function: str, trigger: str, traceparent: str | None, tracestate: str | None, attributes: Mapping[str, Any],
) -> tuple[Any, str, str]:  # fmt: skip
    """What the Functions host does for each invocation, for the local host: a request span (the
    Request in Application Insights) joining the caller's trace, and the traceparent it hands the
    worker. Without tracing, only the traceparent. The caller ends the span."""
    caller = trace_id_of(traceparent)
    state = (tracestate or "") if caller else ""
    tracer = _State.tracer
    if tracer is None:
        return None, f"00-{caller or secrets.token_hex(16)}-{secrets.token_hex(8)}-01", state
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    carrier = {"traceparent": traceparent or "", **({"tracestate": state} if state else {})}
    request = tracer.start_span(
        function, context=extract(carrier) if caller else None, kind=trace.SpanKind.SERVER,
        attributes={"faas.trigger": trigger, "faas.name": function,
                    **{k: v for k, v in attributes.items() if v is not None}},
    )  # fmt: skip
    context = request.get_span_context()
    return request, f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}", state


@contextmanager
def within(origin: Invocation | None) -> Iterator[None]:
    """Run in another thread as part of `origin`: its log lines carry the invocation id (the
    worker reads thread_local_storage) and the trace context (spans and exported logs)."""
    if origin is None:
        yield
        return
    local = origin.thread_local
    before = getattr(local, "invocation_id", None) if local is not None else None
    if local is not None:
        local.invocation_id = origin.invocation_id
    token = None
    if origin.otel_context is not None:
        from opentelemetry import context as otel_context

        token = otel_context.attach(origin.otel_context)
    try:
        yield
    finally:
        if token is not None:
            from opentelemetry import context as otel_context

            otel_context.detach(token)
        if local is not None:
            local.invocation_id = before


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    links: list[Invocation] | None = None,
) -> Iterator[Any]:
    """A CLIENT span for a call to a dependency (file store, Table Storage); None when off."""
    tracer = _State.tracer
    if tracer is None:
        yield None
        return
    from opentelemetry import trace

    span_links = [trace.Link(i.span.get_span_context()) for i in links or [] if i.span is not None]
    with tracer.start_as_current_span(
        name, kind=trace.SpanKind.CLIENT, attributes={k: v for k, v in (attributes or {}).items() if v is not None},
        links=span_links, record_exception=True,
    ) as opened:  # fmt: skip
        yield opened


def count(name: str, value: int = 1, **attributes: str) -> None:
    """Add to a business counter (COUNTERS); nothing when telemetry is off."""
    counter = _State.counters.get(name)
    if counter is not None and value:
        counter.add(value, attributes)


# -- SQL ------------------------------------------------------------------------------------------


def watch_engine(engine: Any) -> Any:
    """Trace this engine's statements whenever tracing is on (now or later)."""
    _State.engines.add(engine)
    if enabled():
        _attach(engine)
    return engine


def _attach(engine: Any) -> None:
    from sqlalchemy import event

    if not event.contains(engine, "before_cursor_execute", _before_execute):
        event.listen(engine, "before_cursor_execute", _before_execute)
        event.listen(engine, "after_cursor_execute", _after_execute)
        event.listen(engine, "handle_error", _on_error)


def _detach(engine: Any) -> None:
    from sqlalchemy import event

    if event.contains(engine, "before_cursor_execute", _before_execute):
        event.remove(engine, "before_cursor_execute", _before_execute)
        event.remove(engine, "after_cursor_execute", _after_execute)
        event.remove(engine, "handle_error", _on_error)


def _before_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    tracer = _State.tracer
    if tracer is None or context is None:
        return
    from opentelemetry import trace

    url = conn.engine.url
    operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
    system = {"postgresql": "postgresql", "mssql": "mssql", "sqlite": "sqlite"}.get(url.get_backend_name(), "other_sql")
    context._app_span = tracer.start_span(
        f"{operation} {url.database or system}" if system != "sqlite" else f"{operation} sqlite",
        kind=trace.SpanKind.CLIENT,
        attributes={
            "db.system": system, "db.name": (url.database or "")[-128:] if system != "sqlite" else "sqlite",
            "db.operation": operation, "db.statement": statement[:MAX_STATEMENT], "db.executemany": executemany,
            **({"server.address": url.host} if url.host else {}),
        },
    )  # fmt: skip


def _after_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    opened = getattr(context, "_app_span", None)
    if opened is not None:
        if cursor is not None and getattr(cursor, "rowcount", -1) >= 0:
            opened.set_attribute("db.rowcount", cursor.rowcount)
        opened.end()
        context._app_span = None


def _on_error(exception_context: Any) -> None:
    opened = getattr(exception_context.execution_context, "_app_span", None)
    if opened is not None:
        from opentelemetry.trace import Status, StatusCode

        error = exception_context.original_exception
        opened.set_status(Status(StatusCode.ERROR, type(error).__name__))  # no message: it may quote values
        opened.set_attribute("error.type", type(error).__name__)
        opened.end()
        exception_context.execution_context._app_span = None


# -- what no attribute may carry ------------------------------------------------------------------


def safe_url(url: str) -> str:
    """A URL fit for telemetry: no user info, query or fragment; id-like path segments starred."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "invalid-url"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, safe_path(parts.path), "", ""))


def safe_path(path: str) -> str:
    """A URL path with every segment that may be an id, a document number or a token starred."""
    return "/".join("*" if _ID_LIKE.fullmatch(segment) else segment for segment in path.split("/"))


def scrubbing_processor() -> Any:
    """A span processor that rewrites URL attributes at span start with `safe_url` (the httpx
    and Azure SDK instrumentations record the full URL, query and id-like path segments included)."""
    from opentelemetry.sdk.trace import SpanProcessor

    class ScrubbingProcessor(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            attributes = span.attributes or {}
            for key in URL_ATTRIBUTES:
                value = attributes.get(key)
                if not isinstance(value, str):
                    continue
                if key == "url.query":
                    span.set_attribute(key, "")
                elif key in ("http.target", "url.path"):
                    span.set_attribute(key, safe_path(value.split("?", 1)[0]))
                else:
                    span.set_attribute(key, safe_url(value))

    return ScrubbingProcessor()
