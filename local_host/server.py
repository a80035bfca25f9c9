"""`manage.py serve`: uvicorn worker processes for HTTP, the timer scheduler in the parent."""

from __future__ import annotations

import importlib
import logging
import os
import socket
from pathlib import Path

import uvicorn
from uvicorn.supervisors import Multiprocess

from local_host.asgi import APP_MODULE_VARIABLE
from local_host.invoke import THREADS_VARIABLE
from local_host.queues import queue_listeners
from local_host.registry import functions_of
from local_host.singleton import TickClaims
from local_host.timers import TimerScheduler, host_zone, timer_jobs

log = logging.getLogger("local_host")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class NoQueryString(logging.Filter):
    """uvicorn's access line without the query string: `?client_secret=...` must never be logged
    (the host's own request log keeps the path only, too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


# Applied in every worker process too (uvicorn spawns them), so function logs show up.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": LOG_FORMAT}},
    "filters": {"no_query": {"()": "local_host.server.NoQueryString"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr",
                   "filters": ["no_query"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "uvicorn": {"level": "INFO"},
        "uvicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        "azure": {"level": "WARNING"},
        "paramiko": {"level": "WARNING"},
    },
}


def serve(
    host: str, port: int, workers: int, timers: bool, module: str = "function_app", threads: int = 2,
    *, queues: bool = True,
) -> None:  # fmt: skip
    os.environ[APP_MODULE_VARIABLE] = module  # read by the worker processes' app factory
    os.environ[THREADS_VARIABLE] = str(threads)  # and the size of their function thread pool
    app = importlib.import_module(module).app
    functions = functions_of(app)
    log.info("Functions in %s:", module)
    for function in functions:
        trigger = function.get_trigger()
        detail = (getattr(trigger, "route", None) or getattr(trigger, "schedule", "")
                  or getattr(trigger, "queue_name", ""))  # fmt: skip
        log.info("  %s: %s %s", function.get_function_name(), trigger.get_binding_name(), detail)
    scheduler = None
    if timers:
        jobs = timer_jobs(app)  # a bad schedule fails here, before the port is bound
        if jobs:
            scheduler = TimerScheduler(jobs, host_zone(os.environ), TickClaims())
            scheduler.start()
    listeners = queue_listeners(app, Path.cwd()) if queues else []
    for listener in listeners:
        listener.start()
    config = uvicorn.Config(
        "local_host.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=LOG_CONFIG,
        access_log=True,
        timeout_graceful_shutdown=10,
    )
    try:
        if workers > 1:
            sock = config.bind_socket()
            # Worker processes get the listening socket by pickling, which loses its protocol,
            # so asyncio no longer sets TCP_NODELAY on accepted connections: a response written
            # in two parts then waits 40 ms for a delayed ACK. Accepted sockets inherit it from here.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run()
    finally:
        if scheduler is not None:
            scheduler.stop()
        for listener in listeners:
            listener.stop()
        import bootstrap

        bootstrap.flush_logs()  # what timers and queue messages of this process logged last
