"""An ASGI application that serves the function app's HTTP-triggered functions."""

from __future__ import annotations

import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func

from local_host.invoke import invoke
from local_host.registry import functions_of
from local_host.routing import Route, RouteTable

log = logging.getLogger("local_host")
DEFAULT_MAX_BODY = 100 * 1024 * 1024  # the Functions host's default request limit
LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"  # the host's own setting for it, in bytes


def body_limit(env: Any = None) -> int:
    """The request body limit the Functions host applies: FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, or 100 MB."""
    text = (env if env is not None else os.environ).get(LIMIT_SETTING, "")
    return int(text) if text.strip().isdigit() and int(text) > 0 else DEFAULT_MAX_BODY


def _too_large(limit: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return 413, [(b"content-type", b"text/plain")], f"request body too large (limit {limit} bytes)".encode()


def route_prefix(host_json: Path) -> str:
    """`extensions.http.routePrefix` from host.json; `api` when absent, as the host does."""
    try:
        config = json.loads(host_json.read_text())
    except (OSError, ValueError):
        return "api"
    prefix = config.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(prefix).strip("/")


def http_routes(app: func.FunctionApp) -> list[Route]:
    routes = []
    for function in functions_of(app):
        trigger = function.get_trigger()
        if trigger.get_binding_name() != "httpTrigger":
            continue
        methods = frozenset(str(getattr(m, "value", m)).upper() for m in trigger.methods) if trigger.methods else None
        template = trigger.route or function.get_function_name()
        routes.append(Route(template, methods, function.get_function_name(), target=function))
    return routes


EVENT_GRID_PATH = "/runtime/webhooks/eventgrid"  # the host's own endpoint for Event Grid triggers


def event_grid_event(item: dict[str, Any]) -> func.EventGridEvent:
    """One element of an Event Grid schema array, as the worker hands it to the function."""
    from datetime import datetime

    when = item.get("eventTime")
    try:
        event_time = datetime.fromisoformat(str(when).replace("Z", "+00:00")) if when else None
    except ValueError:
        event_time = None
    return func.EventGridEvent(
        id=str(item.get("id", "")), data=item.get("data"), topic=str(item.get("topic", "")),
        subject=str(item.get("subject", "")), event_type=str(item.get("eventType", "")), event_time=event_time,
        data_version=str(item.get("dataVersion", "")),
    )  # fmt: skip


class FunctionsAsgi:
    def __init__(self, app: func.FunctionApp, prefix: str = "api", max_body: int | None = None) -> None:
        self.events = {f.get_function_name(): f for f in functions_of(app)
                       if f.get_trigger().get_binding_name() == "eventGridTrigger"}  # fmt: skip
        self.table = RouteTable(http_routes(app))
        self.prefix = "/" + prefix if prefix else ""
        self.max_body = body_limit() if max_body is None else max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    # uvicorn re-raises SIGTERM after a graceful shutdown, so atexit never runs:
                    # the ApiLogs and ProcessLogs entities still queued are written now
                    import bootstrap

                    bootstrap.flush_logs()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        status, headers, body = await self._handle(scope, receive)
        headers = [h for h in headers if h[0] != b"content-length"] + [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, scope: dict[str, Any], receive: Any) -> bytes | None:
        """The body, or None past the limit: a declared Content-Length is refused before reading,
        a chunked one as soon as it passes the limit; reading is linear (one growing buffer)."""
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.strip().isdigit() or int(value) > self.max_body):
                return None
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body"):
                return bytes(body)

    async def _handle(self, scope: dict[str, Any], receive: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        body = await self._read_body(scope, receive)
        if body is None:
            return _too_large(self.max_body)
        path = scope["path"]
        if path == EVENT_GRID_PATH:
            return await self._event_grid(scope, body)
        if self.prefix and not (path == self.prefix or path.lower().startswith(self.prefix.lower() + "/")):
            return 404, [], b""
        route, params, allowed = self.table.resolve(scope["method"], path[len(self.prefix) :] or "/")
        if route is None:
            if allowed:
                return 405, [(b"allow", ", ".join(allowed).encode())], b""
            return 404, [], b""
        request = self._request(scope, body, params)
        try:
            result = await invoke(route.target, request, "This function was programmatically called via the host APIs.")
        except Exception:  # noqa: BLE001 - the host answers 500 for an unhandled exception
            return 500, [], b""
        return _response(result)

    async def _event_grid(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """As the host: `POST /runtime/webhooks/eventgrid?functionName=NAME` with an Event Grid
        schema array; a SubscriptionValidation event is answered with its code; each other event
        runs the function once; any failure answers 500, so Event Grid delivers the batch again."""
        if scope["method"] != "POST":
            return 405, [(b"allow", b"POST")], b""
        name = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("functionName", "")
        function = self.events.get(name)
        if function is None:
            return 404, [], f"no Event Grid function {name!r}".encode()
        try:
            items = json.loads(body)
        except ValueError:
            return 400, [], b"not JSON"
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return 400, [], b"an Event Grid schema array is expected"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("aeg-event-type") == "SubscriptionValidation":
            code = (items[0].get("data") or {}).get("validationCode", "") if items else ""
            return 200, [(b"content-type", b"application/json")], json.dumps({"validationResponse": code}).encode()
        for item in items:
            try:
                await invoke(function, event_grid_event(item), f"EventGrid trigger fired ({item.get('id')})")
            except Exception:  # noqa: BLE001 - logged by invoke; Event Grid retries the delivery
                return 500, [], b""
        return 202, [], b""

    @staticmethod
    def _request(scope: dict[str, Any], body: bytes, params: dict[str, str]) -> func.HttpRequest:
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        client = scope.get("client")
        if client:  # as the platform's front end does: the caller's address appended, last
            seen, before = f"{client[0]}:{client[1]}", headers.get("x-forwarded-for")
            headers["x-forwarded-for"] = f"{before}, {seen}" if before else seen
        query = scope.get("query_string", b"").decode("latin-1")
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("localhost", 80)))
        url = f"{scope.get('scheme', 'http')}://{host}{scope.get('raw_path', scope['path'].encode()).decode('latin-1')}"
        if query:
            url += "?" + query
        query_params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            query_params.setdefault(key, value)
        return func.HttpRequest(
            method=scope["method"], url=url, headers=headers, params=query_params, route_params=params, body=body
        )


def _response(result: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if result is None:
        return 204, [], b""
    if isinstance(result, func.HttpResponse):
        headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in result.headers.items()]
        if not any(k == b"content-type" for k, _ in headers) and result.mimetype:
            content_type = result.mimetype + (f"; charset={result.charset}" if result.charset else "")
            headers.append((b"content-type", content_type.encode("latin-1")))
        return result.status_code, headers, result.get_body() or b""
    if isinstance(result, bytes | str):
        data = result.encode("utf-8") if isinstance(result, str) else result
        return 200, [(b"content-type", b"text/plain; charset=utf-8")], data
    return 200, [(b"content-type", b"application/json")], json.dumps(result, default=str).encode()


APP_MODULE_VARIABLE = "LOCAL_HOST_APP"


def create_app(module: str | None = None) -> FunctionsAsgi:
    """uvicorn factory: each worker process imports the function app itself."""
    imported = importlib.import_module(module or os.environ.get(APP_MODULE_VARIABLE, "function_app"))
    prefix = route_prefix(Path(imported.__file__ or ".").resolve().parent / "host.json")
    return FunctionsAsgi(imported.app, prefix)
