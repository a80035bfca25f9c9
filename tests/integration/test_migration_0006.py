"""Migration 0006 on a database with files: every old file becomes a range holding the same
records in the same order, pending records stay pending, and the cursor continues from there."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.files.local import LocalFileStore
from domain.payment_records import payment_record
from sql.engine import create_engine
from sql.migrate import upgrade
from tests.conftest import temporary_database
from usecases.payment_files import generate_payment_files, regenerate

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _payment(n: int, company: int, status: str = "P") -> dict:
    return {
        "id": n, "company_code": company, "service_code": "001", "bank_code": "1020",
        "operation_number": f"OP{n}", "channel": "10", "payment_method": "01", "query_id": "1", "voucher": "",
        "client_code": f"C{n}", "client_name": "CLIENTE", "document": f"F-{n}", "due_date": date(2026, 12, 1),
        "currency": "1" if n % 2 else "2", "amount_cents": 100 * n, "validation_mode": "completa",
        "txn_at": T0 + timedelta(minutes=n), "status": status, "created_at": T0 + timedelta(minutes=n),
        "reversed_at": T0 + timedelta(hours=1) if status == "A" else None,
        "reversal_txn_at": T0 + timedelta(hours=1) if status == "A" else None,
        "reversal_channel": "60" if status == "A" else None, "accounting_date": date(2026, 11, 20),
        "reversal_accounting_date": date(2026, 11, 20) if status == "A" else None,
    }  # fmt: skip


def _expected(row: dict, kind: str) -> bytes:
    at = row["txn_at"] if kind == "P" else row["reversal_txn_at"]
    channel = row["channel"] if kind == "P" else row["reversal_channel"]
    return (payment_record(
        kind, client=row["client_code"], name=row["client_name"], service="001", document=row["document"],
        due=row["due_date"], at=at, cents=row["amount_cents"], operation=row["operation_number"], channel=channel,
        method="01", booked=date(2026, 11, 20),
    ) + "\r\n").encode()  # fmt: skip


@contextlib.contextmanager
def _database(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    base = os.environ.get("TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("TEST_PG_URL must be set in CI")
        pytest.skip("TEST_PG_URL is not set")
    with temporary_database(base) as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_old_files_become_ranges(backend: str, tmp_path: Path) -> None:
    with _database(backend, tmp_path) as url:
        upgrade(url, "0005")
        engine = sa.create_engine(url)
        rows = {1: _payment(1, 730, "A"), 2: _payment(2, 730), 3: _payment(3, 731), 4: _payment(4, 730),
                5: _payment(5, 730)}  # fmt: skip
        with engine.begin() as conn:
            for code in (730, 731):
                conn.execute(sa.text("INSERT INTO companies (code, name, created_at) VALUES (:c, 'E', :t)"),
                             {"c": code, "t": T0})  # fmt: skip
            conn.execute(sa.table("payments", *(sa.column(c) for c in rows[1])).insert(), list(rows.values()))
            for _, company, name in ((1, 730, "P0073020112026001.TXT"), (2, 731, "P0073120112026001.TXT"),
                                           (3, 730, "P0073020112026002.TXT")):  # fmt: skip
                conn.execute(sa.text(
                    "INSERT INTO payment_files (company_code, file_name, file_date, seq, records, total_pen,"
                    " total_usd, created_at, uploaded_at) VALUES (:c, :n, :d, :s, 0, 0, 0, :t, :t)"),
                    {"c": company, "n": name, "d": date(2026, 11, 20), "s": int(name[-7:-4]), "t": T0})  # fmt: skip
            ids = dict(enumerate(conn.execute(sa.text("SELECT id FROM payment_files ORDER BY id")).scalars(), 1))
            # file 1: P1 P2; file 2 (other company): P3; file 3: P4, then the reversal A1; P5 pending
            for payment, kind, file_id in ((1, "P", 1), (2, "P", 1), (3, "P", 2), (1, "A", 3), (4, "P", 3)):
                conn.execute(sa.text("INSERT INTO payment_file_items VALUES (:p, :k, :f)"),
                             {"p": payment, "k": kind, "f": ids[file_id]})  # fmt: skip
        engine.dispose()

        upgrade(url)
        engine = create_engine(url)
        store = LocalFileStore(tmp_path / "x")
        for name, held in (("P0073020112026001.TXT", [(1, "P"), (2, "P")]),
                           ("P0073120112026001.TXT", [(3, "P")]),
                           ("P0073020112026002.TXT", [(4, "P"), (1, "A")])):  # fmt: skip
            result = regenerate(engine, store, name)
            written = (tmp_path / "x" / f"{name[1:6]}" / "Pagos" / name).read_bytes()
            assert written == b"".join(_expected(rows[p], k) for p, k in held), name
            assert result.records == len(held)
        (new,) = generate_payment_files(engine, store, lambda: T0 + timedelta(days=1))
        assert (new.company, new.records, new.total_pen) == (730, 1, 500), "only P5 was pending"
        assert (tmp_path / "x" / "00730" / "Pagos" / new.file_name).read_bytes() == _expected(rows[5], "P")
        engine.dispose()
