"""Masking of personal data and secrets before anything is written to a log.

Two nets: by field name (secrets are replaced whole; identity documents and phone
numbers keep their last digits), then by value shape on every remaining string, so a
DNI (8 digits), RUC (11 digits) or phone number (+ and 10-13 digits) inside free text
is caught too. Amounts are never that shape in this project: they carry a decimal point
or are zero-padded to 12 or 15 digits.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

SECRET_KEYS = frozenset(
    k.lower()
    for k in (
        "client_secret",
        "clientSecret",
        "secret",
        "password",
        "passphrase",
        "access_token",
        "refresh_token",
        "token",
        "authorization",
        "otp",
        "otpCode",
        "code",
        "x-functions-key",
        "signature",
        "cvv",
        "pin",
    )
)
PERSONAL_KEYS = frozenset(
    k.lower()
    for k in (
        "dni",
        "ruc",
        "idConsulta",
        "documento_identidad",
        "identSerialNum",
        "govIssueIdentNum",
        "phone",
        "phoneNumber",
        "telefono",
        "celular",
        "mobile",
        "msisdn",
        "email",
        "clabe",
        "accountNumber",
        "cardNumber",
    )
)
_FORM = re.compile(r"[\w.%+\-\[\]]+=[^&]*(?:&[\w.%+\-\[\]]+=[^&]*)*")
_SHAPES = re.compile(r"(?<![\d.])(?:\+?\d{10,13}|\d{11}|\d{8})(?![\d.])")
MASK = "***"


def mask_value(value: str, keep: int = 3) -> str:
    """`12345678` -> `*****678`: enough to match a complaint, not enough to identify."""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_text(text: str) -> str:
    return _SHAPES.sub(lambda m: mask_value(m.group(0)), text)


def mask_data(data: Any) -> Any:
    """Mask a decoded JSON value (dicts, lists, scalars) and return a new one."""
    if isinstance(data, dict):
        return {key: _mask_field(str(key), value) for key, value in data.items()}
    if isinstance(data, list):
        return [mask_data(item) for item in data]
    if isinstance(data, str):
        return mask_text(data)
    return data


def _mask_field(key: str, value: Any) -> Any:
    lowered = key.lower()
    if lowered in SECRET_KEYS and value not in (None, ""):
        return MASK
    if lowered in PERSONAL_KEYS and isinstance(value, str | int) and not isinstance(value, bool):
        return mask_value(str(value))
    return mask_data(value)


def mask_body(body: bytes | str | None, limit: int = 30000) -> str:
    """A request or response body as text for the log: JSON masked field by field, else by shape."""
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        masked = json.dumps(mask_data(json.loads(text)), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        masked = mask_form(text) if _FORM.fullmatch(text.strip()) else mask_text(text)
    if len(masked) > limit:
        return masked[:limit] + "...[truncated]"
    return masked


def mask_form(text: str) -> str:
    """A form or query string (`a=1&client_secret=x`) with its fields masked by name and shape."""
    pairs = parse_qsl(text.strip(), keep_blank_values=True)
    return urlencode([(k, str(_mask_field(k, v))) for k, v in pairs], safe="*")


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_KEYS else mask_text(v)) for k, v in headers.items()}
