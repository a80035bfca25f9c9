"""Writes the golden input files of this folder (run by hand when a case is added).

Each case is a folder with one debt file named as the company would name it. The
expected `.OK` / `.ERR` beside it are written by the golden test with UPDATE_GOLDEN=1
and then read by a person before they are committed.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from domain.layouts.debts import DETAIL, HEADER  # noqa: E402

NAME = "D0073022112026001.TXT"


def detail(**overrides: object) -> bytes:
    values = dict(
        tipo_actualizacion="N", codigo_cliente="04785124", nombre_cliente="JUAN PEREZ", codigo_producto="001",
        num_documento="F001-00000001", desc_documento="Factura", fecha_vencimiento=date(2026, 12, 10),
        fecha_emision=date(2026, 11, 10), deuda=10099, mora=150, gastos_adm=0, pago_minimo=10249, periodo=11,
        anio=2026, cuota=1, moneda_doc="1", dni="14785124", ruc="", identificador_04="", filler="",
    )  # fmt: skip
    values.update(overrides)
    return DETAIL.format(values)


def header(lines: list[bytes], name: str = NAME, **overrides: object) -> bytes:
    pen = sum(
        int(line[100:112]) for line in lines if len(line) == 210 and line[156:157] == b"1" and line[100:112].isdigit()
    )
    usd = sum(
        int(line[100:112]) for line in lines if len(line) == 210 and line[156:157] == b"2" and line[100:112].isdigit()
    )
    values = dict(
        nombre_archivo=name, tipo_actualizacion="R", codigo_empresa=730, fecha_transmision=date(2026, 11, 22),
        hora_transmision=time(8, 30, 0), numero_registros=len(lines), importe_total_soles=pen,
        importe_total_dolares=usd, filler="", mac=0,
    )  # fmt: skip
    values.update(overrides)
    return HEADER.format(values)


def patch(line: bytes, start: int, text: bytes) -> bytes:
    """Overwrite the manual's 1-based position `start` with `text` (to build invalid fields)."""
    return line[: start - 1] + text + line[start - 1 + len(text) :]


def valid_lines() -> list[bytes]:
    return [
        detail(),
        detail(num_documento="F001-00000002", deuda=5000, mora=0, pago_minimo=1000, cuota=2),
        detail(codigo_cliente="20100047218", nombre_cliente="COMERCIAL ANDINA S.A.", codigo_producto="002",
               num_documento="F002-00000100", moneda_doc="2", deuda=250000, mora=0, gastos_adm=1500,
               pago_minimo=251500, dni="", ruc="20100047218", identificador_04="CTA778899"),
        detail(codigo_cliente="A1B2C3", nombre_cliente="MARIA LOPEZ", codigo_producto="003",
               num_documento="P-77", desc_documento="Proforma 77", deuda=1, mora=0, pago_minimo=1, periodo=0,
               cuota=0, dni="", filler="LIBRE"),
    ]  # fmt: skip


