"""Dispersion, retry and response layouts: golden files byte for byte, and the reason catalogue."""

from __future__ import annotations

import os
from datetime import date, time
from pathlib import Path

import pytest

from domain.fixedwidth import FormatError
from domain.layouts.disbursements import (
    DISPERSION_DETAIL,
    DISPERSION_HEADER,
    DISPERSION_TRAILER,
    RESPONSE,
    retryable,
)
from domain.lending.clabe import make_clabe

GOLDEN = Path(__file__).resolve().parents[1] / "testdata" / "disbursements"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1" and not os.environ.get("CI")
DETAILS = [
    {"id_transaccion": "c435ea8d-c408-4cc2-8a01-02b0bf9efae9", "clabe_destino": make_clabe("012", "180", "1000000001"),
     "nombre_beneficiario": "KOF MEXICO SA DE CV", "importe": 125050, "moneda": "MXN", "referencia": 1001,
     "concepto": "Pedido KOF-1001", "fecha_valor": date(2026, 11, 23), "intento": 0},
    {"id_transaccion": "0b0f5d7e-1111-4c2e-9a01-5f2b0bf9e000", "clabe_destino": make_clabe("072", "180", "1000000002"),
     "nombre_beneficiario": "PRONTO", "importe": 9990, "moneda": "MXN", "referencia": 1002,
     "concepto": "Pedido P-77", "fecha_valor": date(2026, 11, 23), "intento": 1},
]  # fmt: skip


def dispersion(name: str, kind: str) -> bytes:
    lines = [DISPERSION_HEADER.format({"tipo_registro": "H", "nombre_archivo": name,
                                        "fecha_generacion": date(2026, 11, 22), "hora_generacion": time(18, 5, 0),
                                        "tipo_archivo": kind, "filler": ""})]  # fmt: skip
    lines += [DISPERSION_DETAIL.format({"tipo_registro": "D", **d, "filler": ""}) for d in DETAILS]
    lines.append(DISPERSION_TRAILER.format({"tipo_registro": "T", "numero_registros": len(DETAILS),
                                            "importe_total": sum(d["importe"] for d in DETAILS), "filler": ""}))  # fmt: skip
    return b"".join(line + b"\r\n" for line in lines)


def golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_bytes(data)
    assert data == path.read_bytes(), name


def test_dispersion_and_retry_files() -> None:
    golden("DISP_20261122_180500_001.TXT", dispersion("DISP_20261122_180500_001.TXT", "D"))
    golden("REIN_20261122_180500_001.TXT", dispersion("REIN_20261122_180500_001.TXT", "R"))
    first = (GOLDEN / "DISP_20261122_180500_001.TXT").read_bytes().split(b"\r\n")[1]
    parsed, errors = DISPERSION_DETAIL.parse(first, 2)
    assert not errors and parsed is not None
    assert (parsed["clabe_destino"], parsed["importe"], parsed["fecha_valor"]) == (
        DETAILS[0]["clabe_destino"], 125050, date(2026, 11, 23))  # fmt: skip


def test_response_file() -> None:
    rows = [
        {"id_transaccion": DETAILS[0]["id_transaccion"], "estatus": "P", "codigo_motivo": "00",
         "clave_rastreo": "BBVA20261123000001", "fecha_operacion": date(2026, 11, 23), "intento": 0, "filler": ""},
        {"id_transaccion": DETAILS[1]["id_transaccion"], "estatus": "R", "codigo_motivo": "13",
         "clave_rastreo": "", "fecha_operacion": date(2026, 11, 23), "intento": 1, "filler": ""},
    ]  # fmt: skip
    golden("RESP_20261123_070000_001.TXT", b"".join(RESPONSE.format(r) + b"\r\n" for r in rows))
    lines = (GOLDEN / "RESP_20261123_070000_001.TXT").read_bytes().split(b"\r\n")[:-1]
    assert [RESPONSE.parse(line, n)[0]["codigo_motivo"] for n, line in enumerate(lines, 1)] == ["00", "13"]


def test_names_with_accents_are_refused_not_mangled() -> None:
    with pytest.raises(FormatError, match="nombre_beneficiario"):
        DISPERSION_DETAIL.format(
            {"tipo_registro": "D", **DETAILS[0], "nombre_beneficiario": "PEÑA Y CÍA", "filler": ""}
        )


def test_reason_catalogue() -> None:
    assert retryable("13") and retryable("99") and retryable("02")
    assert not retryable("01") and not retryable("03") and not retryable("77")
