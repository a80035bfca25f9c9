"""Issue 29, fault 2: one idConsulta, one client.

`12345678` is a client code of company 733 and the DNI of its client B0001: the consulta
answered both clients' debts under one name, and a pago could pay B0001's document. Over real
HTTP on the local host, SQLite and PostgreSQL: the client code wins (in any service), else the
DNI / RUC / Identificador 04; identifiers naming several clients answer 36, never a mix.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.e2e.test_yapago_api import host, pago  # noqa: F401 - the fixture
from tests.e2e.yapago_host import SHARED, YapagoHost, add_shared_id_company

CONSULTA = {"tipoConsulta": 0, "idEmpresa": str(SHARED), "idBanco": "1020", "idCanal": "10"}


@pytest.fixture(scope="module")
def shared(host: YapagoHost) -> Iterator[YapagoHost]:  # noqa: F811
    add_shared_id_company(host)
    yield host


def consulta(host: YapagoHost, query_id: str, **changes: Any) -> Any:  # noqa: F811
    return host.post("consulta", {**CONSULTA, "idConsulta": query_id, **changes})


def debts_of(host: YapagoHost, query_id: str) -> tuple[str, list[tuple[str, str]]]:  # noqa: F811
    answer = consulta(host, query_id)
    assert answer.status_code == 200, answer.text
    return answer.json()["cliente"], [(d["documento"], d["deuda"]) for d in answer.json()["deudas"]]


def paying(query_id: str, document: str, amount: str, service: str = "001", **changes: Any) -> dict[str, Any]:
    return pago(f"O{uuid.uuid4().hex[:11]}", amount, idEmpresa=str(SHARED), idConsulta=query_id, servicio=service,
                numeroDocumento=document, moneda="2" if service == "002" else "1", referenciaDeuda=None,
                **changes)  # fmt: skip


def payment_row(host: YapagoHost, operation: str) -> Any:  # noqa: F811
    engine = sa.create_engine(host.env["SQL_URL"])
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT client_code, document, amount_cents FROM payments"
                                   " WHERE operation_number = :op"), {"op": operation}).first()  # fmt: skip
    engine.dispose()
    return row


def test_a_client_code_that_is_another_client_s_dni_answers_that_client_only(shared: YapagoHost) -> None:
    assert debts_of(shared, "12345678") == ("CLIENTE 12345678", [("F002-00000001", "100.00")])
    assert debts_of(shared, "0012345678") == debts_of(shared, "12345678"), "zeros ignored"
    assert debts_of(shared, "B0001") == ("CLIENTE B0001", [("F001-00000001", "50.00"), ("F001-00000002", "30.00")])
    # the precedence does not depend on the service asked: 12345678 has no soles debt, B0001 has
    only_soles = consulta(shared, "12345678", servicio="001")
    assert (only_soles.status_code, only_soles.json()["codResp"]) == (404, "30"), only_soles.text
    assert debts_of(shared, "20555555555") == ("CLIENTE 20555555555", [("F001-00000001", "60.00")])
    assert debts_of(shared, "B0002") == ("CLIENTE B0002", [("F001-00000001", "40.00")])


def test_identifiers_naming_several_clients_are_refused(shared: YapagoHost) -> None:
    both = consulta(shared, "23456789")  # the DNI of C0001 and of C0002
    assert (both.status_code, both.json()["codResp"]) == (409, "36"), both.text
    assert "codigo de cliente" in both.json()["desResp"] and "deudas" not in both.json()
    assert debts_of(shared, "C0001") == ("CLIENTE C0001", [("F001-00000001", "20.00")])
    zeros = consulta(shared, "777")  # codes 777 and 0000777: the same idConsulta once zeros are ignored
    assert (zeros.status_code, zeros.json()["codResp"]) == (409, "36"), zeros.text
    refused = shared.post("pago", paying("23456789", "F001-00000001", "5.00"))
    assert (refused.status_code, refused.json()["codResp"]) == (409, "36"), refused.text
    assert payment_row(shared, refused.json()["numeroOperacion"]) is None
    assert debts_of(shared, "C0001")[1] == [("F001-00000001", "20.00")]
    assert debts_of(shared, "C0002")[1] == [("F001-00000001", "25.00")]


def test_a_pago_pays_the_consulta_s_client_and_never_another_s_document(shared: YapagoHost) -> None:
    # 12345678's consulta shows no F001-00000002: that is B0001's, and the pago must not reach it
    other = shared.post("pago", paying("12345678", "F001-00000002", "30.00"))
    assert (other.status_code, other.json()["codResp"]) == (404, "31"), other.text
    assert payment_row(shared, other.json()["numeroOperacion"]) is None
    # both clients have an F001-00000001; B0002's (RUC 20555555555) was loaded first
    body = paying("20555555555", "F001-00000001", "10.00")
    assert shared.post("pago", body).json()["codResp"] == "00"
    row = payment_row(shared, body["numeroOperacion"])
    assert (row.client_code, row.document, row.amount_cents) == ("20555555555", "F001-00000001", 1000)
    assert debts_of(shared, "20555555555")[1] == [("F001-00000001", "50.00")]
    assert debts_of(shared, "B0002")[1] == [("F001-00000001", "40.00")], "the other client's balance is untouched"
    dollars = paying("12345678", "F002-00000001", "100.00", service="002")
    assert shared.post("pago", dollars).json()["codResp"] == "00"
    assert payment_row(shared, dollars["numeroOperacion"]).client_code == "12345678"
    assert consulta(shared, "12345678").json()["codResp"] == "30", "paid in full"
    assert debts_of(shared, "B0001")[1] == [("F001-00000001", "50.00"), ("F001-00000002", "30.00")]
    by_code = paying("B0001", "F001-00000001", "50.00")
    assert shared.post("pago", by_code).json()["codResp"] == "00"
    assert payment_row(shared, by_code["numeroOperacion"]).client_code == "B0001"
