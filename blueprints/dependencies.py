"""Each dependency checked with its latency, for /api/health (Azure's health check) and the
console: SQL, the log tables, the exchange, the work queues, Mambu and SMS. The checks run
side by side, each bounded by a timeout; one result per process is reused for a few seconds,
so a health probe every few seconds does not become load on the dependencies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import sqlalchemy as sa

import bootstrap
from settings import get_settings

TIMEOUT = 3.0  # seconds for all the checks together
REUSE = 5.0  # seconds a result is served again
_pool = ThreadPoolExecutor(6, thread_name_prefix="health")
_cache: dict[str, Any] = {}
_lock = threading.Lock()


def _database() -> str:
    with bootstrap.engine().connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return bootstrap.engine().dialect.name


def _logs() -> str:
    sink = bootstrap.log_sink()
    ping = getattr(sink, "ping", None)
    return ping() if ping is not None else "standard logger (no table storage)"


def _exchange() -> str:
    from adapters.files.port import TEMP_FOLDER

    store = bootstrap.file_store()
    store.list(TEMP_FOLDER)  # a folder of the root the app owns: [] when missing, an error when unreachable
    return store.url.split("://", 1)[0]


def _queues() -> str:
    queue = get_settings().debt_queue
    bootstrap.work_queues().client(queue).get_queue_properties()
    return queue


def _mambu() -> str:
    return bootstrap.credit_engine().ping()


def _sms() -> str:
    sender = bootstrap.sms_sender()
    path = getattr(sender, "path", None)
    if path is not None:  # the development outbox: its folder must take the file
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        return "outbox"
    return "azure communication services (configured; a message is its only call)"


CHECKS: dict[str, Callable[[], str]] = {"database": _database, "logs": _logs, "exchange": _exchange,
                                        "queues": _queues, "mambu": _mambu, "sms": _sms}  # fmt: skip


def _timed(check: Callable[[], str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        status: dict[str, Any] = {"status": "ok", "detail": detail}
    except Exception as exc:  # noqa: BLE001 - every failure is an answer here
        status = {"status": "down", "error": type(exc).__name__}  # the type only: messages may quote settings
    status["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return status


def check_all() -> dict[str, dict[str, Any]]:
    """{name: {"status": ok | down | timeout, "ms", "detail" | "error"}}, reused for REUSE seconds."""
    with _lock:
        if _cache and time.monotonic() - _cache["at"] < REUSE:
            return _cache["result"]
    futures = {name: _pool.submit(_timed, check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=TIMEOUT)
    result = {name: future.result() if future.done() else {"status": "timeout", "ms": TIMEOUT * 1000}
              for name, future in futures.items()}  # fmt: skip
    with _lock:
        _cache.update(at=time.monotonic(), result=result)
    return result


def forget() -> None:
    """Tests: the next call checks again."""
    with _lock:
        _cache.clear()
