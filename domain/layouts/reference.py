"""docs/file-layouts.md, written from the layout tables themselves (the same `Field`s the parser
and the writer read), with an example record of each made by the writer: the document a
biller, a bank or a distributor is handed cannot drift from what the code reads and writes
(`python manage.py openapi` rewrites it; tests/unit/test_generated_docs.py fails when stale)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from domain.debts import render_err_line
from domain.fixedwidth import ALNUM, PRINTABLE, Field, Kind, Layout
from domain.layouts.debts import DETAIL, HEADER
from domain.layouts.disbursements import (
    DISPERSION_DETAIL,
    DISPERSION_HEADER,
    DISPERSION_TRAILER,
    RESPONSE,
    RETURN_REASONS,
)  # fmt: skip
from domain.layouts.payments import PAYMENT

DAY = date(2026, 12, 3)
EXAMPLES: dict[str, dict[str, object]] = {
    HEADER.name: dict(nombre_archivo="D0073003122026001.TXT", tipo_actualizacion="R", codigo_empresa=730,
                      fecha_transmision=DAY, hora_transmision=time(6, 30), numero_registros=2,
                      importe_total_soles=15050, importe_total_dolares=4500, mac=0),
    DETAIL.name: dict(tipo_actualizacion="N", codigo_cliente="00000000001000", nombre_cliente="ACOSTA RIOS MARIA",
                      codigo_producto="001", num_documento="F001-00000001", desc_documento="Recibo diciembre",
                      fecha_vencimiento=date(2026, 12, 23), fecha_emision=date(2026, 11, 23), deuda=15050, mora=0,
                      gastos_adm=0, pago_minimo=15050, periodo=12, anio=2026, cuota=0, moneda_doc="1",
                      dni="10000000"),
    DETAIL.name + " (dolares)": dict(tipo_actualizacion="N", codigo_cliente="00000000001000",
                                     nombre_cliente="ACOSTA RIOS MARIA", codigo_producto="002",
                                     num_documento="F002-00000007", desc_documento="Cuota 3 de 12",
                                     fecha_vencimiento=date(2026, 12, 31), fecha_emision=date(2026, 11, 30),
                                     deuda=4500, mora=0, gastos_adm=0, pago_minimo=1000, periodo=0, anio=2026,
                                     cuota=3, moneda_doc="2", ruc="20100070970"),
    PAYMENT.name: dict(tipo_registro="DD", codigo_cliente="00000000001000", nombre_cliente="ACOSTA RIOS MARIA",
                       codigo_producto="001", numero_documento="F001-00000001", fecha_vencimiento=date(2026, 12, 23),
                       fecha_pago=DAY, hora_pago=time(9, 41, 7), importe_pagado=15050, agencia=0,
                       numero_operacion="A0154785", canal_pago="10", forma_pago="01", fecha_contable=DAY,
                       estado="P"),
    DISPERSION_HEADER.name: dict(tipo_registro="H", nombre_archivo="DISP_20261203_094251_001.TXT",
                                 fecha_generacion=DAY, hora_generacion=time(9, 42, 51), tipo_archivo="D"),
    DISPERSION_DETAIL.name: dict(tipo_registro="D", id_transaccion="a1d852f3-ef49-4426-b08e-cd1a4dee857a",
                                 clabe_destino="012180010000000011", nombre_beneficiario="KOF Mexico",
                                 importe=125000, moneda="MXN", referencia=1, concepto="Pedido 4471",
                                 fecha_valor=DAY, intento=0),
    DISPERSION_TRAILER.name: dict(tipo_registro="T", numero_registros=1, importe_total=125000),
    RESPONSE.name: dict(id_transaccion="a1d852f3-ef49-4426-b08e-cd1a4dee857a", estatus="P", codigo_motivo="00",
                        clave_rastreo="BBVA2026120300000001", fecha_operacion=DAY, intento=0),
}  # fmt: skip




def _form(f: Field) -> str:
    if f.const is not None:
        return "blank" if not f.const.strip() else f"always `{f.const}`"
    if f.kind is Kind.DATE:
        return "date DDMMAAAA"
    if f.kind is Kind.TIME:
        return "time HHMMSS (24 h)"
    if f.kind is Kind.AMOUNT:
        return f"amount: digits, {f.decimals} implied decimals, zeros on the left"
    if f.kind is Kind.N:
        return "digits, zeros on the left" + (f"; one of {', '.join(f.choices)}" if f.choices else "")
    if f.choices:
        return f"one of {', '.join(f'`{c}`' for c in f.choices)}"
    if f.pattern and f.note:
        return f.note
    chars = {ALNUM: "letters and digits", PRINTABLE: "printable ASCII", "0-9": "digits"}.get(f.charset)
    if chars is None:
        chars = "letters and digits and `" + f.charset.removeprefix(ALNUM) + "`" if f.charset.startswith(ALNUM) \
            else f"characters `{f.charset}`"  # fmt: skip
    return f"text ({chars}), left-aligned, spaces on the right"


def _table(layout: Layout) -> list[str]:
    rows = ["| # | Field | From | To | Length | Form | Required | Holds |", "|---|---|---|---|---|---|---|---|"]
    for n, f in enumerate(layout.fields, 1):
        required = "yes" if f.required and not (f.const is not None and not f.const.strip()) else "no (blank)"
        rows.append(f"| {n:02d} | `{f.name}` | {f.start} | {f.end} | {f.length} | {_form(f)} | {required} | "
                    f"{f.doc.replace('|', '/')} |")  # fmt: skip
    return rows


def _ruler(width: int) -> str:
    return "".join(str(i // 10 % 10) if i % 10 == 0 else ("+" if i % 5 == 0 else ".") for i in range(1, width + 1))


def _example(layouts: Iterable[Layout]) -> list[str]:
    records = [layout.format(values).decode("ascii") for layout in layouts
               for name, values in EXAMPLES.items() if name.split(" (")[0] == layout.name]  # fmt: skip
    return ["```text", _ruler(max(len(r) for r in records)), *records, "```"]


def _section(title: str, intro: str, layouts: list[Layout]) -> list[str]:
    lines = [f"## {title}", "", " ".join(intro.split()), ""]
    for layout in layouts:
        lines += [f"### {layout.name.capitalize()} ({layout.width} characters)", "", *_table(layout), ""]
    lines += ["Example (the ruler counts positions: a digit every 10, `+` at every 5):", "", *_example(layouts), ""]
    return lines


DEBT_FILE = """
A company puts `DEEEEEDDMMAAAANNN.TXT` in its folder `EEEEE/Deudas/Pending/` (its code in 5 digits). The loader
reads it within minutes, oldest file first: a header, then one detail per debt. An `R` file replaces all the
company's debts; an `N` file adds, updates or deletes debts line by line. A refused line is skipped and the rest
applied; a bad header, count or total refuses the whole file and applies nothing. Either way the file then moves to
`Deudas/Complete/` beside a `.OK` (the file's status, counts and totals as read and as applied) and a `.ERR` (one
line per refused record, empty when there is none). A file uploaded again under a name already processed, and
anything that is not a file (a folder, a link) or whose name is not printable ASCII, is moved to `Deudas/Rejected/`
with a `.ERR` saying why, never applied. Files in `Pending/` that do not end in `.TXT` are left where they are and
reported to the operators.
"""
PAYMENT_FILE = """
Each run of the payment-file generator writes, for each company with new payments or reversals,
`EEEEE/Pagos/PEEEEEDDMMAAAANNN.TXT`: one record per payment (estado `P`) and one per reversal (estado `A`), no
header or trailer. A payment and its reversal may arrive in the same file or in different ones; each is written
once. The file appears whole (it is written aside and renamed). Take each file once you have applied it: move it
out of `Pagos/` (to a folder of your own, `Pagos/aplicados/` for instance) or delete it. Until the service sees it
gone (it looks every few minutes) or the agreed settlement delay has passed since it was written (72 hours unless
agreed otherwise), its payments still count against the debt files you send: a debt of 100.00 paid 60.00 that you
state again at 100.00 is offered at 40.00, so it cannot be paid twice. A file counts as taken for a debt file only
if it was seen gone 10 minutes (the clock tolerance) before that debt file's `hora_transmision`: apply, take, then
make the debt file. A payment whose file you took sooner keeps counting until your next debt file (the customer
cannot pay the rest meanwhile, nothing is collected twice); so does a payment on a debt you state at the very total
it had when it was paid.
"""
DISPERSION_FILE = """
The approved credit-line purchases are sent to the bank as transfers to each distributor's CLABE, in
`dispersiones/pendientes/DISP_AAAAMMDD_HHMMSS_NNN.TXT`; transfers the bank rejected with a reason a retry may cure
go again in `dispersiones/reintentos/REIN_...TXT` (`intento` 01 and up). A header, one detail per transfer, a trailer
with the count and the total. These layouts are the service's proposal, to be confirmed with the bank.
"""
RESPONSE_FILE = """
The bank drops its answers in `dispersiones/respuestas/` (any name; `RESP_...TXT` is usual): one line per transfer
it executed or rejected, no header. Each file is applied once (by its content) and moved to
`respuestas/procesados/`; a line that cannot be read, names an unknown transfer or repeats an answer is reported and
skipped, the rest applied.
"""
FORMAT = """
Every file exchanged with the service is fixed-width ASCII: one record per line, each line ended by CR LF, no
accents or Ñ. Positions are 1-based and inclusive. Text is left-aligned and padded with spaces; numbers and amounts
are right-aligned and padded with zeros; an amount has implied decimals (`000000001550` is 15.50). A field that is
not required may be all spaces. The tables below are the ones the service reads and writes with: a record that does
not match is refused with the field, the line and the reason.
"""


def _paragraph(text: str) -> str:
    return " ".join(text.split())


def render_layouts() -> str:
    dni = next(f for f in DETAIL.fields if f.name == "dni")
    bad = bytearray(DETAIL.format(EXAMPLES[DETAIL.name]))
    bad[dni.start - 1 : dni.end] = b"90000005"  # the writer would refuse it: a received line, as the loader sees it
    _, problems = DETAIL.parse(bytes(bad), 3)
    err = render_err_line(3, [(e.field, e.reason) for e in problems], bytes(bad)).decode("ascii").rstrip("\r\n")
    lines = [
        "# File layouts",
        "",
        "<!-- generated from domain/layouts/ by `python manage.py openapi`; do not edit by hand -->",
        "",
        _paragraph(FORMAT),
        "",
        *_section("Debt file (a company to the service)", DEBT_FILE, [HEADER, DETAIL]),
        "A `.ERR` line is `LINE|FIELDS|REASONS|` followed by the record as it was received:",
        "",
        "```text",
        err,
        "```",
        "",
        *_section("Payment file (the service to a company)", PAYMENT_FILE, [PAYMENT]),
        *_section("Dispersion and retry files (the service to the bank)", DISPERSION_FILE,
                  [DISPERSION_HEADER, DISPERSION_DETAIL, DISPERSION_TRAILER]),
        *_section("Response file (the bank to the service)", RESPONSE_FILE, [RESPONSE]),
        "SPEI return reasons (`codigo_motivo`) and whether the service sends the transfer again:",
        "",
        "| Code | Reason | Retried |",
        "|---|---|---|",
        *(f"| {code} | {text} | {'yes' if retry else 'no'} |" for code, (text, retry) in RETURN_REASONS.items()),
        "",
    ]
    return "\n".join(lines)
