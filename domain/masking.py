"""What a log may keep of a request or an answer: an allow-list, never a guess.

A request body comes from anyone, token endpoint included, so it is logged only as far as it
is understood: parsed by the same bounded reader the routes use (domain/json_body.py), each
field kept only if the route's allow-list names it, masked by its kind (`FIELD_KINDS`);
fields it does not name are dropped and counted (`_omitted`), never shown, whatever their
name (a key can carry a secret too). A body that does not parse, or is too big, is logged as
its size and a hash, never as text: no masking of free text has to be right for a secret to
stay out of the log.

An answer is the service's own: every field is kept, secrets and personal identifiers masked
by name, and free text masked by shape for DNI, RUC and phone numbers only where they stand
alone (not inside `F001-00000002`, a correlation id, or a DDMMYYYY date), so that support can
read dates, amounts, documents and ids.

Kinds: KEEP (shown as sent), PERSONAL (last three characters kept: `*****678`), SECRET (`***`).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

from domain.json_body import BodyError, FieldProblem, parse_object

MASK = "***"
MAX_LOGGED_BYTES = 64 * 1024


class Kind(enum.StrEnum):
    KEEP = "keep"
    PERSONAL = "personal"
    SECRET = "secret"


# Every field name the APIs know that is not simply kept (lowercase). Secrets: credentials, codes
# that prove who someone is, and the QR payload (whoever holds it can have it scanned).
FIELD_KINDS: dict[str, Kind] = {
    **{name: Kind.SECRET for name in (
        "client_secret", "clientsecret", "secret", "password", "passphrase", "access_token", "refresh_token",
        "token", "authorization", "otp", "otpcode", "code", "x-functions-key", "signature", "cvv", "pin",
        "qrpayload", "payload", "sessionkey",
    )},
    **{name: Kind.PERSONAL for name in (
        "dni", "ruc", "idconsulta", "documento_identidad", "identserialnum", "govissueidentnum", "phone",
        "phonenumber", "telefono", "celular", "mobile", "msisdn", "email", "clabe", "accountnumber", "cardnumber",
        "acctid",
    )},
}  # fmt: skip


def kind_of(name: str) -> Kind:
    return FIELD_KINDS.get(name.lower(), Kind.KEEP)


def fields_of(*models: Any) -> frozenset[str]:
    """The allow-list of a route: every property name in its request models' JSON Schema."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(k.lower() for k in (node.get("properties") or {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for model in models:
        walk(model.model_json_schema())
    return frozenset(names)


def allow(*names: str) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


def mask_value(value: str, keep: int = 3) -> str:
    """`12345678` -> `*****678`: enough to match a complaint, not enough to identify."""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


# A DNI (8 digits), RUC (11) or phone number (+ and 10-13 digits) standing alone in free text.
_SHAPES = re.compile(r"(?<![\w.+/-])(?:\+?\d{10,13}|\d{11}|\d{8})(?![\w./-])")


def _is_date(digits: str) -> bool:
    if len(digits) != 8:
        return False
    try:
        day = date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return False
    return 1990 <= day.year <= 2100


def mask_text(text: str) -> str:
    """Free text with standalone DNI / RUC / phone shapes masked; dates (DDMMYYYY) kept."""
    return _SHAPES.sub(lambda m: m.group(0) if _is_date(m.group(0)) else mask_value(m.group(0)), text)


def summary(raw: bytes) -> str:
    """What a log keeps of bytes it must not show: their size and a hash (to match a complaint)."""
    return f"<{len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()[:16]}>"


def _by_kind(name: str, value: Any) -> Any:
    kind = kind_of(name)
    if kind is Kind.SECRET:
        return MASK if value not in (None, "") else value
    if kind is Kind.PERSONAL and isinstance(value, str | int) and not isinstance(value, bool):
        return mask_value(str(value))
    return value


def _request_value(value: Any, allowed: frozenset[str], omitted: list[int]) -> Any:
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, item in value.items():
            if key.lower() not in allowed:
                omitted[0] += 1  # not shown, not even its name
            elif kind_of(key) is Kind.SECRET:
                kept[key] = MASK if item not in (None, "") else item
            else:
                kept[key] = _by_kind(key, _request_value(item, allowed, omitted))
        return kept
    if isinstance(value, list):
        return [_request_value(item, allowed, omitted) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # a JsonDecimal: the amount as written


def request_for_log(raw: bytes | None, allowed: frozenset[str]) -> str:
    """A request body as a log may keep it: the allow-listed fields, masked by kind."""
    if not raw:
        return ""
    if len(raw) > MAX_LOGGED_BYTES:
        return summary(raw)
    try:
        data = parse_object(raw, MAX_LOGGED_BYTES)
    except (BodyError, FieldProblem):
        return summary(raw)
    omitted = [0]
    kept = _request_value(data, allowed, omitted)
    if omitted[0]:
        kept["_omitted"] = omitted[0]
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def _answer_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _by_kind(str(key), _answer_value(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_answer_value(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def answer_for_log(raw: bytes | None) -> str:
    """An answer of this service as a log may keep it: all of it, secrets and identifiers masked."""
    if not raw:
        return ""
    if len(raw) > MAX_LOGGED_BYTES:
        return summary(raw)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return summary(raw)  # an image, a document: not for the log
    return json.dumps(_answer_value(data), ensure_ascii=False, separators=(",", ":"))


def query_for_log(query: str, allowed: Iterable[str]) -> str:
    """A query string with only the allow-listed parameters, masked by kind; the rest counted."""
    names = {n.lower() for n in allowed}
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, str(_by_kind(k, v))) for k, v in pairs if k.lower() in names and not _FORBIDDEN.search(k + v)]
    if len(kept) < len(pairs):
        kept.append(("_omitted", str(len(pairs) - len(kept))))
    return urlencode(kept, safe="*")


_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f]")
