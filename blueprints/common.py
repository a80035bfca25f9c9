"""What every entry point shares: auth guard, JSON in and out, ApiLogs and ProcessLogs.

`@endpoint(scope)` wraps an HTTP handler `(req, call) -> HttpResponse`. `scope` is a
Scope, ANY_SCOPE (any valid token) or None (public). It checks the
Bearer token before the handler runs (401/403 never reach a use case), turns ApiError
and unexpected exceptions into JSON answers (no stack trace leaves the process), tags
the answer with a correlation id and writes one masked ApiLogs entity per call.
`@timer_process(name)` does the same for a timer run with ProcessLogs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
import simplejson

import bootstrap
from adapters import telemetry
from adapters.table_log import API_LOGS, PROCESS_LOGS, make_entity
from domain.auth import Principal, Scope
from domain.json_body import BodyError, FieldProblem, parse_object
from domain.masking import answer_for_log, query_for_log, request_for_log, summary
from settings import SettingsError
from usecases.clients import AuthFailure, authorize

log = logging.getLogger("app")
CORRELATION_HEADER = "X-Correlation-Id"


class ApiError(Exception):
    """An answer other than success, raised anywhere in a handler."""

    def __init__(
        self, status: int, code: str, message: str, *, problem: str | None = None,
        headers: dict[str, str] | None = None, **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.problem = problem  # for invalid_field: domain/json_body.FieldProblem.kind
        self.headers = headers or {}  # e.g. Retry-After with a 429
        self.extra = extra


@dataclass
class Call:
    """What a handler knows about its call besides the request."""

    function: str
    correlation_id: str
    started: datetime
    principal: Principal | None = None
    trace_id: str = ""  # the invocation's trace (Application Insights' operation id; ApiLogs' CorrelationId)
    log_fields: dict[str, Any] = field(default_factory=dict)


ErrorBody = Callable[[ApiError, Call], dict[str, Any]]
ANY_SCOPE = "any"
# function name -> the scope its token needs ("any" for any valid token); tests walk it.
PROTECTED: dict[str, str] = {}


def default_error_body(error: ApiError, call: Call) -> dict[str, Any]:
    return {"error": error.code, "message": error.message, "correlationId": call.correlation_id, **error.extra}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False, default=_json_default),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def exact_json_response(body: Any, status: int = 200) -> func.HttpResponse:
    """JSON with Decimal amounts written as exact numbers (never through float): the
    collections and lending answers, whose specs show amounts as numbers."""
    return func.HttpResponse(
        simplejson.dumps(body, use_decimal=True, ensure_ascii=False),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
    )


MAX_JSON_BYTES = 64 * 1024  # far above any request of these APIs (a pago is ~400 bytes)
MAX_BODY_BYTES = 16 * 1024  # a route's default body limit (endpoint(max_body=...)); 413 above it


def read_json(req: func.HttpRequest, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The body as a JSON object within domain/json_body's bounds, or ApiError 400: code
    `invalid_request` for the body as a whole, `invalid_field` (with `field`) for one value."""
    try:
        return parse_object(req.get_body(), max_bytes)
    except BodyError as exc:
        raise ApiError(400, "invalid_request", exc.reason) from None
    except FieldProblem as exc:
        raise ApiError(400, "invalid_field", f"{exc.path}: {exc.reason}", problem=exc.kind, field=exc.path) from None


