"""Function route templates (`items/{id:int}`, `files/{*path}`, `x/{name?}`) to matchers.

Follows the Functions host's (ASP.NET) rules that matter here: literal segments match
case-insensitively, `{name}` takes one segment, `{*name}` the rest, `?` makes a
trailing parameter optional, `:int`/`:long`/`:alpha`/`:bool`/`:guid`/`:float`/`:double`/
`:decimal` constrain it. Routes with more literal segments win.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?(?:=([^}]*))?\}")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "float": r"-?\d+(?:\.\d+)?",
    "double": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
}


class RouteError(ValueError):
    pass


@dataclass
class Route:
    template: str
    methods: frozenset[str] | None
    function_name: str
    target: Any = None
    pattern: re.Pattern[str] = field(init=False)
    defaults: dict[str, str] = field(init=False)
    precedence: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.pattern, self.defaults, self.precedence = compile_template(self.template)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        return {**self.defaults, **values}

    def allows(self, method: str) -> bool:
        return self.methods is None or method.upper() in self.methods


def compile_template(template: str) -> tuple[re.Pattern[str], dict[str, str], tuple[int, int]]:
    segments = [s for s in template.strip("/").split("/") if s]
    regex, defaults, literals, params = "", {}, 0, 0
    for index, segment in enumerate(segments):
        whole = _PARAM.fullmatch(segment)
        if whole and whole.group(1):  # catch-all
            if index != len(segments) - 1:
                raise RouteError(f"route {template!r}: a catch-all parameter must be last")
            regex += f"(?:/(?P<{whole.group(2)}>.*))?"
            params += 1
            continue
        if whole and whole.group(4):  # optional
            if index != len(segments) - 1:
                raise RouteError(f"route {template!r}: only the last parameter may be optional")
            regex += f"(?:/(?P<{whole.group(2)}>{_constraint(whole.group(3))}))?"
            params += 1
            continue
        if whole and whole.group(5) is not None:
            defaults[whole.group(2)] = whole.group(5)
            regex += f"(?:/(?P<{whole.group(2)}>{_constraint(whole.group(3))}))?"
            params += 1
            continue
        part, position = "", 0
        for param in _PARAM.finditer(segment):
            if param.group(1) or param.group(4):
                raise RouteError(f"route {template!r}: catch-all and optional parameters must be whole segments")
            part += _literal(segment[position : param.start()]) + f"(?P<{param.group(2)}>{_constraint(param.group(3))})"
            params += 1
            position = param.end()
        tail = segment[position:]
        if position == 0:
            literals += 1
        part += _literal(tail)
        regex += "/" + part
    return re.compile(regex or "/?"), defaults, (literals, -params)


def _literal(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def _constraint(name: str | None) -> str:
    if name is None:
        return r"[^/]+"
    return _CONSTRAINTS.get(name.lower(), r"[^/]+")


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: r.precedence, reverse=True)

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, params, allowed methods): no route and allowed methods means 405, neither 404.
        A trailing slash is optional, as in the host's (ASP.NET Core) routing."""
        found = self._resolve(method, path)
        if found[0] is None and not found[2] and len(path) > 1 and path.endswith("/"):
            return self._resolve(method, path[:-1])
        return found

    def _resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        allowed: list[str] = []
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if route.allows(method):
                return route, params, []
            allowed.extend(sorted(route.methods or ()))
        return None, {}, sorted(set(allowed))
