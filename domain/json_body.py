"""Request bodies as JSON objects, within bounds no caller can push past.

One reader for every route, so that a caller's mistake is always a 4xx naming what is
wrong, never a 5xx from deep inside a parser or a database driver:

- size: at most `max_bytes` per route (a body is parsed and logged whole);
- encoding: UTF-8, JSON's own rule;
- nesting: at most `MAX_DEPTH` arrays/objects (the parser recurses; 1,000 levels overflow it);
- numbers: at most `MAX_NUMBER_CHARS` characters (a 5,000-digit integer makes int() raise);
- `NaN`, `Infinity`: refused (not JSON, and never an amount);
- duplicate keys: refused (which one counts would be a guess, and the log could show the other);
- text: no control character (U+0000-U+001F, U+007F-U+009F) and no lone surrogate: NUL cannot
  be stored in PostgreSQL, and none of them belongs in a name, an id or a file field.

Numbers with a fraction keep the text the caller wrote (`JsonDecimal.text`), so that an
amount's grammar is checked on what was sent (`1e2` and `1.500` are refused as amounts).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class BodyError(ValueError):
    """The body as a whole is unusable (not JSON, too big, too deep)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FieldProblem(ValueError):
    """The body is JSON, but a value in it can never be valid; `path` names it (`a.b[2]`)."""

    def __init__(self, path: str, kind: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.kind = kind  # "text" or "number": each API words its own answer
        self.reason = reason


class JsonDecimal(Decimal):
    """A JSON number with a fraction or an exponent, and the text it was written as."""

    __slots__ = ("text",)

    def __new__(cls, text: str) -> JsonDecimal:
        number = super().__new__(cls, text)
        number.text = text
        return number


class _TooLong:
    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length


def _integer(text: str) -> int | _TooLong:
    return _TooLong(len(text)) if len(text) > MAX_NUMBER_CHARS else int(text)


def _fraction(text: str) -> JsonDecimal | _TooLong:
    return _TooLong(len(text)) if len(text) > MAX_NUMBER_CHARS else JsonDecimal(text)


def _constant(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON value")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BodyError(f"key {key[:40]!r} appears more than once in an object")
            seen.add(key)
    return result


def depth(raw: bytes) -> int:
    """How deeply arrays and objects nest (strings skipped): linear, no recursion."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    level = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def _walk(value: Any, path: str) -> None:
    if isinstance(value, str):
        if _FORBIDDEN.search(value):
            raise FieldProblem(path or "body", "text", "contains a control character or an invalid code point")
    elif isinstance(value, _TooLong):
        raise FieldProblem(
            path or "body", "number", f"number of {value.length} characters (at most {MAX_NUMBER_CHARS})"
        )
    elif isinstance(value, dict):
        for key, item in value.items():
            if _FORBIDDEN.search(key):
                raise FieldProblem(
                    path or "body", "text", "a key contains a control character or an invalid code point"
                )
            _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]")


def parse_object(raw: bytes, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object; BodyError or FieldProblem (in English: each API words its own answer)."""
    if not raw:
        raise BodyError("request body is empty; a JSON object is expected")
    if len(raw) > max_bytes:
        raise BodyError(f"request body has {len(raw)} bytes; at most {max_bytes} are accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("request body is not UTF-8") from None
    if depth(raw) > MAX_DEPTH:
        raise BodyError(f"request body nests arrays/objects deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(
            text, parse_int=_integer, parse_float=_fraction, parse_constant=_constant, object_pairs_hook=_no_duplicates
        )
    except json.JSONDecodeError as exc:
        raise BodyError(f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # not reachable past the depth check; kept so that no input can be a 5xx
        raise BodyError("request body nests too deeply") from None
    if not isinstance(data, dict):
        raise BodyError("request body must be a JSON object")
    _walk(data, "")
    return data
