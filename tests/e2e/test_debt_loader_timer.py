"""The registered debt_loader timer: files in, debts in SQL, results in Complete/, runs in ProcessLogs."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

import bootstrap
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from tests.conftest import SIGNING_KEY, stop
from tests.e2e.calls import load_pending
from tests.e2e.test_local_host import start_host
from tests.integration.test_debt_golden import DATA
from usecases.companies import seed_demo


def drop(root: Path, case: str) -> str:
    (source,) = (DATA / case).glob("*.TXT")
    pending = root / "00730" / "Deudas" / "Pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / source.name).write_bytes(source.read_bytes())
    return source.name


def test_timer_function_loads_and_logs(app_env: Path, azurite: str) -> None:
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    root = app_env / "exchange"
    first = drop(root, "valid_r")
    load_pending()
    second = drop(root, "valid_n")
    load_pending()

    complete = root / "00730" / "Deudas" / "Complete"
    assert {p.name for p in complete.iterdir()} == {
        first,
        f"{first}.OK",
        f"{first}.ERR",
        second,
        f"{second}.OK",
        f"{second}.ERR",
    }
    with bootstrap.engine().connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM debts WHERE company_code = 730")).scalar() == 5
    bootstrap.log_sink().flush()
    entries = read_partition(azurite, PROCESS_LOGS, partition_key("debt_loader", datetime.now(UTC)))
    files = [e for e in entries if e.get("Kind") == "file"]
    dispatches = [e for e in entries if e.get("Kind") == "dispatch"]
    assert [e["File"] for e in files[:2]] == [second, first]  # newest first
    assert files[0]["Outcome"] == "PROCESADO" and files[0]["Applied"] == 4 and files[0]["Company"] == "00730"
    assert files[1]["AppliedPEN"] == "151.00" and files[1]["AppliedUSD"] == "2500.00"
    assert dispatches[0]["Outcome"] == "succeeded" and dispatches[0]["Companies"] == 1 and dispatches[0]["Files"] == 1
    runs = read_partition(azurite, PROCESS_LOGS, partition_key("debt_files", datetime.now(UTC)))
    assert runs[0]["Outcome"] == "succeeded" and runs[0]["Company"] == "00730" and runs[0]["Files"] == 1
    assert runs[0]["DequeueCount"] == 1 and runs[0]["MessageId"]


def test_local_host_timer_picks_up_a_dropped_file(tmp_path: Path, azurite: str) -> None:
    """As a new user would: the host runs, a company drops a file, the timer loads it."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {
        **os.environ, "SQL_URL": f"sqlite:///{tmp_path / 'app.db'}", "SFTP_URL": f"file://{tmp_path / 'x'}",
        "LOG_STORAGE_CONNECTION": azurite, "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
        "DEBT_LOADER_SCHEDULE": "*/2 * * * * *",
    }  # fmt: skip
    for command in (["migrate"], ["seed-demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, log = start_host(tmp_path, env, "--workers", "1")
    try:
        name = drop(tmp_path / "x", "valid_r")
        target = tmp_path / "x" / "00730" / "Deudas" / "Complete" / f"{name}.OK"
        deadline = time.monotonic() + 20
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert target.exists(), log.read_text()[-2000:]
        assert b"ESTADO: PROCESADO" in target.read_bytes()
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
    finally:
        stop(proc)
    text = log.read_text()
    assert "Executed 'Functions.debt_loader' (Succeeded" in text and "Executed 'Functions.debt_files' (Succeeded" in text
