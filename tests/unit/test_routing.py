from __future__ import annotations

import pytest

from local_host.routing import Route, RouteError, RouteTable


@pytest.fixture
def table() -> RouteTable:
    return RouteTable(
        [
            Route("items/{id:int}", frozenset({"GET"}), "item"),
            Route("items/new", frozenset({"GET"}), "new_item"),
            Route("items/{id:int}", frozenset({"DELETE"}), "delete_item"),
            Route("files/{*path}", None, "files"),
            Route("hello/{name?}", None, "hello"),
            Route("orders/{orderId}/lines/{line:int}", frozenset({"GET"}), "line"),
            Route("auth/token", frozenset({"POST"}), "token"),
        ]
    )


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("GET", "/items/5", "item", {"id": "5"}),
        ("DELETE", "/items/5", "delete_item", {"id": "5"}),
        ("GET", "/items/new", "new_item", {}),
        ("GET", "/ITEMS/New", "new_item", {}),
        ("GET", "/files/a/b/c.txt", "files", {"path": "a/b/c.txt"}),
        ("PUT", "/files", "files", {}),
        ("GET", "/hello", "hello", {}),
        ("GET", "/hello/ana", "hello", {"name": "ana"}),
        ("GET", "/orders/A-1/lines/3", "line", {"orderId": "A-1", "line": "3"}),
        ("POST", "/auth/token", "token", {}),
        ("POST", "/auth/token/", "token", {}),  # a trailing slash is optional, as in the host
        ("GET", "/items/5/", "item", {"id": "5"}),
    ],
)
def test_resolves(table: RouteTable, method: str, path: str, name: str, params: dict[str, str]) -> None:
    route, found, allowed = table.resolve(method, path)
    assert route is not None and route.function_name == name
    assert found == params and allowed == []


def test_not_found_and_method_not_allowed(table: RouteTable) -> None:
    assert table.resolve("GET", "/items/abc") == (None, {}, [])
    assert table.resolve("GET", "/nothing") == (None, {}, [])
    route, _, allowed = table.resolve("GET", "/auth/token")
    assert route is None and allowed == ["POST"]
    route, _, allowed = table.resolve("PUT", "/items/5")
    assert route is None and allowed == ["DELETE", "GET"]


def test_bad_templates() -> None:
    with pytest.raises(RouteError):
        Route("files/{*path}/more", None, "x")
    with pytest.raises(RouteError):
        Route("a/{b?}/c", None, "x")
