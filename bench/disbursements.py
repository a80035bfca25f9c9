"""Benchmark of the disbursement files: dispatch and response processing, records/s and peak RSS.

    python bench/disbursements.py [--purchases 100000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Inserts N APPROVED purchases straight into SQL, then, each stage in its own process so that
peak RSS is its own:
  dispatch   the real use case: one dispersion file with every approved purchase (reserve
             set-based, render from SQL, write atomically to a file:// root, mark uploaded)
  responses  the real use case on a response file with one line per purchase: 90% processed,
             5% retryable (02, into a retry file), 5% final (03, failed and the limit released);
             every line stored, every purchase moved, its events, the webhook outbox rows
Target (issue 8): each under 10 s for 100,000 on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from databases import fresh_database  # noqa: E402
from measure import peak_rss_mb  # noqa: E402
from payment_files import _insert  # noqa: E402

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def prepare(url: str, purchases: int) -> None:
    from sql.engine import create_engine
    from sql.migrate import upgrade
    from sql.tables import lending_orders, lending_purchases
    from usecases.lending import save_customer, seed_lending_demo

    upgrade(url)
    engine = create_engine(url)
    seed_lending_demo(engine, NOW)
    save_customer(engine, "CUST-001", "+525500000001", NOW)
    with engine.connect() as conn:
        clabe = conn.exec_driver_sql("SELECT clabe FROM lending_channels WHERE channel = 'KOF'").scalar()
    purchase_columns = [c.name for c in lending_purchases.columns]
    with engine.begin() as conn:
        backend = conn.dialect.name
        orders, rows = [], []
        for n in range(purchases):
            cents = 1000 + n % 900_000
            amount = Decimal(cents) / 100
            orders.append((n + 1, "KOF", f"O-{n:09d}", "CUST-001", amount, f"Pedido {n}", "kof", NOW))
            values = {"id": str(uuid.UUID(int=n + 1)), "order_ref": n + 1, "channel": "KOF", "customer_id": "CUST-001",
                      "amount": amount, "amount_cents": cents, "concept": f"Pedido {n}",
                      "operation": "COMPRA_LINEA_CREDITO", "clabe": clabe, "state": "APPROVED", "valid_until": None,
                      "payload": None, "reason": "approved", "retries": 0, "retried_at": None, "created_at": NOW,
                      "updated_at": NOW}  # fmt: skip
            rows.append(tuple(values[c] for c in purchase_columns))
            if len(rows) == 50_000:
                _load(conn, backend, lending_orders, orders)
                _load(conn, backend, lending_purchases, rows)
                orders, rows = [], []
        _load(conn, backend, lending_orders, orders)
        _load(conn, backend, lending_purchases, rows)
        if backend == "postgresql":
            conn.exec_driver_sql("SELECT setval('lending_orders_id_seq', (SELECT max(id) FROM lending_orders))")
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _load(conn: sa.Connection, backend: str, table: sa.Table, rows: list[tuple]) -> None:
    """COPY on PostgreSQL; SQLAlchemy's own binding elsewhere (SQLite stores Numeric its way)."""
    columns = [c.name for c in table.columns]
    if backend == "postgresql":
        _insert(conn, backend, table.name, columns, rows)
    elif rows:
        conn.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def response_file(work: Path) -> int:
    """The bank's answer to the dispersion file the dispatch stage wrote."""
    from domain.layouts.disbursements import DISPERSION_DETAIL, RESPONSE

    (sent,) = (work / "dispersiones" / "pendientes").glob("DISP_*.TXT")
    lines = []
    for n, raw in enumerate(x for x in sent.read_bytes().split(b"\r\n") if x.startswith(b"D")):
        detail = DISPERSION_DETAIL.parse(raw)[0]
        code = "02" if n % 20 == 0 else "03" if n % 20 == 1 else "00"
        line = {"id_transaccion": detail["id_transaccion"], "estatus": "P" if code == "00" else "R",
                "codigo_motivo": code, "clave_rastreo": f"BBVA{n:012d}" if code == "00" else "",
                "fecha_operacion": date(2026, 11, 23), "intento": 0}  # fmt: skip
        lines.append(RESPONSE.format(line) + b"\r\n")
    (work / "dispersiones" / "respuestas").mkdir(parents=True)
    (work / "dispersiones" / "respuestas" / "RESP_20261123_070000_001.TXT").write_bytes(b"".join(lines))
    return len(lines)


def stage(name: str, url: str, work: Path) -> dict:
    from adapters.files.local import LocalFileStore
    from sql.engine import create_engine
    from usecases.disbursement_responses import process_responses
    from usecases.disbursements import dispatch_disbursements

    engine, store = create_engine(url), LocalFileStore(work)
    started = time.perf_counter()
    if name == "dispatch":
        (result,) = dispatch_disbursements(engine, store, lambda: NOW)
        records, detail = result.records, f"1 file, {result.total_cents // 100:,} MXN"
    else:
        (result,), retry_files = process_responses(engine, store, lambda: NOW, max_retries=3)
        records = result.lines
        detail = f"{result.disbursed:,} disbursed, {result.retried:,} retried, {result.failed:,} failed"
        assert result.lines == result.disbursed + result.retried + result.failed and len(retry_files) == 1
    return {"seconds": time.perf_counter() - started, "records": records, "detail": detail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--purchases", type=int, default=100_000)
    parser.add_argument("--pg")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        out = stage(args.stage, args.url, Path(args.work))
        out["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(out))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-disbursements-"))
    rows = []
    try:
        for backend in ["sqlite"] + (["postgresql"] if args.pg else []):
            url, drop = fresh_database(backend, args.pg, work)
            folder = work / backend
            folder.mkdir()
            try:
                t0 = time.perf_counter()
                prepare(url, args.purchases)
                print(f"{backend}: {args.purchases:,} approved purchases inserted in {time.perf_counter() - t0:.1f}s")
                for name in ("dispatch", "responses"):
                    if name == "responses":
                        response_file(folder)
                    cmd = [sys.executable, __file__, "--stage", name, "--url", url, "--work", str(folder)]
                    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    rows.append((backend, name, r["records"], r["seconds"], r["peak_rss_mb"], r["detail"]))
            finally:
                drop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'backend':<11} {'stage':<10} {'records':>9} {'seconds':>8} {'records/s':>10} {'RSS MB':>7}  detail")
    for backend, name, n, seconds, rss, detail in rows:
        print(f"{backend:<11} {name:<10} {n:>9,} {seconds:>8.2f} {n / seconds:>10,.0f} {rss:>7.0f}  {detail}")


if __name__ == "__main__":
    main()
