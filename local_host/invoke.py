"""Calling a registered function the way the Functions host does, with its log lines."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from adapters.telemetry import ensure_configured, safe_path, start_host_request

log = logging.getLogger("local_host")
THREADS_VARIABLE = "LOCAL_HOST_THREADS"
_executor: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
    """Synchronous functions run on this pool, like the Python worker's thread pool
    (PYTHON_THREADPOOL_THREAD_COUNT); its size comes from `serve --threads`."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(int(os.environ.get(THREADS_VARIABLE, "2")), thread_name_prefix="function")
    return _executor


_WORKER_LOCAL = threading.local()  # the worker's thread-local storage: log lines find their invocation


@dataclass(frozen=True)
class TraceContext:
    """What the host hands the worker: the traceparent of its own activity for the invocation."""

    trace_parent: str
    trace_state: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


def host_trace_context(trigger_value: Any) -> TraceContext:
    """As the host does: its activity joins the caller's trace when the HTTP request carries a
    valid `traceparent` (a new span under it), and starts a new trace otherwise."""
    return _host_request("", trigger_value)[1]


def _host_request(name: str, trigger_value: Any) -> tuple[Any, TraceContext]:
    """The host's request span for an invocation (when tracing; the Request in Application
    Insights, as the real host records it) and the trace context it hands the worker."""
    headers = getattr(trigger_value, "headers", None)
    get = headers.get if hasattr(headers, "get") else (lambda _: None)
    attributes: dict[str, Any] = {}
    if get("traceparent") is not None or hasattr(trigger_value, "method"):
        attributes = {"http.request.method": getattr(trigger_value, "method", None),
                      "url.path": safe_path(urlsplit(getattr(trigger_value, "url", "") or "").path)}  # fmt: skip
    trigger = ("http" if attributes else "queue" if hasattr(trigger_value, "dequeue_count")
               else "event" if hasattr(trigger_value, "event_type") else "timer")  # fmt: skip
    request, parent, state = start_host_request(name, trigger, get("traceparent"), get("tracestate"), attributes)
    return request, TraceContext(parent, state)


@dataclass
class InvocationContext:
    """The subset of `azure.functions.Context` that functions read."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


def _arguments(
    function: Any, trigger_arg: str, trigger_value: Any, name: str, invocation_id: str, trace_context: TraceContext,
) -> dict[str, Any]:  # fmt: skip
    user = function.get_user_function()
    arguments: dict[str, Any] = {}
    for param in inspect.signature(user).parameters:
        if param == trigger_arg:
            arguments[param] = trigger_value
        elif param == "context":
            arguments[param] = InvocationContext(
                invocation_id, name, os.getcwd(), trace_context=trace_context, thread_local_storage=_WORKER_LOCAL,
            )  # fmt: skip
    return arguments


async def invoke(function: Any, trigger_value: Any, reason: str) -> Any:
    """Run the user function (in a thread when it is synchronous) and log like the host."""
    name = function.get_function_name()
    invocation_id = str(uuid.uuid4())
    trigger_arg = function.get_trigger().name
    user = function.get_user_function()
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)
    started = time.perf_counter()
    ensure_configured()
    request, trace_context = _host_request(name, trigger_value)
    try:
        arguments = _arguments(function, trigger_arg, trigger_value, name, invocation_id, trace_context)
        if inspect.iscoroutinefunction(user):
            result = await user(**arguments)
        else:
            result = await asyncio.get_running_loop().run_in_executor(executor(), partial(user, **arguments))
    except BaseException as exc:
        duration = (time.perf_counter() - started) * 1000
        log.exception("Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)", name, invocation_id, duration)
        _end_request(request, invocation_id, None, exc)
        raise
    duration = (time.perf_counter() - started) * 1000
    log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", name, invocation_id, duration)
    _end_request(request, invocation_id, result, None)
    return result


def _end_request(request: Any, invocation_id: str, result: Any, error: BaseException | None) -> None:
    if request is None:
        return
    from opentelemetry.trace import Status, StatusCode

    request.set_attribute("faas.invocation_id", invocation_id)
    status = getattr(result, "status_code", None)
    if status is not None:
        request.set_attribute("http.response.status_code", status)
    if error is not None or (status or 0) >= 500:
        request.set_status(Status(StatusCode.ERROR, type(error).__name__ if error else None))
    request.end()
