"""Payment files: golden bytes, exactly once across runs, days, regeneration and two generators."""

from __future__ import annotations

import os
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from domain.layouts.payments import PAYMENT
from domain.yapago import PagoRequest, ReversaRequest
from sql import payment_file_repository
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.uow import UnitOfWork
from tests.integration.test_debt_golden import DATA
from usecases import payment_files
from usecases.companies import seed_demo
from usecases.load_debts import load_debts
from usecases.payment_files import generate_payment_files, regenerate
from usecases.yapago import SetupCache, pago, reversa

GOLDEN = Path(__file__).resolve().parents[1] / "testdata" / "payments"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1" and not os.environ.get("CI")
DAY = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 10:00 in Lima


def at(hours: float) -> Any:
    return lambda: DAY + timedelta(hours=hours)


def pay(engine: Engine, op: str, amount: str, when: float, **changes: Any) -> dict:
    body = {
        "fechaTxn": "22112026", "horaTxn": "100500", "idCanal": "10", "idForma": "01", "numeroOperacion": op,
        "idConsulta": "4785124", "servicio": "001", "numeroDocumento": "F001-00000002", "importePagado": amount,
        "moneda": "1", "idEmpresa": "730", "idBanco": "1020",
    }  # fmt: skip
    body.update(changes)
    reply = pago(engine, SetupCache(engine, cutoff_hour=20), PagoRequest.model_validate(body), at(when))
    assert reply.body["codResp"] == "00", reply.body
    return reply.body


def undo(engine: Engine, op: str, when: float, **changes: Any) -> None:
    body = {
        "idEmpresa": "730", "idBanco": "1020", "numeroOperacion": op, "fechaTxn": "22112026", "horaTxn": "113000",
        "idCanal": "60", "servicio": "001", "numeroDocumento": "F001-00000002",
    }  # fmt: skip
    body.update(changes)
    reply = reversa(engine, SetupCache(engine, cutoff_hour=20), ReversaRequest.model_validate(body), at(when))
    assert reply.body["codResp"] == "00", reply.body


def world(url: str, root: Path) -> tuple[Engine, LocalFileStore]:
    upgrade(url)
    engine = create_engine(url)
    seed_demo(lambda: UnitOfWork(engine), DAY)
    store = LocalFileStore(root)
    (source,) = (DATA / "valid_r").glob("*.TXT")
    store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    load_debts(engine, store, lambda: DAY)
    return engine, store


def scenario(engine: Engine) -> None:
    """Three payments (one after the 20:00 cut-off, one in dollars, one parcial) and a reversal."""
    pay(engine, "A0154785", "20.00", 0)
    pay(engine, "000123", "2515.00", 1, idConsulta="20100047218", servicio="002", numeroDocumento="F002-00000100",
        moneda="2", horaTxn="110000", idForma="03", idCanal="60")  # fmt: skip
    pay(engine, "77", "5.00", 11, idConsulta="A1B2C3", servicio="003", numeroDocumento="P-77", horaTxn="205900")
    undo(engine, "A0154785", 2)


