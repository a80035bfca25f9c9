"""The `X-Invoker-*` headers each route requires, as one table per route.

Negotiations, profile and policies: the spec marks Channel, UserIPAddress, ServerIPAddress,
UserMACAddress and Accept as required (the agreement route's table has no "required" column:
it gets the same). The banking-agent collection check has its own table with fixed values
(Channel 13, BranchId 1108, Source 18, Country CO, subChannel 07, User NEWCBSER, Action C/R)
and two derived ones: X-Invoker-TxId = APIF + Julian date (last digit of the year and day of
the year, today in America/Bogota) + 32 + a 10-digit authorization number, and
X-Invoker-ProcessId = the TxId's last 11 digits right-aligned with zeros to 12.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from domain.collections.dates import REASON as DATE_REASON
from domain.collections.dates import parse_date
from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError

Check = Callable[[str], str | None]  # None when the value is fine, else the reason


def _ip(value: str) -> str | None:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return "no es una direccion IP"
    return None


_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")


def _mac(value: str) -> str | None:
    return None if _MAC.match(value.strip()) else "no es una direccion MAC (6 pares hexadecimales)"


def _iso_date(value: str) -> str | None:
    return None if parse_date(value) is not None else DATE_REASON


def _digits(low: int, high: int) -> Check:
    return lambda v: (
        None if v.strip().isdigit() and low <= len(v.strip()) <= high else f"debe tener {low}-{high} digitos"
    )


def _fixed(*allowed: str) -> Check:
    return lambda v: None if v.strip() in allowed else f"debe ser {' o '.join(allowed)}"


def _present(value: str) -> str | None:
    return None  # required, any value (the spec says "enviar espacios" for some)


def _not_blank(value: str) -> str | None:
    return None if value.strip() else "no puede estar en blanco"


def _accept(value: str) -> str | None:
    kinds = {part.split(";")[0].strip().lower() for part in value.split(",")}
    ok = kinds & {"application/json", "application/*", "*/*"}
    return None if ok else "debe aceptar application/json"


@dataclass(frozen=True)
class Header:
    name: str
    required: bool
    check: Check = _present


COMMON = (
    Header("X-Invoker-Channel", True, _digits(2, 3)),
    Header("X-Invoker-UserIPAddress", True, _ip),
    Header("X-Invoker-ServerIPAddress", True, _ip),
    Header("X-Invoker-UserMACAddress", True, _mac),
    Header("X-Invoker-ServerMACAddress", False, _mac),
    Header("X-Invoker-ProcessDate", False, _iso_date),
    Header("X-Invoker-Country", False, _fixed("CO")),
    Header("Accept", True, _accept),
)

COLLECTION = (
    Header("Accept", True, _accept),
    Header("X-Invoker-Channel", True, _fixed("13")),
    Header("X-Invoker-BranchId", True, _fixed("1108")),
    Header("X-Invoker-TerminalId", True, _not_blank),
    Header("X-Invoker-UserIPAddress", True, _ip),
    Header("X-Invoker-ServerIPAddress", True, _ip),
    Header("X-Invoker-UserMACAddress", False, _mac),
    Header("X-Invoker-ServerMACAddress", False, _mac),
    Header("X-Invoker-ProcessDate", True, _iso_date),
    Header("X-Invoker-TxId", True),  # checked with today's date below
    Header("X-Invoker-SessionKey", True, _not_blank),  # checked against the token below
    Header("X-Invoker-Source", False, _fixed("18")),
    Header("X-Invoker-Country", True, _fixed("CO")),
    Header("X-Invoker-ProcessId", False),  # required for Action C, checked against the TxId below
    Header("X-Invoker-subChannel", True, _fixed("07")),
    Header("X-Invoker-User", True, _fixed("NEWCBSER")),
    Header("X-Invoker-Action", True, _fixed("C", "R")),
    Header("X-Invoker-ModifierUser", True),
)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup, case-insensitive whatever mapping the host gives."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def check_headers(headers: Mapping[str, str], table: tuple[Header, ...]) -> None:
    """Raise CollectionsError naming the first missing (10002) or malformed (10007) header."""
    for header in table:
        value = header_value(headers, header.name)
        if value is None:
            if header.required:
                raise CollectionsError(NULL_INPUT, f"falta el header {header.name}")
            continue
        reason = header.check(value)
        if reason is not None:
            raise CollectionsError(TRANSFORM, f"header {header.name} invalido: {reason}")


def julian(day: date) -> str:
    """Last digit of the year and the day of the year: 2024-03-27 -> 4087."""
    return f"{day.year % 10}{day.timetuple().tm_yday:03d}"


_TXID = re.compile(r"^APIF(\d{4})32(\d{10})$")


def check_collection_headers(headers: Mapping[str, str], today: date, token: str) -> str:
    """The collection check's table, then TxId (today's Julian date in Bogota), ProcessId (if
    sent; Action C must send it) and SessionKey (the first 30 characters of the bearer token);
    returns the authorization number."""
    check_headers(headers, COLLECTION)
    tx_id = (header_value(headers, "X-Invoker-TxId") or "").strip()
    match = _TXID.match(tx_id)
    if match is None:
        raise CollectionsError(
            TRANSFORM, "header X-Invoker-TxId invalido: debe ser APIF + fecha juliana + 32 + 10 digitos"
        )
    if match.group(1) != julian(today):
        raise CollectionsError(
            TRANSFORM, f"header X-Invoker-TxId invalido: fecha juliana {match.group(1)}, hoy es {julian(today)}"
        )
    # "Obligatorio solo para los servicios de Aplicacion contable, opcional para consulta"
    sent = header_value(headers, "X-Invoker-ProcessId")
    action = (header_value(headers, "X-Invoker-Action") or "").strip()
    if sent is None and action == "C":
        raise CollectionsError(NULL_INPUT, "falta el header X-Invoker-ProcessId (obligatorio con X-Invoker-Action C)")
    process_id = (sent or "").strip()
    expected = tx_id[-11:].rjust(12, "0")
    if sent is not None and process_id != expected:
        raise CollectionsError(TRANSFORM, f"header X-Invoker-ProcessId invalido: debe ser {expected}")
    session = (header_value(headers, "X-Invoker-SessionKey") or "").strip()
    if session != token[:30]:
        raise CollectionsError(
            TRANSFORM, "header X-Invoker-SessionKey invalido: deben ser las 30 primeras posiciones del token"
        )
    return match.group(2)
