"""Rules of the debt file (spec 5.4-5.5 and NOTES.md) beyond what each field checks alone.

Pure: the loader feeds it parsed records and gets FieldErrors back. Amounts are int
cents; the currency is the file's code (`1` soles, `2` dólares).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.fixedwidth import FieldError
from domain.layouts.debts import DETAIL, HEADER

LIMA = ZoneInfo("America/Lima")
FILE_NAME = re.compile(r"D([0-9]{5})([0-9]{2})([0-9]{2})([0-9]{4})([0-9]{3})\.TXT")
MIN_YEAR, MAX_YEAR = 1900, 2100
HEADER_LINE = 1


@dataclass(frozen=True)
class DebtHeader:
    file_name: str
    update_type: str  # R or N
    company_code: int
    transmitted_at: datetime  # America/Lima
    records: int
    total_pen: int  # cents
    total_usd: int  # cents


def file_name_errors(name: str, folder_company: int) -> list[FieldError]:
    """The file's own name: D + company(5) + DDMMYYYY + sequence(3) + .TXT, company = folder."""
    match = FILE_NAME.fullmatch(name)
    if match is None:
        return [FieldError(0, "nombre_archivo", name, "no cumple D + empresa(5) + DDMMAAAA + secuencia(3) + .TXT")]
    company, day, month, year, _ = match.groups()
    errors = []
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        errors.append(FieldError(0, "nombre_archivo", name, "fecha de generacion invalida en el nombre"))
    if int(company) != folder_company:
        errors.append(
            FieldError(0, "nombre_archivo", name, f"empresa {company} no corresponde a la carpeta {folder_company:05d}")
        )
    return errors


# A header's transmission time may run ahead of the loader's clock by this much (clocks drift);
# further ahead, the file is refused: the time decides which payments the company knew of.
MAX_FUTURE_TRANSMISSION = timedelta(minutes=10)