def test_golden_file(tmp_path: Path) -> None:
    engine, store = world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "x")
    scenario(engine)
    (result,) = generate_payment_files(engine, store, at(12))
    assert result.file_name == "P0073022112026001.TXT" and result.records == 4
    assert (result.total_pen, result.total_usd) == (500, 251500)  # 20.00 + 5.00 - 20.00; 2515.00
    data = (tmp_path / "x" / "00730" / "Pagos" / result.file_name).read_bytes()
    expected = GOLDEN / result.file_name
    if UPDATE:
        expected.write_bytes(data)
    assert data == expected.read_bytes()
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(len(line) == 236 for line in lines[:-1])
    records = [PAYMENT.parse(line, n)[0] for n, line in enumerate(lines[:-1], 1)]
    assert [(r["numero_operacion"], r["estado"]) for r in records] == [
        ("A0154785", "P"), ("000123", "P"), ("77", "P"), ("A0154785", "A"),
    ]  # fmt: skip
    first, dollars, late, reversal = records
    assert first["importe_pagado"] == 2000 and first["fecha_pago"].isoformat() == "2026-11-22"
    assert first["hora_pago"].isoformat() == "10:05:00" and first["fecha_contable"].isoformat() == "2026-11-22"
    assert dollars["codigo_producto"] == "002" and dollars["importe_pagado"] == 251500
    assert late["fecha_contable"].isoformat() == "2026-11-23", "booked 21:00 in Lima: after the 20:00 cut-off"
    assert reversal["hora_pago"].isoformat() == "11:30:00" and reversal["canal_pago"] == "60"
    assert first["codigo_cliente"] == "04785124" and first["nombre_cliente"] == "JUAN PEREZ"


HELD = sa.text(
    "SELECT r.payment_id, r.kind, f.id FROM payment_records r LEFT JOIN payment_files f"
    " ON f.company_code = r.company_code AND r.id > f.after_record_id AND r.id <= f.last_record_id"
    " ORDER BY r.kind, r.payment_id"
)


def items(engine: Engine) -> list[tuple]:
    """(payment, kind, file) of every booked record; file None while no file holds it."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(HELD)]


def test_every_record_in_exactly_one_file(tmp_path: Path) -> None:
    engine, store = world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "x")
    pay(engine, "OP1", "20.00", 0)
    (first,) = generate_payment_files(engine, store, at(1))
    assert generate_payment_files(engine, store, at(1.5)) == [], "nothing new: no file"
    undo(engine, "OP1", 2)
    pay(engine, "OP2", "15.00", 2)
    (second,) = generate_payment_files(engine, store, at(3))
    assert (first.file_name, second.file_name) == ("P0073022112026001.TXT", "P0073022112026002.TXT")
    assert second.records == 2
    pay(engine, "OP3", "10.00", 26)  # next day in Lima
    (next_day,) = generate_payment_files(engine, store, at(26))
    assert next_day.file_name == "P0073023112026001.TXT", "the sequence restarts each day"
    kinds = sorted((k for _, k, _ in items(engine)))
    assert kinds == ["A", "P", "P", "P"]
    assert len(set((p, k) for p, k, _ in items(engine))) == 4


def test_small_windows_and_two_pending_files_of_one_company(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering a window of 2 ids at a time, with two not-yet-uploaded files of the same
    company (two runs that reserved and crashed) gives the same bytes as one big window."""
    engine, store = world(empty_db_url, tmp_path / "x")
    scenario(engine)
    # two overlapping runs, each reserving a file and dying before writing it
    assert payment_files._reserve(engine, 730, at(12)) is not None
    pay(engine, "LATE1", "1.00", 12.5, idConsulta="A1B2C3", servicio="003", numeroDocumento="P-77")
    undo(engine, "LATE1", 12.6, servicio="003", numeroDocumento="P-77")
    pay(engine, "LATE2", "2.00", 12.7, idConsulta="A1B2C3", servicio="003", numeroDocumento="P-77")
    assert payment_files._reserve(engine, 730, at(13)) is not None
    monkeypatch.setattr(payment_file_repository, "WINDOW", 2)
    first, second = generate_payment_files(engine, store, at(14))
    assert (first.outcome, first.records, second.outcome, second.records) == ("RECUPERADO", 4, "RECUPERADO", 3)
    pagos = tmp_path / "x" / "00730" / "Pagos"
    assert (pagos / first.file_name).read_bytes() == (GOLDEN / "P0073022112026001.TXT").read_bytes()
    small = (pagos / second.file_name).read_bytes()
    assert [line[181:193].strip() + line[205:206] for line in small.split(b"\r\n")[:-1]] == [
        b"LATE1P",
        b"LATE1A",
        b"LATE2P",
    ]
    monkeypatch.setattr(payment_file_repository, "WINDOW", 20_000)
    (pagos / second.file_name).unlink()
    regenerate(engine, store, second.file_name)
    assert (pagos / second.file_name).read_bytes() == small
    engine.dispose()


