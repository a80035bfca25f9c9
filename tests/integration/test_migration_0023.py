"""Migration 0023 on a database with payments and stored answers: each gets the day of its
fechaTxn (txn_at in America/Lima, also across UTC midnight), and a pago or reversa retried after
the migration finds the answer stored before it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import sqlalchemy as sa

from domain.yapago import PagoRequest, ReversaRequest
from sql.engine import create_engine
from sql.migrate import upgrade
from usecases.yapago import TRANSPORT_FIELDS, SetupCache, pago, request_sha256, reversa

NOW = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


def _pago(op: str, day: str, hour: str) -> PagoRequest:
    return PagoRequest.model_validate({
        "fechaTxn": day, "horaTxn": hour, "idCanal": "10", "idForma": "01", "numeroOperacion": op,
        "idConsulta": "C1", "servicio": "001", "numeroDocumento": "F-1", "importePagado": "10.00", "moneda": "1",
        "idEmpresa": "730", "idBanco": "1020",
    })  # fmt: skip


def _stored(op: str, kind: str, payment_id: int, request: PagoRequest | ReversaRequest) -> dict:
    answer = {"codResp": "00", "desResp": "Pago registrado", "numeroOperacion": op, "idPago": str(payment_id)}
    return {
        "bank_code": "1020", "operation_number": op, "operation": kind,
        # as stored before 0023, whose models had no fechaTxnPago
        "request_sha256": request_sha256(request, TRANSPORT_FIELDS | {"fechaTxnPago"}),
        "status_code": 200, "response": json.dumps(answer), "created_at": NOW,
    }  # fmt: skip


def _payment(payment_id: int, op: str, txn_at: datetime, status: str) -> dict:
    return {
        "id": payment_id, "company_code": 730, "service_code": "001", "bank_code": "1020", "operation_number": op,
        "channel": "10", "payment_method": "01", "query_id": "C1", "voucher": "", "client_code": "C1",
        "client_name": "CLIENTE", "document": "F-1", "due_date": date(2026, 12, 10), "currency": "1",
        "amount_cents": 1000, "validation_mode": "parcial", "txn_at": txn_at, "status": status, "created_at": NOW,
        "reversed_at": NOW if status == "A" else None,
    }  # fmt: skip


def test_rows_take_their_lima_day_and_retries_find_their_answers(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0022")
    engine = create_engine(empty_db_url)
    late = _pago("LATE", "05122026", "223000")  # 22:30 in Lima is 03:30 UTC on the 6th
    early = _pago("EARLY", "06122026", "003000")  # 00:30 in Lima is 05:30 UTC on the 6th
    undo = ReversaRequest.model_validate({
        "idEmpresa": "730", "idBanco": "1020", "numeroOperacion": "EARLY", "fechaTxn": "06122026",
        "horaTxn": "100000", "idCanal": "10", "servicio": "001", "numeroDocumento": "F-1",
    })  # fmt: skip
    payments = sa.table("payments", *(sa.column(c) for c in _payment(1, "", NOW, "P")))
    answers = sa.table("api_operations", *(sa.column(c) for c in _stored("", "", 0, late)))
    with engine.begin() as conn:
        conn.execute(sa.insert(payments), [
            _payment(1, "LATE", datetime(2026, 12, 6, 3, 30, tzinfo=UTC), "P"),
            _payment(2, "EARLY", datetime(2026, 12, 6, 5, 30, tzinfo=UTC), "A"),
        ])  # fmt: skip
        conn.execute(sa.insert(answers), [
            _stored("LATE", "pago", 1, late), _stored("EARLY", "pago", 2, early), _stored("EARLY", "reversa", 2, undo),
            {**_stored("GONE", "pago", 9, late), "created_at": datetime(2026, 12, 1, 2, 0, tzinfo=UTC)},
        ])  # fmt: skip
    upgrade(empty_db_url)
    with engine.connect() as conn:
        days = dict(conn.execute(sa.text("SELECT operation_number, txn_date FROM payments")).all())
        stored = {(r[0], r[1]): r[2] for r in conn.execute(
            sa.text("SELECT operation_number, operation, txn_date FROM api_operations")).all()}  # fmt: skip
    assert {op: str(day) for op, day in days.items()} == {"LATE": "2026-12-05", "EARLY": "2026-12-06"}
    assert {key: str(day) for key, day in stored.items()} == {
        ("LATE", "pago"): "2026-12-05", ("EARLY", "pago"): "2026-12-06", ("EARLY", "reversa"): "2026-12-06",
        ("GONE", "pago"): "2026-11-30",  # no payment: the Lima day it was received
    }  # fmt: skip
    setups, clock = SetupCache(engine), lambda: NOW
    retried = pago(engine, setups, late.model_copy(update={"horaTxn": "223500"}), clock)
    assert (retried.status, retried.body["idPago"], retried.body["codResp"]) == (200, "1", "00")
    after = pago(engine, setups, early, clock)  # reversed since: what is true now
    assert (after.status, after.body["codResp"], after.body["idPago"]) == (409, "42", "2")
    again = reversa(engine, setups, undo.model_copy(update={"horaTxn": "110000", "fechaTxnPago": "06122026"}), clock)
    assert (again.status, again.body["codResp"], again.body["idPago"]) == (200, "00", "2")
    engine.dispose()
