"""Balance control under load: four worker processes on PostgreSQL, simultaneous requests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import temporary_database
from tests.e2e.test_yapago_api import CONSULTA, pago, reversa
from tests.e2e.yapago_host import YapagoHost, start_yapago_host, stop_host


@pytest.fixture(scope="module")
def pg_host(tmp_path_factory: pytest.TempPathFactory, azurite: str, pg_url: str) -> Iterator[YapagoHost]:
    with temporary_database(pg_url) as url:
        host = start_yapago_host(tmp_path_factory.mktemp("yapago-pg"), url, azurite, workers=4)
        yield host
        stop_host(host)


def all_at_once(calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls from as many threads, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(len(calls)) as pool:

        def run(call: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
            barrier.wait()
            return call(client)

        return list(pool.map(run, calls))


def poster(host: YapagoHost, route: str, body: dict[str, Any]) -> Callable[[httpx.Client], httpx.Response]:
    headers = {"Authorization": f"Bearer {host.token}"}
    return lambda client: client.post(f"{host.base}/yapago/{route}", json=body, headers=headers)


def ledger(host: YapagoHost, document: str) -> tuple[int, int, int]:
    """(total, paid on the debt, sum of active payments) straight from SQL."""
    engine = sa.create_engine(host.env["SQL_URL"])
    with engine.connect() as conn:
        total, paid = conn.execute(
            sa.text(
                "SELECT amount_cents + late_fee_cents + admin_fee_cents, paid_cents FROM debts WHERE document = :d"
            ),
            {"d": document},
        ).one()
        active = conn.execute(
            sa.text("SELECT coalesce(sum(amount_cents), 0) FROM payments WHERE document = :d AND status = 'P'"),
            {"d": document},
        ).scalar()
    engine.dispose()
    return total, paid, int(active)


def test_200_simultaneous_half_payments_exactly_two_succeed(pg_host: YapagoHost) -> None:
    calls = [poster(pg_host, "pago", pago(f"H{i:04d}", "25.00")) for i in range(200)]
    answers = all_at_once(calls)
    codes = [r.json()["codResp"] for r in answers]
    assert all(r.status_code < 500 for r in answers)
    assert codes.count("00") == 2, sorted(set(codes))
    assert set(codes) <= {"00", "32", "34"}
    total, paid, active = ledger(pg_host, "F001-00000002")
    assert (total, paid, active) == (5000, 5000, 5000), "balance 0, never negative"
    deudas = pg_host.post("consulta", CONSULTA).json()["deudas"]
    assert "F001-00000002" not in [d["documento"] for d in deudas]


def test_100_replays_make_one_payment(pg_host: YapagoHost) -> None:
    body = pago("REPLAY1", 102.49, numeroDocumento="F001-00000001")
    answers = all_at_once([poster(pg_host, "pago", body) for _ in range(100)])
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1, "every replay gets the first answer"
    engine = sa.create_engine(pg_host.env["SQL_URL"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payments WHERE operation_number = 'REPLAY1'")).scalar() == 1
    engine.dispose()
    assert ledger(pg_host, "F001-00000001") == (10249, 10249, 10249)


def test_payment_racing_its_reversa_ends_consistent(pg_host: YapagoHost) -> None:
    document = "F002-00000100"
    usd = {"idConsulta": "20100047218", "servicio": "002", "numeroDocumento": document, "moneda": "2"}
    for round_no in range(8):
        op = f"RACE{round_no}"
        pay, undo = all_at_once(
            [
                poster(pg_host, "pago", pago(op, "2515.00", **usd)),
                poster(pg_host, "reversa", reversa(op, servicio="002", numeroDocumento=document)),
            ]
        )
        assert pay.json()["codResp"] == "00", pay.text
        assert undo.json()["codResp"] in {"00", "41"}, undo.text
        total, paid, active = ledger(pg_host, document)
        assert paid == active and 0 <= paid <= total
        if undo.json()["codResp"] == "41":  # the reversa came first: it found nothing, the payment stands
            assert paid == 2515_00
            again = pg_host.post("reversa", reversa(op, servicio="002", numeroDocumento=document))
            assert again.json()["codResp"] == "00"
        assert ledger(pg_host, document) == (total, 0, 0)


def test_no_server_errors_were_logged(pg_host: YapagoHost) -> None:
    assert "Traceback" not in Path(pg_host.log).read_text()