def test_regenerate_and_dry_run(tmp_path: Path) -> None:
    engine, store = world(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "x")
    scenario(engine)
    dry = generate_payment_files(engine, store, at(12), dry_run=True)
    assert [(r.outcome, r.records) for r in dry] == [("SIMULADO", 4)]
    assert not (tmp_path / "x" / "00730" / "Pagos").exists()
    (result,) = generate_payment_files(engine, store, at(12))
    path = tmp_path / "x" / "00730" / "Pagos" / result.file_name
    original = path.read_bytes()
    path.unlink()
    regenerate(engine, store, result.file_name)
    assert path.read_bytes() == original


def test_two_generators_at_once(empty_db_url: str, tmp_path: Path) -> None:
    engine, _ = world(empty_db_url, tmp_path / "x")
    for n in range(20):
        pay(engine, f"T{n:03d}", "1.00", n / 100, idConsulta="A1B2C3", servicio="003", numeroDocumento="P-77")
    outcomes: list[Any] = []

    def run() -> None:
        own = create_engine(empty_db_url)
        outcomes.extend(generate_payment_files(own, LocalFileStore(tmp_path / "x"), at(1)))
        own.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = sorted(p.name for p in (tmp_path / "x" / "00730" / "Pagos").iterdir())
    assert files == ["P0073022112026001.TXT"]
    assert len(items(engine)) == 20
    data = (tmp_path / "x" / "00730" / "Pagos" / files[0]).read_bytes()
    assert data.count(b"\r\n") == 20
    engine.dispose()


def test_bookings_racing_the_generator_all_land_once(empty_db_url: str, tmp_path: Path) -> None:
    """Payments committed while files are being reserved: each record is in exactly one file
    on disk, none is skipped by a range that was reserved before it committed."""
    engine, store = world(empty_db_url, tmp_path / "x")
    stop = threading.Event()
    errors: list[BaseException] = []
    jitter = random.Random(7)
    slowed: list[str] = []

    @sa.event.listens_for(engine, "after_cursor_execute")
    def slow_commit(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """Widen the gap between a record's id and its commit, in a random order per booking."""
        if statement.startswith("INSERT INTO payment_records"):
            time.sleep(jitter.uniform(0, 0.05))
            slowed.append(statement)

    def book(worker: int) -> None:
        try:
            for n in range(25):
                pay(engine, f"W{worker}N{n:03d}", "1.00", n / 1000, idConsulta="A1B2C3", servicio="003",
                    numeroDocumento="P-77")  # fmt: skip
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    def generate() -> None:
        own = create_engine(empty_db_url)
        hour = 1.0
        while not stop.is_set():
            generate_payment_files(own, store, at(hour))
            hour += 0.01  # each run may name a new file; the day stays the same
        own.dispose()

    generator = threading.Thread(target=generate)
    generator.start()
    bookers = [threading.Thread(target=book, args=(w,)) for w in range(4)]
    for thread in bookers:
        thread.start()
    for thread in bookers:
        thread.join()
    stop.set()
    generator.join()
    generate_payment_files(engine, store, at(2))
    assert not errors, errors
    assert len(slowed) == 100, "every booking went through the delay"
    lines = [
        line
        for path in sorted((tmp_path / "x" / "00730" / "Pagos").iterdir())
        for line in path.read_bytes().split(b"\r\n")[:-1]
    ]
    operations = sorted(PAYMENT.parse(line, 1)[0]["numero_operacion"] for line in lines)
    assert operations == sorted(f"W{w}N{n:03d}" for w in range(4) for n in range(25))
    assert all(file_id is not None for _, _, file_id in items(engine))
    engine.dispose()
