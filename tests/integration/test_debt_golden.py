"""Golden debt files: each folder of tests/testdata/debts is an input and its expected results.

UPDATE_GOLDEN=1 rewrites the expected .OK/.ERR (read the diff before committing; never in CI).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from domain.companies import build_company
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.uow import UnitOfWork
from usecases.load_debts import load_debts

DATA = Path(__file__).resolve().parents[1] / "testdata" / "debts"
CASES = sorted(p for p in DATA.iterdir() if p.is_dir() and p.name != "__pycache__")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1" and not os.environ.get("CI")
NOW = datetime(2026, 11, 22, 13, 30, 5, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def golden_engine(url: str) -> Engine:
    """Company 730 with services 001 (PEN), 002 (USD) and 003 (PEN); 004 is not defined."""
    upgrade(url)
    engine = create_engine(url)
    with UnitOfWork(engine) as tx:
        tx.companies.save(
            build_company("730", "EMPRESA DEMO SAC", ["001:completa", "002:completa", "003:parcial"], []), NOW
        )
        tx.commit()
    return engine


def drop(store: LocalFileStore, case: Path) -> str:
    (source,) = case.glob("*.TXT")
    store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    return source.name


@pytest.mark.parametrize("worker", ["off", "on"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case(case: Path, worker: str, tmp_path: Path) -> None:
    """`worker`: the lines judged in the loader's process or in a line worker: the same bytes."""
    engine = golden_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = LocalFileStore(tmp_path / "exchange")
    setup = json.loads((case / "setup.json").read_text()) if (case / "setup.json").exists() else {}
    for before in setup.get("before", []):
        drop(store, DATA / before)
        load_debts(engine, store, clock)
    name = drop(store, case)
    (result,) = load_debts(engine, store, clock, line_worker=worker)
    assert store.list("00730/Deudas/Pending") == []
    complete = tmp_path / "exchange" / "00730" / "Deudas" / "Complete"
    assert (complete / name).read_bytes() == (case / name).read_bytes()
    produced = {suffix: (complete / f"{name}{suffix}").read_bytes() for suffix in (".OK", ".ERR")}
    for suffix, data in produced.items():
        expected = case / f"expected{suffix}"
        if UPDATE:
            expected.write_bytes(data)
        assert data == expected.read_bytes(), f"{case.name}{suffix} differs"
    ok = produced[".OK"].decode()
    assert f"ESTADO: {result.outcome}" in ok
    if case.name.startswith("reject_"):
        assert result.outcome == "RECHAZADO" and result.applied == 0
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM debts WHERE file_id = (SELECT max(id) FROM debt_files)"))
            assert count.scalar() == 0
    elif case.name.startswith("line_"):
        assert result.outcome == "PROCESADO" and result.rejected >= 1 and result.applied >= 1
        assert produced[".ERR"], "a rejected line must be in .ERR"
    engine.dispose()


def test_every_rule_has_a_case() -> None:
    names = {c.name for c in CASES}
    assert len([n for n in names if n.startswith("reject_")]) >= 14
    assert len([n for n in names if n.startswith("line_")]) >= 30


def rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT client_code, client_name, service_code, document, description, due_date, issue_date,"
                    " amount_cents, late_fee_cents, admin_fee_cents, minimum_cents, period, year, installment,"
                    " currency, dni, ruc, alt_id FROM debts ORDER BY client_code, document"
                )
            )
        ]


def test_valid_files_give_exact_rows(tmp_path: Path) -> None:
    engine = golden_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = LocalFileStore(tmp_path / "exchange")
    drop(store, DATA / "valid_r")
    load_debts(engine, store, clock)
    assert rows(engine) == [
        ("04785124", "JUAN PEREZ", "001", "F001-00000001", "Factura", "2026-12-10", "2026-11-10", 10099, 150, 0, 10249, 11, 2026, 1, "1", "14785124", None, None),
        ("04785124", "JUAN PEREZ", "001", "F001-00000002", "Factura", "2026-12-10", "2026-11-10", 5000, 0, 0, 1000, 11, 2026, 2, "1", "14785124", None, None),
        ("20100047218", "COMERCIAL ANDINA S.A.", "002", "F002-00000100", "Factura", "2026-12-10", "2026-11-10", 250000, 0, 1500, 251500, 11, 2026, 1, "2", None, "20100047218", "CTA778899"),
        ("A1B2C3", "MARIA LOPEZ", "003", "P-77", "Proforma 77", "2026-12-10", "2026-11-10", 1, 0, 0, 1, 0, 2026, 0, "1", None, None, None),
    ]  # fmt: skip
    drop(store, DATA / "valid_n")
    load_debts(engine, store, clock)
    after = {(r[0], r[3]): (r[7], r[8], r[10]) for r in rows(engine)}
    assert after == {
        ("04785124", "F001-00000001"): (8000, 0, 8000),  # A: amounts replaced
        ("04785124", "F001-00000003"): (700, 0, 700),  # N: inserted; F001-00000002 deleted by D
        ("20100047218", "F002-00000100"): (250000, 0, 251500),
        ("A1B2C3", "P-77"): (1, 0, 1),
        ("NEW001", "F001-9"): (900, 0, 900),
    }
    _ = date