def endpoint(
    scope: Scope | str | None = None,
    *,
    error_body: ErrorBody = default_error_body,
    log_call: bool = True,
    max_body: int = MAX_BODY_BYTES,
    log_fields: frozenset[str] | Callable[[], frozenset[str]] = frozenset(),
    log_query: frozenset[str] = frozenset(),
) -> Callable[[Callable[[func.HttpRequest, Call], func.HttpResponse]], Callable[[func.HttpRequest], func.HttpResponse]]:
    """`max_body`: a larger body is 413 before anything else (auth included) looks at it.
    `log_fields` / `log_query`: what ApiLogs may keep of the request (domain/masking.py);
    `log_fields` may be a function, called at the first call (a model's JSON schema is not
    worked out while a cold worker imports the app)."""
    assert max_body <= MAX_JSON_BYTES

    known: list[frozenset[str]] = []

    def allowed() -> frozenset[str]:
        if not known:
            known.append(log_fields() if callable(log_fields) else log_fields)
        return known[0]

    def decorate(
        handler: Callable[[func.HttpRequest, Call], func.HttpResponse],
    ) -> Callable[[func.HttpRequest], func.HttpResponse]:
        if scope is not None:
            PROTECTED[handler.__name__] = str(scope)

        def function(req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
            telemetry.ensure_configured()
            with telemetry.invocation(
                handler.__name__, "http", context, traceparent=req.headers.get("traceparent"),
                tracestate=req.headers.get("tracestate"),
                attributes={"http.request.method": req.method, "url.path": telemetry.safe_path(urlsplit(req.url).path)},
            ) as invocation:  # fmt: skip
                return _serve(req, invocation)

        def _serve(req: func.HttpRequest, invocation: telemetry.Invocation) -> func.HttpResponse:
            started = time.perf_counter()
            call = Call(
                function=handler.__name__,
                correlation_id=_correlation_id(req) or invocation.trace_id,
                started=bootstrap.utc_now(),
                trace_id=invocation.trace_id,
            )
            size = len(req.get_body() or b"")
            if size > max_body:
                too_big = f"request body has {size} bytes; this route takes at most {max_body}"
                error = ApiError(413, "payload_too_large", too_big)
                response = json_response(error_body(error, call), 413)
            else:
                response = _answer(handler, req, call, scope, error_body)
            response.headers[CORRELATION_HEADER] = call.correlation_id
            invocation.set(**{
                "http.response.status_code": response.status_code,
                "enduser.id": call.principal.client_id if call.principal else None,
            })  # fmt: skip
            if log_call:
                _log_api_call(req, response, call, (time.perf_counter() - started) * 1000, allowed(), log_query,
                              size <= max_body)  # fmt: skip
            return response

        # The Functions worker reads the name, the signature and the resolved annotations.
        function.__annotations__ = {"req": func.HttpRequest, "context": func.Context, "return": func.HttpResponse}
        function.__name__ = handler.__name__
        function.__qualname__ = handler.__qualname__
        function.__doc__ = handler.__doc__
        return function

    return decorate


def _answer(
    handler: Callable[[func.HttpRequest, Call], func.HttpResponse],
    req: func.HttpRequest,
    call: Call,
    scope: Scope | str | None,
    error_body: ErrorBody,
) -> func.HttpResponse:
    try:
        if scope is not None:
            needed = None if scope == ANY_SCOPE else Scope(scope)
            call.principal = authorize(
                bootstrap.unit_of_work, bootstrap.token_service(), req.headers.get("Authorization"), needed
            )
        return handler(req, call)
    except AuthFailure as exc:
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
        error = ApiError(exc.status, exc.code, exc.message)
        return json_response(error_body(error, call), exc.status, headers)
    except ApiError as exc:
        return json_response(error_body(exc, call), exc.status, exc.headers)
    except SettingsError as exc:
        log.error("configuration error in %s: %s", call.function, exc)
        error = ApiError(500, "configuration_error", "the service is misconfigured; see the logs")
        return json_response(error_body(error, call), 500)
    except Exception:
        log.exception("unhandled error in %s (correlation id %s)", call.function, call.correlation_id)
        error = ApiError(500, "internal_error", "internal error; quote the correlation id to support")
        return json_response(error_body(error, call), 500)


def source_address(req: func.HttpRequest) -> str:
    """The caller's address as the front end saw it: the last X-Forwarded-For entry (the one the
    platform's proxy added; earlier ones are the caller's to invent), without its port."""
    forwarded = (req.headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
    if forwarded.startswith("[") and "]" in forwarded:
        return forwarded[1 : forwarded.index("]")]
    if forwarded.count(":") == 1:
        forwarded = forwarded.split(":")[0]
    return forwarded[:64] or "unknown"


def _correlation_id(req: func.HttpRequest) -> str | None:
    """The caller's X-Correlation-Id when it is a plausible one (echoed back; ApiLogs keeps it as
    CallerCorrelationId); without one the answer carries the trace id."""
    given = req.headers.get(CORRELATION_HEADER) or ""
    if 8 <= len(given) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in given):
        return given
    return None


def _log_api_call(
    req: func.HttpRequest, response: func.HttpResponse, call: Call, duration_ms: float, fields: frozenset[str],
    query: frozenset[str], within_limit: bool,
) -> None:  # fmt: skip
    try:
        url = urlsplit(req.url)
        raw = req.get_body() or b""
        entity = make_entity(
            call.function,
            call.started,
            {
                "Function": call.function,
                "Method": req.method,
                "Route": url.path,
                "Query": query_for_log(url.query, query) if url.query else None,
                "Status": response.status_code,
                "DurationMs": round(duration_ms, 1),
                "ClientId": call.principal.client_id if call.principal else None,
                "CorrelationId": call.trace_id or call.correlation_id,
                "CallerCorrelationId": call.correlation_id if call.correlation_id != call.trace_id else None,
                "Request": request_for_log(raw, fields) if within_limit else summary(raw),
                "Response": answer_for_log(response.get_body()),
                **call.log_fields,
            },
        )
        bootstrap.log_sink().write(API_LOGS, entity)
    except Exception:
        log.exception("could not log the call to %s", call.function)


def log_process(process: str, started: datetime, duration_ms: float, **fields: Any) -> None:
    """One ProcessLogs entity (a timer run, or one file of a run), with the trace id of the
    invocation it belongs to (none for a command run by an operator)."""
    invocation = telemetry.current()
    try:
        entity = make_entity(process, started, {
            "Process": process, "DurationMs": round(duration_ms, 1),
            "CorrelationId": invocation.trace_id if invocation else None, **fields,
        })  # fmt: skip
        bootstrap.log_sink().write(PROCESS_LOGS, entity)
    except Exception:
        log.exception("could not log the run of %s", process)


def _logged(process: str, run: Callable[[Any], dict[str, Any] | None], trigger: Any, **fields: Any) -> None:
    """Run a background function with one ProcessLogs entity for it: its outcome, duration,
    the trigger's `fields` and the counts it returns. An exception is logged and re-raised, so the
    host records the run as failed too (and retries a queue message)."""
    started, t0 = bootstrap.utc_now(), time.perf_counter()
    try:
        counts = run(trigger) or {}
    except Exception as exc:
        log_process(process, started, (time.perf_counter() - t0) * 1000, Outcome="failed",
                    Error=f"{type(exc).__name__}: {exc}"[:2000], **fields)  # fmt: skip
        raise
    log_process(process, started, (time.perf_counter() - t0) * 1000, Outcome="succeeded", **fields, **counts)


def _as_function(wrapper: Callable[..., None], run: Callable[..., Any], arg: str, kind: type) -> Callable[..., None]:
    # The Functions worker reads the name, the signature and the resolved annotations.
    wrapper.__annotations__ = {arg: kind, "context": func.Context, "return": None}
    wrapper.__name__ = run.__name__
    wrapper.__qualname__ = run.__qualname__
    wrapper.__doc__ = run.__doc__
    return wrapper


def timer_process(
    process: str,
) -> Callable[[Callable[[func.TimerRequest], dict[str, Any] | None]], Callable[[func.TimerRequest], None]]:
    """Wrap a timer function: one ProcessLogs entity per run with its outcome and duration.

    The wrapped function may return a dict of counts to add to the entity. An exception is
    logged and re-raised, so the host records the run as failed too.
    """

    def decorate(run: Callable[[func.TimerRequest], dict[str, Any] | None]) -> Callable[[func.TimerRequest], None]:
        def function(timer: func.TimerRequest, context: func.Context | None = None) -> None:
            telemetry.ensure_configured()
            with telemetry.invocation(run.__name__, "timer", context) as invocation:
                invocation.set(**{"app.past_due": bool(timer.past_due)})
                _logged(process, run, timer, PastDue=timer.past_due)

        return _as_function(function, run, "timer", func.TimerRequest)

    return decorate


def queue_process(
    process: str,
) -> Callable[[Callable[[func.QueueMessage], dict[str, Any] | None]], Callable[[func.QueueMessage], None]]:
    """Wrap a queue-triggered function (its argument is named `msg`): one ProcessLogs entity per
    message with its id and dequeue count. An exception is re-raised: the host makes the message
    visible again after `visibilityTimeout` and, at `maxDequeueCount`, moves it to `<queue>-poison`."""

    def decorate(run: Callable[[func.QueueMessage], dict[str, Any] | None]) -> Callable[[func.QueueMessage], None]:
        def function(msg: func.QueueMessage, context: func.Context | None = None) -> None:
            telemetry.ensure_configured()
            count = getattr(msg, "dequeue_count", None)
            with telemetry.invocation(run.__name__, "queue", context) as invocation:
                invocation.set(**{"messaging.message.id": msg.id, "app.dequeue_count": count})
                _logged(process, run, msg, MessageId=msg.id, DequeueCount=count)

        return _as_function(function, run, "msg", func.QueueMessage)

    return decorate


def event_process(
    process: str,
) -> Callable[[Callable[[func.EventGridEvent], dict[str, Any] | None]], Callable[[func.EventGridEvent], None]]:
    """Wrap an Event Grid-triggered function (its argument is named `event`): one ProcessLogs
    entity per event. An exception is re-raised: the host answers Event Grid with an error and
    Event Grid delivers the event again, with back-off, for up to a day."""

    def decorate(run: Callable[[func.EventGridEvent], dict[str, Any] | None]) -> Callable[[func.EventGridEvent], None]:
        def function(event: func.EventGridEvent, context: func.Context | None = None) -> None:
            telemetry.ensure_configured()
            with telemetry.invocation(run.__name__, "event", context) as invocation:
                invocation.set(**{"cloudevents.event_id": event.id, "cloudevents.event_type": event.event_type})
                _logged(process, run, event, EventId=event.id, EventType=event.event_type)

        return _as_function(function, run, "event", func.EventGridEvent)

    return decorate
