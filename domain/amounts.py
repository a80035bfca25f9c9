"""The one grammar for an amount of money arriving in a request, on every route.

An amount is a JSON number or a string, written with ASCII digits, at most two decimals,
no sign, no exponent, no separators: `100`, `100.5`, `100.99`, `"0100.99"`. Refused, with
the reason: `1_000` and `١٠٠` (Python's Decimal would take them), `1e2`, `1.500`,
`-5`, `0`, `true`, and anything above the route's maximum. The value is checked on the
text the caller wrote (domain/json_body.JsonDecimal), never on a float.

`amount_schema` writes the same rule for the OpenAPI documents (a pattern that also says
"greater than 0" and the maximum's number of digits), so that what they call valid is exactly
what the validators accept.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

MAX_AMOUNT_CHARS = 18
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")  # within MAX_AMOUNT_CHARS
CENT = Decimal("0.01")


# Each reason in the language of the APIs that answer it: YAPAGO and collections (es), lending (en).
REASONS = {
    "type": ("debe ser un numero", "must be a number"),
    "long": (f"tiene mas de {MAX_AMOUNT_CHARS} caracteres", f"has more than {MAX_AMOUNT_CHARS} characters"),
    "positive": ("debe ser mayor que 0", "must be greater than 0"),
    "decimals": ("tiene mas de dos decimales", "has more than two decimals"),
    "grammar": (
        "no es un importe: digitos ASCII y a lo mas dos decimales, como 100.99",
        "is not an amount: ASCII digits and at most two decimals, as in 100.99",
    ),
    "maximum": ("debe ser a lo mas {maximum}", "must be at most {maximum}"),
}


def _refuse(reason: str, lang: str, **values: Any) -> ValueError:
    spanish, english = REASONS[reason]
    return ValueError((spanish if lang == "es" else english).format(**values))


def _text(value: Any, lang: str) -> str:
    """The amount as the caller wrote it (a JsonDecimal keeps what was sent)."""
    if isinstance(value, bool):
        raise _refuse("type", lang)
    if isinstance(value, int):
        return str(value) if value >= 0 else "-"
    text = getattr(value, "text", None)
    if text is not None:
        return str(text)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else "NaN"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    raise _refuse("type", lang)


def parse_amount(value: Any, maximum: Decimal, *, allow_zero: bool = False, lang: str = "es") -> Decimal:
    """The amount as an exact Decimal with two places; ValueError naming the rule it breaks."""
    text = _text(value, lang)
    if len(text) > MAX_AMOUNT_CHARS:
        raise _refuse("long", lang)
    if text.startswith("-"):
        raise _refuse("positive", lang)
    if _AMOUNT.fullmatch(text) is None:
        raise _refuse("decimals" if re.fullmatch(r"[0-9]+\.[0-9]{3,}", text) else "grammar", lang)
    amount = Decimal(text).quantize(CENT)
    if amount == 0 and not allow_zero:
        raise _refuse("positive", lang)
    if amount > maximum:
        raise _refuse("maximum", lang, maximum=maximum)
    return amount


def amount_pattern(maximum: Decimal) -> str:
    """The grammar as a pattern, for a maximum of the form 9...9.99: at most its integer digits
    (leading zeros aside), and not zero."""
    digits = len(str(int(maximum)))
    assert maximum == Decimal("9" * digits + ".99"), "the pattern can say only all-nines maximums"
    return rf"^(0*[1-9][0-9]{{0,{digits - 1}}}(\.[0-9]{{1,2}})?|0+\.([0-9][1-9]|[1-9][0-9]?))$"


def amount_schema(maximum: Decimal) -> dict[str, Any]:
    """The JSON Schema of an amount field with this maximum: a number or a string of the grammar."""
    return {
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0, "maximum": float(maximum), "multipleOf": 0.01},
            {"type": "string", "pattern": amount_pattern(maximum), "maxLength": MAX_AMOUNT_CHARS},
        ],
        "description": f"Importe: digitos ASCII, a lo mas dos decimales, sin signo ni exponente; maximo {maximum}",
    }
