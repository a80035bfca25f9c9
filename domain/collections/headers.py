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

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.fields import Accept, Code, DateForm, Digits, Form, Free, Ip, Mac, fixed


@dataclass(frozen=True)
class Header:
    """One row of a route's header table: the name, whether it must come, its form, an
    example value and the table's words."""

    name: str
    required: bool
    form: Form
    example: str
    words: str = ""

    def check(self, value: str) -> str | None:
        return self.form.check(value)


def _exact(value: str, words: str) -> Code:
    return fixed(value, words, loose_digits=False)


_ANY = Free(200)  # "Enviar espacios": present, any value
_FILLED = Free(200, blank=False)

COMMON = (
    Header("X-Invoker-Channel", True, Digits(3, 2), "012", "Canal de origen del consumo"),
    Header("X-Invoker-UserIPAddress", True, Ip(), "10.5.43.214", "IP del cliente"),
    Header("X-Invoker-ServerIPAddress", True, Ip(), "192.168.169.197", "IP del servidor"),
    Header("X-Invoker-UserMACAddress", True, Mac(), "0E-A5-38-F7-C3-09", "MAC del cliente"),
    Header("X-Invoker-ServerMACAddress", False, Mac(), "0E-A5-38-F7-C3-09", "MAC del servidor"),
    Header("X-Invoker-ProcessDate", False, DateForm(), "2023-05-02", "Fecha de proceso"),
    Header("X-Invoker-Country", False, _exact("CO", "Colombia"), "CO", "Pais"),
    Header("Accept", True, Accept(), "application/json", "Formato aceptado"),
)

COLLECTION = (
    Header("Accept", True, Accept(), "application/json", "Formato aceptado"),
    Header("X-Invoker-Channel", True, _exact("13", "Corresponsal bancario"), "13", "Valor fijo 13"),
    Header("X-Invoker-BranchId", True, _exact("1108", "valor fijo"), "1108", "Valor fijo 1108"),
    Header("X-Invoker-TerminalId", True, _FILLED, "T0001", "Codigo de la terminal"),
    Header("X-Invoker-UserIPAddress", True, Ip(), "10.0.0.1", "IP de la terminal que ejecuta la aplicacion"),
    Header("X-Invoker-ServerIPAddress", True, Ip(), "10.0.0.2", "IP del servidor que ejecuta la transaccion"),
    Header("X-Invoker-UserMACAddress", False, Mac(), "00-00-00-00-00-00", "MAC del cliente, en ceros si no se obtiene"),
    Header("X-Invoker-ServerMACAddress", False, Mac(), "00-00-00-00-00-00",
           "MAC del servidor, en ceros si no se obtiene"),
    Header("X-Invoker-ProcessDate", True, DateForm(), "2026-11-22", "Fecha de proceso, formato AAAA-MM-DD"),
    Header("X-Invoker-TxId", True, _FILLED, "APIF4087320000000001",
           "APIF + fecha juliana (ultimo digito del ano y dia del ano) + 32 + numero de autorizacion de 10 digitos"),
    Header("X-Invoker-SessionKey", True, _FILLED, "(token)", "Las 30 primeras posiciones del token"),
    Header("X-Invoker-Source", False, _exact("18", "valor fijo"), "18", "Valor fijo 18"),
    Header("X-Invoker-Country", True, _exact("CO", "Colombia"), "CO", "Valor fijo CO"),
    Header("X-Invoker-ProcessId", False, _ANY, "020000000001",
           "Obligatorio con Action C, opcional para consulta: los ultimos 11 digitos del TxId alineados a la "
           "derecha con ceros a la izquierda (12)"),
    Header("X-Invoker-subChannel", True, _exact("07", "valor fijo"), "07", "Valor fijo 07"),
    Header("X-Invoker-User", True, _exact("NEWCBSER", "valor fijo"), "NEWCBSER", "Valor fijo NEWCBSER"),
    Header("X-Invoker-Action", True, Code({"C": "Create (aplicacion de negocio)", "R": "Read (consulta)"}), "R",
           "C crea (aplicacion de negocio), R consulta"),
    # "Enviar espacios", required by the table: HTTP trims the spaces, and curl and some proxies
    # drop a header left empty, so an absent one stands for the spaces it would carry
    Header("X-Invoker-ModifierUser", False, _ANY, "", "Enviar espacios (HTTP los recorta; ausente vale igual)"),
)  # fmt: skip


def schema_of(header: Header) -> dict[str, Any]:
    """The OpenAPI parameter of a header row."""
    return {"name": header.name, "in": "header", "required": header.required, "schema": {"type": "string"},
            "description": f"{header.words}. Formas: {header.form.words}.", "example": header.example}  # fmt: skip


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
