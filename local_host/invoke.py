"""Calling a registered function the way the Functions host does, with its log lines."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

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


@dataclass
class InvocationContext:
    """The subset of `azure.functions.Context` that functions read."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


def _arguments(function: Any, trigger_arg: str, trigger_value: Any, name: str, invocation_id: str) -> dict[str, Any]:
    user = function.get_user_function()
    arguments: dict[str, Any] = {}
    for param in inspect.signature(user).parameters:
        if param == trigger_arg:
            arguments[param] = trigger_value
        elif param == "context":
            arguments[param] = InvocationContext(invocation_id, name, os.getcwd())
    return arguments


async def invoke(function: Any, trigger_value: Any, reason: str) -> Any:
    """Run the user function (in a thread when it is synchronous) and log like the host."""
    name = function.get_function_name()
    invocation_id = str(uuid.uuid4())
    trigger_arg = function.get_trigger().name
    user = function.get_user_function()
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)
    started = time.perf_counter()
    try:
        arguments = _arguments(function, trigger_arg, trigger_value, name, invocation_id)
        if inspect.iscoroutinefunction(user):
            result = await user(**arguments)
        else:
            result = await asyncio.get_running_loop().run_in_executor(executor(), partial(user, **arguments))
    except BaseException:
        duration = (time.perf_counter() - started) * 1000
        log.exception("Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)", name, invocation_id, duration)
        raise
    duration = (time.perf_counter() - started) * 1000
    log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", name, invocation_id, duration)
    return result
