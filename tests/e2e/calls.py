"""Calling the registered functions in-process, as the Functions host would."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

import function_app
from local_host.registry import functions_of


def function(name: str) -> Any:
    for candidate in functions_of(function_app.app):
        if candidate.get_function_name() == name:
            return candidate
    raise KeyError(name)


def call(
    name: str,
    method: str = "GET",
    *,
    headers: dict[str, str] | None = None,
    body: bytes | dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
) -> func.HttpResponse:
    target = function(name)
    raw = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    route = target.get_trigger().route
    request = func.HttpRequest(
        method=method,
        url=f"http://localhost/api/{route}",
        headers=headers or {},
        params=params or {},
        route_params=route_params or {},
        body=raw,
    )
    return target.get_user_function()(request)


def json_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def deliver(function_name: str, queue: str, context: Any = None) -> int:
    """Every message waiting on `queue`, given to the function in-process as the host would
    (Base64 decoded, with its dequeue count), then deleted; how many."""
    import base64

    from azure.functions.queue import QueueMessage

    import bootstrap

    client = bootstrap.work_queues().client(queue)
    done = 0
    while batch := list(client.receive_messages(max_messages=32, visibility_timeout=60)):
        for message in batch:
            arrived = QueueMessage(id=message.id, body=base64.b64decode(message.content),
                                   dequeue_count=message.dequeue_count, pop_receipt=message.pop_receipt)  # fmt: skip
            user = function(function_name).get_user_function()
            user(arrived, context) if context is not None else user(arrived)
            client.delete_message(message)
            done += 1
    return done


def load_pending(context: Any = None) -> int:
    """The debt_loader timer (it queues every company with pending files), then each message
    given to debt_files: what the host does between two ticks; how many companies ran."""
    from azure.functions.timer import TimerRequest

    from settings import get_settings

    function("debt_loader").get_user_function()(TimerRequest())
    return deliver("debt_files", get_settings().debt_queue, context)


def file_payments(context: Any = None) -> int:
    """The payment_file_generator timer (it queues every company with records in no file), then
    each message given to payment_files; how many companies ran."""
    from azure.functions.timer import TimerRequest

    from settings import get_settings

    function("payment_file_generator").get_user_function()(TimerRequest())
    return deliver("payment_files", get_settings().payment_queue, context)
