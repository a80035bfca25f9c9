"""Benchmark of the payment-file generator: records/s and peak RSS against the floor.

    python bench/payment_files.py [--payments 1000000] [--companies 10]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Inserts N payments spread over C companies straight into SQL, then, each stage in its own
process so that peak RSS is its own:
  generator  the real use case: reserve a file per company (name and contents in SQL),
             render every record from SQL through the layout, write it atomically, mark it
  floor      query the same rows and write a pre-formatted 236-character line per row
Targets (issue 5): >= 200,000 records/s, within 2x of the floor, memory flat in N.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import fresh_database  # noqa: E402
from measure import peak_rss_mb  # noqa: E402

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def prepare(url: str, payments: int, companies: int) -> None:
    from domain.companies import build_company
    from domain.payment_records import PAID, payment_record
    from sql.debt_repository import DebtRepository
    from sql.engine import create_engine
    from sql.migrate import upgrade
    from sql.tables import payment_records
    from sql.tables import payments as table
    from sql.uow import UnitOfWork

    upgrade(url)
    engine = create_engine(url)
    with UnitOfWork(engine) as tx:
        for code in range(1, companies + 1):
            tx.companies.save(build_company(str(800 + code), f"EMPRESA {code}", ["001:completa"],
                                            ["001:1020:191-0001001-0-01"]), NOW)  # fmt: skip
        tx.commit()
    columns = [c.name for c in table.columns]
    record_columns = [c.name for c in payment_records.columns if c.name != "id"]
    booked = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    with engine.begin() as conn:
        backend = DebtRepository(conn).backend
        batch, records = [], []
        for n in range(payments):
            values = {
                "id": n + 1, "company_code": 801 + n % companies, "service_code": "001", "bank_code": "1020",
                "operation_number": f"{n:012d}", "channel": "10", "payment_method": "01", "query_id": "1",
                "voucher": "", "debt_reference": None, "client_code": f"C{n // 3:08d}",
                "client_name": "CLIENTE DE PRUEBA",
                "document": f"F001-{n % 3:08d}", "due_date": date(2026, 12, 10), "currency": "1",
                "amount_cents": 1000 + n % 9000, "validation_mode": "completa", "txn_at": booked,
                "txn_date": date(2026, 11, 22), "status": "P",
                "created_at": booked, "reversed_at": None, "reversal_txn_at": None, "reversal_channel": None,
                "accounting_date": date(2026, 11, 22), "reversal_accounting_date": None,
            }  # fmt: skip
            batch.append(tuple(values[c] for c in columns))
            # what booking the payment does (usecases/yapago.py): its record, rendered once
            record = payment_record(
                PAID, client=values["client_code"], name=values["client_name"], service="001",
                document=values["document"], due=values["due_date"], at=booked, cents=values["amount_cents"],
                operation=values["operation_number"], channel="10", method="01", booked=values["accounting_date"],
            )  # fmt: skip
            records.append((values["company_code"], n + 1, PAID, "1", values["amount_cents"], booked, record))
            if len(batch) == 50_000:
                _insert(conn, backend, "payments", columns, batch)
                _insert(conn, backend, "payment_records", record_columns, records)
                batch, records = [], []
        _insert(conn, backend, "payments", columns, batch)
        _insert(conn, backend, "payment_records", record_columns, records)
    engine.dispose()


def _insert(conn: sa.Connection, backend: str, table: str, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if backend == "postgresql":
        from sql.bulk import copy_rows

        copy_rows(conn, table, columns, rows)
        return
    rows = [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row) for row in rows]
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def stage_generator(url: str, work: Path) -> dict:
    from adapters.files.local import LocalFileStore
    from sql.engine import create_engine
    from usecases.payment_files import generate_payment_files

    engine = create_engine(url)
    started = time.perf_counter()
    results = generate_payment_files(engine, LocalFileStore(work), lambda: NOW)
    return {"seconds": time.perf_counter() - started, "records": sum(r.records for r in results), "files": len(results)}


def stage_floor(url: str, work: Path) -> dict:
    from sql.engine import create_engine
    from sql.tables import payments

    engine = create_engine(url)
    line = b"D" * 236 + b"\r\n"
    started = time.perf_counter()
    count = 0
    with engine.connect() as conn, (work / "floor.TXT").open("wb") as out:
        query = sa.select(
            payments.c.client_code, payments.c.client_name, payments.c.service_code, payments.c.document,
            payments.c.due_date, payments.c.txn_at, payments.c.amount_cents, payments.c.operation_number,
            payments.c.channel, payments.c.payment_method, payments.c.accounting_date,
        ).order_by(payments.c.company_code, payments.c.id)  # fmt: skip
        chunk = []
        for _ in conn.execution_options(yield_per=10_000).execute(query):
            chunk.append(line)
            count += 1
            if len(chunk) == 10_000:
                out.write(b"".join(chunk))
                chunk = []
        out.write(b"".join(chunk))
    return {"seconds": time.perf_counter() - started, "records": count, "files": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=10)
    parser.add_argument("--pg")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        run = stage_generator if args.stage == "generator" else stage_floor
        out = run(args.url, Path(args.work))
        out["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(out))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-payments-"))
    rows = []
    try:
        for backend in ["sqlite"] + (["postgresql"] if args.pg else []):
            results = {}
            for stage in ("generator", "floor"):
                url, drop = fresh_database(backend, args.pg, work)
                try:
                    t0 = time.perf_counter()
                    prepare(url, args.payments, args.companies)
                    print(f"{backend}: {args.payments:,} payments inserted in {time.perf_counter() - t0:.1f}s")
                    folder = work / f"{backend}-{stage}"
                    folder.mkdir()
                    cmd = [sys.executable, __file__, "--stage", stage, "--url", url, "--work", str(folder)]
                    out = (
                        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                    )
                    results[stage] = json.loads(out)
                finally:
                    drop()
            for stage, r in results.items():
                rows.append((backend, stage, r["records"], r["seconds"], r["records"] / r["seconds"], r["peak_rss_mb"]))
            rows.append((backend, "generator/floor", None, None,
                         results["generator"]["seconds"] / results["floor"]["seconds"], None))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'backend':<11} {'stage':<16} {'records':>10} {'seconds':>8} {'records/s or x':>15} {'peak RSS MB':>12}")
    for backend, stage, records, seconds, rate, rss in rows:
        if records is None:
            print(f"{backend:<11} {stage:<16} {'':>10} {'':>8} {rate:>14.2f}x {'':>12}")
        else:
            print(f"{backend:<11} {stage:<16} {records:>10,} {seconds:>8.2f} {rate:>15,.0f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
