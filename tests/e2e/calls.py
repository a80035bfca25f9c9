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