def future_transmission(header: DebtHeader, now: datetime, tolerance: timedelta) -> FieldError | None:
    """The header's fecha/hora de transmision later than `now` plus the tolerance, as an error."""
    if header.transmitted_at <= now + tolerance:
        return None
    stamp = header.transmitted_at.strftime("%d%m%Y %H%M%S")
    arrived = now.astimezone(LIMA).strftime("%d/%m/%Y %H:%M:%S")
    minutes = int(tolerance.total_seconds() // 60)
    return FieldError(
        HEADER_LINE, "hora_transmision", stamp,
        f"fecha y hora de transmision en el futuro: el archivo se leyo el {arrived} (hora de Lima), "
        f"tolerancia {minutes} minutos",
    )  # fmt: skip


def check_header(line: bytes, file_name: str, folder_company: int) -> tuple[DebtHeader | None, list[FieldError]]:
    """Parse and check the header against the file's name and folder; any error rejects the file."""
    errors = [FieldError(HEADER_LINE, e.field, e.value, e.reason) for e in file_name_errors(file_name, folder_company)]
    values, field_errors = HEADER.parse(line, HEADER_LINE)
    errors.extend(field_errors)
    if values is None:
        return None, errors
    if values["nombre_archivo"] != file_name:
        errors.append(
            FieldError(
                HEADER_LINE, "nombre_archivo", values["nombre_archivo"], f"no coincide con el archivo {file_name}"
            )
        )
    if values["codigo_empresa"] != folder_company:
        errors.append(
            FieldError(
                HEADER_LINE, "codigo_empresa", f"{values['codigo_empresa']:07d}",
                f"no corresponde a la empresa {folder_company:05d} de la carpeta",
            )
        )  # fmt: skip
    if errors:
        return None, errors
    transmitted = datetime.combine(values["fecha_transmision"], values["hora_transmision"], LIMA)
    return DebtHeader(
        file_name=file_name,
        update_type=values["tipo_actualizacion"],
        company_code=values["codigo_empresa"],
        transmitted_at=transmitted,
        records=values["numero_registros"],
        total_pen=values["importe_total_soles"],
        total_usd=values["importe_total_dolares"],
    ), []


@dataclass
class DetailRules:
    """Cross-field rules of one detail line, given the file's type and the company's services."""

    update_type: str
    service_currency: Mapping[str, str]  # service code -> "1" / "2"

    def passes_row(self, kind: str, row: tuple[Any, ...]) -> bool:
        """The same rules as `check`, as one quick yes/no on a `debts` row (the loader's hot path).

        Row positions: 3 product, 8 deuda, 9 mora, 10 gastos, 11 pago minimo, 13 year, 15 currency.
        """
        return (
            (self.update_type != "R" or kind == "N")
            and self.service_currency.get(row[3]) == row[15]
            and (kind == "D" or 0 < row[11] <= row[8] + row[9] + row[10])
            and MIN_YEAR <= row[13] <= MAX_YEAR
        )

    def check(self, values: Mapping[str, Any], line_no: int) -> list[FieldError]:
        errors = []
        kind = values["tipo_actualizacion"]
        if self.update_type == "R" and kind != "N":
            errors.append(FieldError(line_no, "tipo_actualizacion", kind, "un archivo R solo admite registros N"))
        product = values["codigo_producto"]
        currency = self.service_currency.get(product)
        if currency is None:
            errors.append(FieldError(line_no, "codigo_producto", product, "producto no definido para la empresa"))
        elif values["moneda_doc"] != currency:
            errors.append(
                FieldError(
                    line_no, "moneda_doc", values["moneda_doc"],
                    f"no corresponde a la moneda del producto {product} ({currency})",
                )
            )  # fmt: skip
        total = values["deuda"] + values["mora"] + values["gastos_adm"]
        minimum = values["pago_minimo"]
        if kind != "D" and not 0 < minimum <= total:
            errors.append(
                FieldError(
                    line_no, "pago_minimo", cents_text(minimum),
                    f"debe ser mayor que 0 y menor o igual que la deuda total {cents_text(total)}",
                )
            )  # fmt: skip
        if not MIN_YEAR <= values["anio"] <= MAX_YEAR:
            errors.append(FieldError(line_no, "anio", f"{values['anio']:04d}", f"anio fuera de {MIN_YEAR}-{MAX_YEAR}"))
        return errors


def cents_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@dataclass
class DocumentOrder:
    """Documents of one client must be unique and ascending (spec 5.4.2, field 05).

    Exact for the lines of the current client's run, and for a client that comes back after
    others if it is among the first `track` clients of the file (their highest accepted
    document is kept: an export sorted by document or date has few clients, all of them here).
    For any other client it answers "maybe seen" from a fixed-size Bloom filter of clients
    (8 MiB, three probes: a few false positives in a million clients), and the loader confirms
    set-based on what it stored for this file. Memory is bounded whatever the file: `track`
    clients and the filter.
    """

    bits: int = 1 << 26
    track: int = 50_000
    _seen: bytearray = field(init=False)
    _known: dict[str, str] = field(init=False)  # tracked client -> highest accepted document
    client: str | None = field(default=None, init=False)  # the client of the current run of lines
    last: str = field(default="", init=False)  # its highest accepted document ("" none)

    def __post_init__(self) -> None:
        self._seen = bytearray(self.bits // 8)
        self._known = {}

    def check(self, client: str, document: str, line_no: int) -> tuple[FieldError | None, bool]:
        """(error for this line, whether the client may have appeared before, untracked)."""
        if client != self.client:
            self._close_run()
            self.client = client
            top = self._known.get(client)
            if top is None:
                self.last = document
                return None, self._probe(client)
            self.last = top
        if document == self.last:
            return FieldError(line_no, "num_documento", document, "documento repetido para el cliente"), False
        if document < self.last:
            return FieldError(
                line_no, "num_documento", document, f"documentos del cliente no ascendentes (anterior {self.last})"
            ), False
        self.last = document
        return None, False

    def _probe(self, client: str) -> bool:
        """Add the client to the filter; whether all its bits were set already."""
        first, step = hash(client), hash((client, 1)) | 1
        maybe_seen = True
        for probe in range(3):
            slot = (first + probe * step) % self.bits
            byte, bit = slot >> 3, 1 << (slot & 7)
            if not self._seen[byte] & bit:
                maybe_seen = False
                self._seen[byte] |= bit
        return maybe_seen

    def _close_run(self) -> None:
        client = self.client
        if client is not None and self.last and (client in self._known or len(self._known) < self.track):
            self._known[client] = self.last

    def last_for(self, client: str) -> str | None:
        """The highest accepted document of `client` if it is the current run's client."""
        return self.last if client == self.client else None

    def rejected(self, client: str, previous: str | None) -> None:
        """The line just checked was rejected: the client's highest accepted document stays
        `previous` (None: the line opened the run; what was accepted before it, if known)."""
        if client == self.client:
            self.last = previous if previous is not None else self._known.get(client, "")


def order_error(document: str, previous_max: str | None, line_no: int) -> FieldError | None:
    """For a client that appeared earlier in the file: compare with the highest document stored."""
    if previous_max is None:
        return None
    if document == previous_max:
        return FieldError(line_no, "num_documento", document, "documento repetido para el cliente")
    if document < previous_max:
        return FieldError(
            line_no, "num_documento", document, f"documentos del cliente no ascendentes (anterior {previous_max})"
        )
    return None


@dataclass(frozen=True)
class LoadSummary:
    """What the .OK file reports, kept in SQL so it can be written again identically."""

    file_name: str
    company_code: int
    update_type: str | None
    status: str  # PROCESADO or RECHAZADO
    lines: int
    applied: int
    rejected: int
    header_records: int | None
    header_total_pen: int | None
    header_total_usd: int | None
    read_total_pen: int
    read_total_usd: int
    applied_total_pen: int
    applied_total_usd: int
    started_at: datetime
    finished_at: datetime


def render_ok(summary: LoadSummary) -> bytes:
    def amount(value: int | None) -> str:
        return "-" if value is None else cents_text(value)

    rows = [
        ("ARCHIVO", summary.file_name),
        ("EMPRESA", f"{summary.company_code:05d}"),
        ("TIPO", summary.update_type or "-"),
        ("ESTADO", summary.status),
        ("REGISTROS CABECERA", "-" if summary.header_records is None else str(summary.header_records)),
        ("REGISTROS LEIDOS", str(summary.lines)),
        ("REGISTROS APLICADOS", str(summary.applied)),
        ("REGISTROS RECHAZADOS", str(summary.rejected)),
        ("TOTAL SOLES CABECERA", amount(summary.header_total_pen)),
        ("TOTAL SOLES LEIDO", amount(summary.read_total_pen)),
        ("TOTAL SOLES APLICADO", amount(summary.applied_total_pen)),
        ("TOTAL DOLARES CABECERA", amount(summary.header_total_usd)),
        ("TOTAL DOLARES LEIDO", amount(summary.read_total_usd)),
        ("TOTAL DOLARES APLICADO", amount(summary.applied_total_usd)),
        ("INICIO", summary.started_at.astimezone(LIMA).isoformat(timespec="seconds")),
        ("FIN", summary.finished_at.astimezone(LIMA).isoformat(timespec="seconds")),
    ]
    return b"".join(f"{k}: {v}\r\n".encode("ascii") for k, v in rows)


def render_err_line(line_no: int, errors: list[tuple[str, str]], raw: bytes) -> bytes:
    """`LINEA|CAMPOS|MOTIVOS|registro original`: one line per rejected line (NOTES.md)."""
    fields = ",".join(dict.fromkeys(f for f, _ in errors))
    reasons = "; ".join(f"{f}: {r}" for f, r in errors)
    text = f"{line_no:09d}|{fields}|{reasons}|".encode("ascii", errors="replace")
    return text + raw + b"\r\n"


__all__ = [
    "DETAIL",
    "HEADER",
    "LIMA",
    "DebtHeader",
    "DetailRules",
    "DocumentOrder",
    "LoadSummary",
    "check_header",
    "file_name_errors",
    "order_error",
    "render_err_line",
    "render_ok",
]
