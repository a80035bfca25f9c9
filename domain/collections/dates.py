"""The one date reader of the collections API: every route, body field and header alike.

The mapping tables print dates in three forms and the examples in a fourth: `yyyymmdd`
("Numérico en formato yyyymmdd", so a JSON number as well as a string), `230213` (the
`createdDt` row: yymmdd, years 2000-2099), and `YYYY-MM-DD` (the examples, the policies
tables and the headers' "AAA-MM-DD"). All are accepted wherever a date is; anything else,
or a day the calendar does not have, is refused with one message.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

REASON = "no es una fecha AAAA-MM-DD, AAAAMMDD o AAMMDD"
FORMS = ("AAAA-MM-DD", "AAAAMMDD", "AAMMDD")  # for the OpenAPI document and the README

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SHORT = re.compile(r"(\d{2})(\d{2})(\d{2})")


def parse_date(value: Any) -> date | None:
    """The date `value` names in one of FORMS (surrounding spaces ignored), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        if value != int(value) or value < 0:
            return None
        value = str(int(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if found := _ISO.fullmatch(text) or _COMPACT.fullmatch(text):
        year, month, day = (int(part) for part in found.groups())
    elif found := _SHORT.fullmatch(text):
        year, month, day = (int(part) for part in found.groups())
        year += 2000
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