def cases() -> dict[str, tuple[str, list[bytes], dict]]:
    ok = valid_lines()
    c: dict[str, tuple[str, list[bytes], dict]] = {}

    def whole(name: str, lines: list[bytes], file_name: str = NAME, setup: dict | None = None, **hdr: object) -> None:
        c[name] = (file_name, [header(lines, file_name, **hdr), *lines], setup or {})

    def one_bad(name: str, bad: bytes, update: str = "R", setup: dict | None = None) -> None:
        lines = [ok[0], bad, ok[2]]
        whole(name, lines, setup=setup, tipo_actualizacion=update)

    whole("valid_r", ok)
    c["valid_r_lf"] = (NAME, [header(ok), *ok], {"newline": "LF"})
    n_lines = [
        detail(codigo_cliente="04785124", num_documento="F001-00000001", tipo_actualizacion="A", deuda=8000,
               mora=0, pago_minimo=8000),
        detail(codigo_cliente="04785124", num_documento="F001-00000002", tipo_actualizacion="D"),
        detail(codigo_cliente="04785124", num_documento="F001-00000003", tipo_actualizacion="N", deuda=700,
               mora=0, pago_minimo=700),
        detail(codigo_cliente="NEW001", num_documento="F001-9", tipo_actualizacion="N", deuda=900, mora=0,
               pago_minimo=900, dni="20000001"),
    ]  # fmt: skip
    whole("valid_n", n_lines, "D0073022112026002.TXT", {"before": ["valid_r"]}, tipo_actualizacion="N")
    bad_n = [
        detail(codigo_cliente="04785124", num_documento="F001-00000001", tipo_actualizacion="N"),
        detail(codigo_cliente="GHOST", num_documento="X-1", tipo_actualizacion="A"),
        detail(codigo_cliente="GHOST", num_documento="X-2", tipo_actualizacion="D"),
    ]
    whole("n_existing_and_missing", bad_n, "D0073022112026002.TXT", {"before": ["valid_r"]}, tipo_actualizacion="N")

    # -- the whole file is rejected --------------------------------------------------------------
    c["reject_file_name"] = ("X0073022112026001.TXT", [patch(header(ok), 1, b"X0073022112026001.TXT"), *ok], {})
    whole("reject_file_name_company", ok, "D0073122112026001.TXT", codigo_empresa=731)
    whole("reject_file_name_date", ok, "D0073031022026001.TXT")
    whole("reject_header_company", ok, codigo_empresa=731)
    whole("reject_header_name", ok, nombre_archivo="D0073022112026009.TXT")
    c["reject_header_update_type"] = (NAME, [patch(header(ok), 22, b"X"), *ok], {})
    c["reject_header_date"] = (NAME, [patch(header(ok), 30, b"31022026"), *ok], {})
    c["reject_header_time"] = (NAME, [patch(header(ok), 38, b"256000"), *ok], {})
    c["reject_header_width"] = (NAME, [header(ok)[:200], *ok], {})
    c["reject_header_non_ascii"] = (NAME, [patch(header(ok), 83, "CAÑETE".encode("latin-1")), *ok], {})
    whole("reject_count", ok, numero_registros=5)
    whole("reject_total_pen", ok, importe_total_soles=1)
    whole("reject_total_usd", ok, importe_total_dolares=250001)
    c["reject_empty"] = (NAME, [], {})

    # -- one line is rejected, the rest is applied ---------------------------------------------
    one_bad("line_too_short", ok[1][:209])
    one_bad("line_too_long", ok[1] + b"X")
    one_bad("line_accent", patch(ok[1], 16, "JOSÉ".encode("latin-1")))
    one_bad("line_enie_utf8", patch(ok[1], 16, "PEÑA".encode())[:210])
    one_bad("line_update_type", patch(ok[1], 1, b"X"))
    one_bad("line_a_in_r_file", detail(num_documento="F001-00000002", tipo_actualizacion="A"))
    one_bad("line_client_symbol", patch(ok[1], 2, b"0478-124      "))
    one_bad("line_client_inner_space", patch(ok[1], 2, b"0478 5124     "))
    one_bad("line_client_blank", patch(ok[1], 2, b" " * 14))
    one_bad("line_client_not_left_aligned", patch(ok[1], 2, b"  04785124    "))
    one_bad("line_name_symbol", patch(ok[1], 16, b"PEREZ, JUAN"))
    one_bad("line_document_symbol", patch(ok[1], 49, b"F001/00000002"))
    one_bad("line_product_catalogue", patch(ok[1], 46, b"005"))
    one_bad("line_product_not_defined", detail(num_documento="F001-00000002", codigo_producto="004", moneda_doc="2"))
    one_bad("line_due_date", patch(ok[1], 85, b"31022026"))
    one_bad("line_issue_date", patch(ok[1], 93, b"1011202X"))
    one_bad("line_amount_not_numeric", patch(ok[1], 101, b"00000000500A"))
    one_bad("line_amount_decimal_point", patch(ok[1], 101, b"000000050.00"))
    one_bad("line_minimum_zero", detail(num_documento="F001-00000002", pago_minimo=0))
    one_bad("line_minimum_above_total", detail(num_documento="F001-00000002", pago_minimo=10250))
    one_bad("line_period", patch(ok[1], 149, b"A1"))
    one_bad("line_year", detail(num_documento="F001-00000002", anio=1850))
    one_bad("line_installment", patch(ok[1], 155, b"1 "))
    one_bad("line_currency_code", patch(ok[1], 157, b"3"))
    one_bad("line_currency_product", detail(num_documento="F001-00000002", moneda_doc="2"))
    one_bad("line_dni_first_digit", patch(ok[1], 158, b"34785124"))
    one_bad("line_dni_length", patch(ok[1], 158, b"1478512 "))
    one_bad("line_ruc_length", patch(ok[1], 166, b"2010004721 "))
    one_bad("line_ruc_letters", patch(ok[1], 166, b"2010004721X"))
    one_bad("line_identifier_symbol", patch(ok[1], 177, b"CTA-778899    "))
    one_bad("line_document_repeated", ok[0])
    one_bad("line_document_descending", detail(num_documento="F001-00000000"))
    reappear = [ok[0], ok[2], detail(num_documento="F001-00000000"), detail(num_documento="F001-00000005")]
    whole("line_document_descending_later", reappear)
    c["line_blank"] = (NAME, [header([ok[0], b"", ok[2]]), ok[0], b"", ok[2]], {})
    return c


def main() -> None:
    for name, (file_name, lines, setup) in cases().items():
        folder = HERE / name
        if folder.exists():
            for old in folder.glob("*.TXT"):
                old.unlink()
        folder.mkdir(exist_ok=True)
        newline = b"\n" if setup.get("newline") == "LF" else b"\r\n"
        (folder / file_name).write_bytes(b"".join(line + newline for line in lines))
        setup = {k: v for k, v in setup.items() if k != "newline"}
        setup_file = folder / "setup.json"
        if setup:
            setup_file.write_text(json.dumps(setup) + "\n")
        elif setup_file.exists():
            setup_file.unlink()
    for stale in HERE.iterdir():
        if stale.is_dir() and stale.name not in cases() and stale.name != "__pycache__":
            shutil.rmtree(stale)


if __name__ == "__main__":
    main()
