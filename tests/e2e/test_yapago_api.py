"""YAPAGO over real HTTP on the local host, against SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import temporary_database
from tests.e2e.yapago_host import YapagoHost, start_yapago_host, stop_host

CONSULTA = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}


def pago(op: str, amount: Any = "20.00", **changes: Any) -> dict[str, Any]:
    body = {
        "fechaTxn": "22112026", "horaTxn": "180520", "idCanal": "10", "idForma": "01", "numeroOperacion": op,
        "idConsulta": "4785124", "servicio": "001", "numeroDocumento": "F001-00000002", "importePagado": amount,
        "moneda": "1", "idEmpresa": "730", "idBanco": "1020", "voucher": "", "referenciaDeuda": 2,
    }  # fmt: skip
    body.update(changes)
    return body


def reversa(op: str, **changes: Any) -> dict[str, Any]:
    body = {
        "idEmpresa": "730", "idBanco": "1020", "numeroOperacion": op, "fechaTxn": "22112026", "horaTxn": "181000",
        "idCanal": "10", "servicio": "001", "numeroDocumento": "F001-00000002",
    }  # fmt: skip
    body.update(changes)
    return body


def balances(host: YapagoHost, **changes: Any) -> dict[str, tuple[str, str]]:
    answer = host.post("consulta", {**CONSULTA, **changes}).json()
    return {d["documento"]: (d["deuda"], d["pagoMinimo"]) for d in answer.get("deudas", [])}


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, azurite: str
) -> Iterator[YapagoHost]:
    work = tmp_path_factory.mktemp("yapago")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{work / 'app.db'}"
        else:
            url = stack.enter_context(temporary_database(request.getfixturevalue("pg_url")))
        running = start_yapago_host(work, url, azurite)
        yield running
        stop_host(running)


def test_consulta_shape_order_and_leading_zeros(host: YapagoHost) -> None:
    r = host.post("consulta", CONSULTA)
    assert r.status_code == 200
    body = r.json()
    assert body["codResp"] == "00" and body["desResp"] == "Ok" and body["cliente"] == "JUAN PEREZ"
    first = body["deudas"][0]
    assert set(first) == {"idDeuda", "servicio", "documento", "descripcionDoc", "fechaVencimiento", "fechaEmision",
                          "deuda", "pagoMinimo", "moneda"}  # fmt: skip
    assert first["documento"] == "F001-00000001" and first["fechaVencimiento"] == "10122026"
    assert first["deuda"] == "102.49" and first["pagoMinimo"] == "102.49" and first["moneda"] == "1"
    for query_id in ("04785124", "000004785124", "14785124"):  # client code with or without zeros, DNI
        assert host.post("consulta", {**CONSULTA, "idConsulta": query_id}).json()["cliente"] == "JUAN PEREZ"
    by_ruc = host.post("consulta", {**CONSULTA, "idConsulta": "20100047218"}).json()
    assert [d["documento"] for d in by_ruc["deudas"]] == ["F002-00000100"] and by_ruc["deudas"][0]["moneda"] == "2"
    assert host.post("consulta", {**CONSULTA, "idConsulta": "CTA778899"}).json()["cliente"] == "COMERCIAL ANDINA S.A."
    only = host.post("consulta", {**CONSULTA, "servicio": "002", "idConsulta": "20100047218"}).json()
    assert only["codResp"] == "00"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**CONSULTA, "idConsulta": "99999999"}, 404, "30"),
        ({**CONSULTA, "idEmpresa": "732"}, 404, "20"),
        ({**CONSULTA, "idEmpresa": "731"}, 404, "30"),
        ({**CONSULTA, "idEmpresa": "731", "servicio": "002"}, 404, "21"),
        ({**CONSULTA, "servicio": "004"}, 404, "30"),
        ({**CONSULTA, "idBanco": "9999"}, 404, "22"),
        ({**CONSULTA, "tipoConsulta": 1}, 400, "11"),
        ({k: v for k, v in CONSULTA.items() if k != "idBanco"}, 400, "11"),
        ({**CONSULTA, "idEmpresa": True}, 400, "11"),
    ],
)
def test_consulta_refusals(host: YapagoHost, body: dict, status: int, code: str) -> None:
    r = host.post("consulta", body)
    assert (r.status_code, r.json()["codResp"]) == (status, code), r.text
    assert r.json()["desResp"]


def test_pay_replay_conflict_reverse_restores(host: YapagoHost) -> None:
    op = f"P{uuid.uuid4().hex[:10]}"
    assert balances(host)["F001-00000002"] == ("50.00", "10.00")
    first = host.post("pago", pago(op))
    assert first.status_code == 200 and first.json()["codResp"] == "00" and first.json()["numeroOperacion"] == op
    assert balances(host)["F001-00000002"] == ("30.00", "10.00")
    replay = host.post("pago", pago(op))
    assert replay.json() == first.json() and replay.status_code == 200
    assert balances(host)["F001-00000002"] == ("30.00", "10.00"), "a replay changes nothing"
    conflict = host.post("pago", pago(op, "21.00"))
    assert (conflict.status_code, conflict.json()["codResp"]) == (409, "40")
    too_much = host.post("pago", pago(f"X{op}", "30.01"))
    assert (too_much.status_code, too_much.json()["codResp"]) == (422, "34")
    assert "30.00" in too_much.json()["desResp"]
    too_little = host.post("pago", pago(f"Y{op}", "9.99"))
    assert (too_little.status_code, too_little.json()["codResp"]) == (422, "33")

    undo = host.post("reversa", reversa(op))
    assert (
        undo.status_code == 200 and undo.json()["codResp"] == "00" and undo.json()["idPago"] == first.json()["idPago"]
    )
    assert balances(host)["F001-00000002"] == ("50.00", "10.00")
    assert host.post("reversa", reversa(op)).json() == undo.json(), "a reversa replay is idempotent"
    assert balances(host)["F001-00000002"] == ("50.00", "10.00")
    retried = host.post("reversa", reversa(op, horaTxn="181500", fechaTxn="23112026", idCanal="20"))
    assert retried.json() == undo.json(), "a reversa retried with new transport fields: its first answer"
    assert balances(host)["F001-00000002"] == ("50.00", "10.00")
    unknown = host.post("reversa", reversa(f"N{op}"))
    assert (unknown.status_code, unknown.json()["codResp"]) == (404, "41")
    wrong_doc = host.post("reversa", reversa(op, numeroDocumento="F001-00000001", horaTxn="181600"))
    assert (wrong_doc.status_code, wrong_doc.json()["codResp"]) == (404, "41")
    after = host.post("pago", pago(op))
    assert (after.status_code, after.json()["codResp"]) == (409, "42"), "a pago retried after its reversal"
    assert after.json()["idPago"] == first.json()["idPago"] and "extornado" in after.json()["desResp"]
    assert balances(host)["F001-00000002"] == ("50.00", "10.00")


def test_full_payment_then_already_paid(host: YapagoHost) -> None:
    op = f"F{uuid.uuid4().hex[:10]}"
    body = pago(op, 102.49, numeroDocumento="F001-00000001")
    assert host.post("pago", body).json()["codResp"] == "00"
    assert "F001-00000001" not in balances(host)
    again = host.post("pago", pago(f"G{op}", "1.00", numeroDocumento="F001-00000001"))
    assert (again.status_code, again.json()["codResp"]) == (409, "32")
    assert host.post("reversa", reversa(op, numeroDocumento="F001-00000001")).json()["codResp"] == "00"
    assert balances(host)["F001-00000001"] == ("102.49", "102.49")


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"importePagado": 10.001}, 400, "12"),
        ({"importePagado": "10.001"}, 400, "12"),
        ({"importePagado": 0}, 400, "12"),
        ({"importePagado": -5}, 400, "12"),
        ({"importePagado": "diez"}, 400, "12"),
        ({"importePagado": None}, 400, "12"),
        ({"moneda": "2"}, 422, "35"),
        ({"moneda": "3"}, 400, "11"),
        ({"idEmpresa": "732"}, 404, "20"),
        ({"idEmpresa": "731", "servicio": "002"}, 404, "21"),
        ({"servicio": "004", "moneda": "2"}, 404, "31"),
        ({"idBanco": "9999"}, 404, "22"),
        ({"numeroDocumento": "NOPE-1"}, 404, "31"),
        ({"idConsulta": "55555555"}, 404, "31"),
        ({"fechaTxn": "31022026"}, 400, "11"),
        ({"horaTxn": "250000"}, 400, "11"),
        ({"numeroOperacion": ""}, 400, "11"),
        ({"servicio": 5}, 400, "11"),
        ({"idCanal": "11"}, 400, "11"),
    ],
)
def test_pago_refusals(host: YapagoHost, changes: dict, status: int, code: str) -> None:
    op = f"R{uuid.uuid4().hex[:10]}"
    r = host.post("pago", pago(op, **changes))
    assert (r.status_code, r.json()["codResp"]) == (status, code), r.text
    assert balances(host)["F001-00000002"] == ("50.00", "10.00"), "a refusal changes nothing"


def test_missing_field_is_named(host: YapagoHost) -> None:
    body = pago("M1")
    del body["numeroDocumento"]
    r = host.post("pago", body)
    assert r.json() == {"codResp": "11", "desResp": "falta el campo numeroDocumento"}


@pytest.mark.parametrize(
    ("raw", "code"), [(b"{bad json", "10"), (b"", "10"), (b"[1,2]", "10"), ('{"a": "\u00f1"}'.encode("latin-1"), "10")]
)
def test_malformed_bodies(host: YapagoHost, raw: bytes, code: str) -> None:
    r = host.post("pago", raw, **{"Content-Type": "application/json"})
    assert (r.status_code, r.json()["codResp"]) == (400, code)


def test_parcial_service_keeps_no_balance(host: YapagoHost) -> None:
    query = {**CONSULTA, "idConsulta": "A1B2C3"}
    before = balances(host, **{"idConsulta": "A1B2C3"})
    assert before == {"P-77": ("0.01", "0.01")}
    op = f"Q{uuid.uuid4().hex[:10]}"
    body = pago(op, "500.00", idConsulta="A1B2C3", servicio="003", numeroDocumento="P-77")
    assert host.post("pago", body).json()["codResp"] == "00"  # any positive amount
    assert balances(host, **{"idConsulta": "A1B2C3"}) == before
    assert host.post("consulta", query).json()["codResp"] == "00"


def test_auth_errors_in_yapago_shape(host: YapagoHost) -> None:
    import httpx

    r = httpx.post(f"{host.base}/yapago/consulta", json=CONSULTA)
    assert (r.status_code, r.json()["codResp"]) == (401, "90")
    r = httpx.post(f"{host.base}/yapago/consulta", json=CONSULTA, headers={"Authorization": "Bearer x.y.z"})
    assert (r.status_code, r.json()["codResp"]) == (401, "90")


def test_payment_keeps_the_debt_data_and_lands_in_sql(host: YapagoHost) -> None:
    op = f"S{uuid.uuid4().hex[:10]}"
    assert host.post("pago", pago(op, "15.50")).json()["codResp"] == "00"
    engine = sa.create_engine(host.env["SQL_URL"])
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT client_code, client_name, document, due_date, amount_cents, status, currency, txn_at "
                    "FROM payments WHERE operation_number = :op"), {"op": op}
        ).one()  # fmt: skip
    engine.dispose()
    assert row.client_code == "04785124" and row.client_name == "JUAN PEREZ" and row.document == "F001-00000002"
    assert str(row.due_date) == "2026-12-10" and row.amount_cents == 1550 and row.status == "P" and row.currency == "1"
    assert "23:05:20" in str(row.txn_at)  # 18:05:20 in Lima is 23:05:20 UTC
    assert host.post("reversa", reversa(op)).json()["codResp"] == "00"


def test_openapi_document_is_served_and_checked_in(host: YapagoHost) -> None:
    import httpx

    from domain.yapago_openapi import openapi_document

    served = httpx.get(f"{host.base}/yapago/openapi.json").json()
    assert served == openapi_document()
    checked_in = Path(__file__).resolve().parents[2] / "docs" / "yapago-openapi.json"
    import json

    assert json.loads(checked_in.read_text()) == served, "regenerate docs/yapago-openapi.json"
    assert served["openapi"] == "3.1.0" and "/yapago/pago" in served["paths"]


def test_payment_file_holds_exactly_the_api_operations(host: YapagoHost) -> None:
    """Debt file -> loader -> pago and reversa over HTTP -> generator -> the file in Pagos/."""
    from domain.layouts.payments import PAYMENT

    host.manage("generate-payments")  # whatever earlier tests left
    kept, undone = f"K{uuid.uuid4().hex[:8]}", f"U{uuid.uuid4().hex[:8]}"
    assert host.post("pago", pago(kept, "11.00")).json()["codResp"] == "00"
    assert host.post("pago", pago(undone, "12.00")).json()["codResp"] == "00"
    assert host.post("reversa", reversa(undone)).json()["codResp"] == "00"
    printed = host.manage("generate-payments")
    assert "3 records: 2 payments PEN 23.00 USD 0.00, 1 reversals PEN 12.00 USD 0.00; net PEN 11.00" in printed, printed
    name = printed.split()[1]
    data = (Path(host.env["SFTP_URL"].removeprefix("file://")) / "00730" / "Pagos" / name).read_bytes()
    records = [PAYMENT.parse(line)[0] for line in data.split(b"\r\n") if line]
    assert [(r["numero_operacion"], r["estado"], r["importe_pagado"]) for r in records] == [
        (kept, "P", 1100), (undone, "P", 1200), (undone, "A", 1200),
    ]  # fmt: skip
    assert "no new payments" in host.manage("generate-payments")
    assert host.post("reversa", reversa(kept)).json()["codResp"] == "00"


def test_generate_payments_command_options(host: YapagoHost) -> None:
    host.manage("generate-payments")
    op = f"C{uuid.uuid4().hex[:8]}"
    assert host.post("pago", pago(op, "10.00")).json()["codResp"] == "00"
    assert "would write 1 records (dry run)" in host.manage("generate-payments", "--dry-run")
    assert "no new payments" in host.manage("generate-payments", "--since", "2999-01-01T00:00:00-05:00")
    printed = host.manage("generate-payments", "--company", "730")
    name = printed.split()[1]
    path = Path(host.env["SFTP_URL"].removeprefix("file://")) / "00730" / "Pagos" / name
    original = path.read_bytes()
    path.unlink()
    assert "REGENERADO" in host.manage("generate-payments", "--regenerate", name)
    assert path.read_bytes() == original
    assert host.post("reversa", reversa(op)).json()["codResp"] == "00"


def test_a_client_bound_to_a_bank_cannot_act_for_another(host: YapagoHost) -> None:
    import httpx

    from tests.e2e.yapago_host import BANK_SECRET

    token = httpx.post(f"{host.base}/yapago/autenticar", json={"client_id": "bank-1030", "client_secret": BANK_SECRET})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for route, body in (("consulta", CONSULTA), ("pago", pago("BOUND1")), ("reversa", reversa("BOUND1"))):
        r = httpx.post(f"{host.base}/yapago/{route}", json=body, headers=headers)
        assert (r.status_code, r.json()["codResp"]) == (403, "23"), r.text
    own = httpx.post(f"{host.base}/yapago/consulta", json={**CONSULTA, "idBanco": "1030"}, headers=headers)
    assert own.json()["codResp"] == "22", "its own bank passes the binding (and has no account here)"


def biller_file(code: int, seq: int, cents: int) -> tuple[str, bytes]:
    """An R file of company `code` with one debt (client 4785124, F001-00000009) at `cents`, made now."""
    from datetime import UTC, date, datetime

    from domain.layouts.debts import DETAIL, HEADER
    from domain.yapago import LIMA

    now = datetime.now(UTC).astimezone(LIMA).replace(microsecond=0)
    name = f"D{code:05d}{now:%d%m%Y}{seq:03d}.TXT"
    line = DETAIL.format(dict(
        tipo_actualizacion="N", codigo_cliente="04785124", nombre_cliente="JUAN PEREZ", codigo_producto="001",
        num_documento="F001-00000009", desc_documento="Factura", fecha_vencimiento=date(2026, 12, 31),
        fecha_emision=date(2026, 11, 10), deuda=cents, mora=0, gastos_adm=0, pago_minimo=1, periodo=11, anio=2026,
        cuota=1, moneda_doc="1", dni="", ruc="", identificador_04="", filler="",
    ))  # fmt: skip
    head = HEADER.format(dict(
        nombre_archivo=name, tipo_actualizacion="R", codigo_empresa=code, fecha_transmision=now.date(),
        hora_transmision=now.time(), numero_registros=1, importe_total_soles=cents, importe_total_dolares=0, filler="",
        mac=0,
    ))  # fmt: skip
    return name, head + b"\r\n" + line + b"\r\n"


def test_a_reload_before_the_biller_took_its_payment_file(host: YapagoHost) -> None:
    """Issue 29 by hand: 100.00 completa, pago 60.00, the P file written, the biller (which has not
    applied it) sends 100.00 again: 40.00 is what is left to pay, not 100.00. Then it takes the file."""
    import time

    # 741: a company no other test here names (the hosts remember for 30 s that one does not exist)
    host.manage("create-company", "--code", "741", "--name", "LUZ SA", "--service", "001:completa",
                "--account", "001:1020:191-0741001-0-01")  # fmt: skip
    exchange = Path(host.env["SFTP_URL"].removeprefix("file://"))
    pending = exchange / "00741" / "Deudas" / "Pending"
    mine = {"idEmpresa": "741", "numeroDocumento": "F001-00000009", "referenciaDeuda": 9}
    name, data = biller_file(741, 1, 10000)
    (pending / name).write_bytes(data)
    assert "PROCESADO" in host.manage("load-debts", "--company", "741")
    assert host.post("pago", pago(f"S{uuid.uuid4().hex[:8]}", "60.00", **mine)).json()["codResp"] == "00"
    (written,) = [line.split()[1] for line in host.manage("generate-payments", "--company", "741").splitlines()]
    listed = host.manage("payments", "--company", "741")
    assert written in listed and "in Pagos/, counts against reloads until taken or" in listed, listed
    time.sleep(1.1)  # the next file's header is a second later than the payment file
    name, data = biller_file(741, 2, 10000)
    (pending / name).write_bytes(data)
    assert "PROCESADO" in host.manage("load-debts", "--company", "741")
    offered = host.post("consulta", {**CONSULTA, "idEmpresa": "741"}).json()
    assert [d["deuda"] for d in offered["deudas"]] == ["40.00"], offered
    refused = host.post("pago", pago(f"S{uuid.uuid4().hex[:8]}", "100.00", **mine))
    assert (refused.status_code, refused.json()["codResp"]) == (422, "34")
    assert host.post("pago", pago(f"S{uuid.uuid4().hex[:8]}", "40.00", **mine)).json()["codResp"] == "00"
    assert host.post("consulta", {**CONSULTA, "idEmpresa": "741"}).json()["codResp"] == "30"
    (exchange / "00741" / "Pagos" / written).unlink()  # the biller applied and took it
    swept = host.manage("sweep-payment-files", "--company", "741")
    assert f"00741 {written} taken (seen gone" in swept and "1 taken now, 0 still in Pagos/" in swept, swept
    assert "taken (seen gone" in host.manage("payments", "--company", "741")
