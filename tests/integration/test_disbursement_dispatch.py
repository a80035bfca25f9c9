"""Dispersion files: every approved purchase in exactly one file on the exchange, across runs,
crashes at each step and two dispatchers at once; bytes rendered from SQL alone."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from adapters.files.port import FileStore
from domain.layouts.disbursements import DISPERSION_DETAIL, DISPERSION_HEADER, DISPERSION_TRAILER
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.tables import lending_purchases
from tests.conftest import sftp_exchange
from usecases.disbursements import bank_text, dispatch_disbursements
from usecases.lending import register_order, save_customer, seed_lending_demo

T0 = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def approved(engine: Engine, amount: str, concept: str = "Pedido") -> str:
    """An APPROVED purchase (the flow that gets there is tested in test_lending_flow.py)."""
    order_id, purchase_id = f"O-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    register_order(engine, "KOF", order_id, "CUST-001", Decimal(amount), concept, "kof", T0)
    with engine.begin() as conn:
        order_ref = conn.execute(sa.text("SELECT id FROM lending_orders WHERE order_id = :o"), {"o": order_id}).scalar()
        clabe = conn.execute(sa.text("SELECT clabe FROM lending_channels WHERE channel = 'KOF'")).scalar()
        conn.execute(sa.insert(lending_purchases).values(
            id=purchase_id, order_ref=order_ref, channel="KOF", customer_id="CUST-001", amount=Decimal(amount),
            amount_cents=int(Decimal(amount) * 100), concept=concept, operation="COMPRA_LINEA_CREDITO", clabe=clabe,
            state="APPROVED", reason="approved", created_at=T0, updated_at=T0))  # fmt: skip
    return purchase_id


@pytest.fixture
def world(empty_db_url: str, tmp_path: Path) -> tuple[Engine, LocalFileStore, Path]:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    seed_lending_demo(engine, T0)
    save_customer(engine, "CUST-001", "+525500000001", T0)
    yield engine, LocalFileStore(tmp_path / "x"), tmp_path / "x" / "dispersiones" / "pendientes"
    engine.dispose()


def parse(path: Path) -> tuple[dict, list[dict], dict]:
    lines = path.read_bytes().split(b"\r\n")
    assert lines[-1] == b""
    header, *details, trailer = lines[:-1]
    parsed = [DISPERSION_DETAIL.parse(line, n)[0] for n, line in enumerate(details, 2)]
    return DISPERSION_HEADER.parse(header, 1)[0], parsed, DISPERSION_TRAILER.parse(trailer, len(lines) - 1)[0]


def test_each_approved_purchase_in_one_file(world: tuple) -> None:
    engine, store, folder = world
    first = [approved(engine, "1250.50", "Pedido niño ÑANDÚ"), approved(engine, "99.90")]
    (result,) = dispatch_disbursements(engine, store, lambda: T0)
    assert result.file_name.startswith("DISP_20261122_120000_") and (result.records, result.total_cents) == (2, 135040)
    header, details, trailer = parse(folder / result.file_name)
    assert header["tipo_archivo"] == "D" and trailer == {**trailer, "numero_registros": 2, "importe_total": 135040}
    assert sorted(d["id_transaccion"] for d in details) == sorted(first)
    assert {d["concepto"] for d in details} == {"PEDIDO NINO NANDU", "PEDIDO"}
    assert all(d["nombre_beneficiario"] == "KOF MEXICO" and d["intento"] == 0 for d in details)
    assert dispatch_disbursements(engine, store, lambda: T0 + timedelta(minutes=1)) == []
    later = approved(engine, "10.00")
    (second,) = dispatch_disbursements(engine, store, lambda: T0 + timedelta(minutes=2))
    assert [d["id_transaccion"] for d in parse(folder / second.file_name)[1]] == [later]
    with engine.connect() as conn:
        states = conn.execute(sa.text("SELECT DISTINCT state FROM lending_purchases")).scalars().all()
    assert states == ["DISBURSING"]


@pytest.fixture(params=["file", "sftp"])
def exchange(request: pytest.FixtureRequest, world: tuple) -> tuple[FileStore, Path]:
    """The exchange as a local folder, or the same kind of folder behind a real sshd."""
    if request.param == "file":
        return world[1], world[2]
    store, folder = sftp_exchange(request.getfixturevalue("sshd"))
    return store, folder / "dispersiones" / "pendientes"


@pytest.mark.parametrize("step", ["reserved", "staged", "uploaded", "marked"])
def test_a_crash_at_each_step_ends_with_the_same_file_once(world: tuple, exchange: tuple, step: str) -> None:
    engine = world[0]
    store, folder = exchange
    ids = [approved(engine, "5.00"), approved(engine, "7.25")]

    def crash(at: str) -> None:
        if at == step:
            raise RuntimeError(f"crash at {step}")

    with pytest.raises(RuntimeError):
        dispatch_disbursements(engine, store, lambda: T0, checkpoint=crash)
    written = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}
    results = dispatch_disbursements(engine, store, lambda: T0 + timedelta(minutes=5))
    files = sorted(folder.iterdir())
    assert len(files) == 1, "one file, whatever the step"
    assert sorted(d["id_transaccion"] for d in parse(files[0])[1]) == sorted(ids)
    if written:
        assert files[0].read_bytes() == next(iter(written.values())), "rewritten byte for byte"
    assert [r.recovered for r in results] == ([True] if step != "marked" else [])
    # a file that had reached the folder is found there and marked, never written again
    assert [r.outcome for r in results] == {"reserved": ["written"], "staged": ["written"], "uploaded": ["found"],
                                            "marked": []}[step]  # fmt: skip


def test_two_dispatchers_at_once(world: tuple, empty_db_url: str) -> None:
    engine, store, folder = world
    ids = [approved(engine, "1.00") for _ in range(30)]

    def run(n: int) -> None:
        own = create_engine(empty_db_url)
        dispatch_disbursements(own, store, lambda: T0)  # the same second: names must still differ
        own.dispose()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [d["id_transaccion"] for path in folder.iterdir() for d in parse(path)[1]]
    assert sorted(sent) == sorted(ids), "each purchase in exactly one file"


def test_bank_text() -> None:
    assert bank_text("Distribuidora Peña & Cía. (Norte)") == "DISTRIBUIDORA PENA CIA. NORTE"
    assert len(bank_text("x" * 80)) == 40 and bank_text("ñ€") == "N" and bank_text("€") == "SIN DATO"
