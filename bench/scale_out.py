"""Debt files across local-host instances sharing Azurite's queues and one PostgreSQL database.

    python bench/scale_out.py [--companies 20] [--r-lines 100000] [--n-lines 10000] \
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--instances 1,2] [--kill]

For each instance count: a fresh database and exchange, `--companies` companies each with one R
file and two N files in Pending/, K `manage.py serve` processes (queue listeners on, timers off)
on the same Azurite queue, one `dispatch-debts`, and the wall time until every file is in
Complete/. Then checks that every file was applied exactly once, in order per company (R, N1,
N2 by debt_files id), and that the debts are the same whatever the instance count. `--kill`
adds a run with two instances where one is killed with SIGKILL mid-run: the other finishes
(the killed instance's message comes back when its lease ends, LOCAL_HOST_QUEUE_LEASE_SECONDS).
Prints a table; the issue-19 target is 2 instances at most 0.6x the time of 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from databases import fresh_database  # noqa: E402
from load_debts import generate, generate_n  # noqa: E402

FIRST_COMPANY = 801


def names(company: int) -> list[str]:
    return [f"D{company:05d}22112026{seq:03d}.TXT" for seq in (1, 2, 3)]


def prepare(url: str, companies: int) -> None:
    from datetime import UTC, datetime

    from domain.companies import build_company
    from sql.engine import create_engine
    from sql.migrate import upgrade
    from sql.uow import UnitOfWork

    upgrade(url)
    engine = create_engine(url)
    with UnitOfWork(engine) as tx:
        for code in range(FIRST_COMPANY, FIRST_COMPANY + companies):
            company = build_company(str(code), f"EMPRESA {code}", ["001:completa", "002:completa:USD"], [])
            tx.companies.save(company, datetime.now(UTC))
        tx.commit()
    engine.dispose()


def write_files(source: Path, exchange: Path, companies: int, r_lines: int, n_lines: int) -> None:
    """One set of files generated per company (the content names the company), hard-linked in."""
    source.mkdir(parents=True, exist_ok=True)
    for code in range(FIRST_COMPANY, FIRST_COMPANY + companies):
        pending = exchange / f"{code:05d}" / "Deudas" / "Pending"
        pending.mkdir(parents=True, exist_ok=True)
        r, n1, n2 = names(code)
        if not (source / r).exists():
            generate(source / r, r_lines, company=code, name=r, at=(8, 0))
            generate_n(source / n1, n_lines, r_lines, company=code, name=n1, at=(8, 15), offset=0)
            generate_n(source / n2, n_lines, r_lines, company=code, name=n2, at=(8, 30), offset=1)
        for name in (r, n1, n2):
            os.link(source / name, pending / name)


def start_instance(env: dict[str, str], log: Path) -> subprocess.Popen:
    from tests.conftest import free_port, wait_port

    port = free_port()
    command = [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "1", "--no-timers"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_port(port, 60, proc)
    return proc


def done_files(exchange: Path) -> int:
    return sum(1 for _ in exchange.glob("*/Deudas/Complete/*.TXT.OK"))


def state(url: str) -> tuple[list[tuple], list[tuple]]:
    """(files in load order per company, debts per company): what must not depend on instances."""
    import sqlalchemy as sa

    from sql.engine import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        files = conn.execute(sa.text(
            "SELECT company_code, file_name, status, applied, rejected FROM debt_files ORDER BY company_code, id"
        )).all()  # fmt: skip
        debts = conn.execute(sa.text(
            "SELECT company_code, count(*), sum(amount_cents) FROM debts GROUP BY company_code ORDER BY company_code"
        )).all()  # fmt: skip
    engine.dispose()
    return [tuple(r) for r in files], [tuple(r) for r in debts]


def run(instances: int, args: argparse.Namespace, source: Path, azurite: str, kill: bool = False) -> dict:
    import uuid

    work = Path(tempfile.mkdtemp(prefix="scale-"))
    url, drop = fresh_database("postgresql", args.pg, work)
    try:
        prepare(url, args.companies)
        exchange = work / "x"
        write_files(source, exchange, args.companies, args.r_lines, args.n_lines)
        env = {**os.environ, "SQL_URL": url, "SFTP_URL": f"file://{exchange}", "LOG_STORAGE_CONNECTION": azurite,
               "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": "k" * 40,
               "DEBT_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
               "LOCAL_HOST_QUEUE_LEASE_SECONDS": str(args.lease),
               "AzureFunctionsJobHost__extensions__queues__batchSize": "1",
               "AzureFunctionsJobHost__extensions__queues__newBatchThreshold": "1",
               "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500"}  # fmt: skip
        procs = [start_instance(env, work / f"host-{i}.log") for i in range(instances)]
        expected = 3 * args.companies
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "dispatch-debts"], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        killed = False
        deadline = time.monotonic() + args.timeout
        while done_files(exchange) < expected and time.monotonic() < deadline:
            if kill and not killed and done_files(exchange) >= expected // 3:
                os.kill(procs[0].pid, signal.SIGKILL)
                killed = True
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        assert done_files(exchange) == expected, f"{done_files(exchange)} of {expected} files done"
        files, debts = state(url)
        for code in range(FIRST_COMPANY, FIRST_COMPANY + args.companies):
            mine = [f for f in files if f[0] == code]
            assert [f[1] for f in mine] == names(code), f"company {code}: {mine}"  # once each, R before N
            assert all(f[2] == "PROCESADO" for f in mine), mine
        lines = sum(f[3] + f[4] for f in files)
        return {"instances": instances, "killed": killed, "seconds": elapsed, "files": len(files), "lines": lines,
                "debts": debts}  # fmt: skip
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--r-lines", type=int, default=100_000)
    parser.add_argument("--n-lines", type=int, default=10_000)
    parser.add_argument("--pg", default=os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--instances", default="1,2")
    parser.add_argument("--kill", action="store_true", help="also: two instances, one killed with SIGKILL mid-run")
    parser.add_argument("--lease", type=int, default=30, help="queue lease of the local host, seconds")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    from tests.conftest import azurite_connection, free_port, start_azurite, stop, wait_port

    ports = [free_port() for _ in range(3)]
    azurite_proc = start_azurite(*ports)
    for port in ports:
        wait_port(port, 30, azurite_proc)
    azurite = azurite_connection(*ports)
    source = Path(tempfile.mkdtemp(prefix="scale-src-"))
    try:
        results = [run(int(k), args, source, azurite) for k in args.instances.split(",")]
        if args.kill:
            results.append(run(2, args, source, azurite, kill=True))
    finally:
        stop(azurite_proc)
    baseline = results[0]
    print(f"\n{args.companies} companies x (R {args.r_lines:,} + 2 N {args.n_lines:,}) on PostgreSQL, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})")  # fmt: skip
    print(f"{'instances':>9} {'killed':>6} {'seconds':>8} {'lines/s':>9} {'vs 1':>6}  same debts")
    for r in results:
        same = "yes" if r["debts"] == baseline["debts"] else "NO"
        print(f"{r['instances']:>9} {'yes' if r['killed'] else 'no':>6} {r['seconds']:>8.1f} "
              f"{r['lines'] / r['seconds']:>9,.0f} {r['seconds'] / baseline['seconds']:>6.2f}  {same}")  # fmt: skip
    assert all(r["debts"] == baseline["debts"] for r in results), "the debts depend on the instances"


if __name__ == "__main__":
    main()
