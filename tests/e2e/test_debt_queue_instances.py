"""Two local-host instances on one PostgreSQL database and one Azurite queue: the companies'
files are shared out, each applied once and in order; an instance killed with SIGKILL in the
middle of a file loses and duplicates nothing: its message comes back when its lease ends and
the other instance finishes the work (bench/scale_out.py measures the same at scale)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from tests.conftest import ROOT, SIGNING_KEY, stop, temporary_database

sys.path.insert(0, str(ROOT / "bench"))
from scale_out import done_files, names, prepare, start_instance, state, write_files

LEASE = 5


@pytest.fixture
def shared(tmp_path: Path, azurite: str, pg_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    with temporary_database(pg_url) as url:
        env = {**os.environ, "SQL_URL": url, "SFTP_URL": f"file://{tmp_path / 'x'}", "LOG_STORAGE_CONNECTION": azurite,
               "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
               "DEBT_QUEUE": f"two-{uuid.uuid4().hex[:10]}", "LOCAL_HOST_QUEUE_LEASE_SECONDS": str(LEASE),
               "AzureFunctionsJobHost__extensions__queues__batchSize": "1",
               "AzureFunctionsJobHost__extensions__queues__newBatchThreshold": "1",
               "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.300"}  # fmt: skip
        yield url, env


def dispatch(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "dispatch-debts"], cwd=ROOT, env=env, check=True, capture_output=True)


def wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_two_instances_share_the_companies_each_file_once_in_order(tmp_path: Path, shared) -> None:  # type: ignore[no-untyped-def]
    url, env = shared
    prepare(url, 4)
    write_files(tmp_path / "src", tmp_path / "x", 4, 3000, 300)
    procs = [start_instance(env, tmp_path / f"host-{i}.log") for i in range(2)]
    try:
        dispatch(env)
        assert wait_for(lambda: done_files(tmp_path / "x") == 12, 120)
    finally:
        for proc in procs:
            stop(proc)
    files, _ = state(url)
    for code in range(801, 805):
        assert [f[1] for f in files if f[0] == code] == names(code)
    ran = [log.read_text().count("Executed 'Functions.debt_files' (Succeeded") for log in tmp_path.glob("host-*.log")]
    assert sum(ran) >= 4 and all(ran), f"both instances took companies: {ran}"


def test_an_instance_killed_mid_file_loses_and_duplicates_nothing(tmp_path: Path, shared) -> None:  # type: ignore[no-untyped-def]
    url, env = shared
    prepare(url, 1)
    write_files(tmp_path / "src", tmp_path / "x", 1, 60_000, 3000)
    logs = [tmp_path / f"host-{i}.log" for i in range(2)]
    procs = [start_instance(env, log) for log in logs]
    try:
        dispatch(env)
        busy = lambda: [i for i, log in enumerate(logs) if "Executing 'Functions.debt_files'" in log.read_text()]  # noqa: E731
        assert wait_for(busy, 30), "an instance took the company's message"
        (victim,) = busy()
        time.sleep(0.3)  # inside the R file's load (about 2 s here)
        assert done_files(tmp_path / "x") == 0, "killed before the first file was done"
        os.kill(procs[victim].pid, signal.SIGKILL)
        procs[victim].wait(10)
        assert wait_for(lambda: done_files(tmp_path / "x") == 3, 120), "the other instance finished the work"
    finally:
        for proc in procs:
            if proc.poll() is None:
                stop(proc)
    files, debts = state(url)
    assert [(f[1], f[2]) for f in files] == [(name, "PROCESADO") for name in names(801)], "each once, in order"
    assert "Executed 'Functions.debt_files' (Succeeded" in logs[1 - victim].read_text()
    assert debts and debts[0][1] > 0
    def redelivered() -> list[dict]:
        rows = read_partition(env["AzureWebJobsStorage"], PROCESS_LOGS, partition_key("debt_files", datetime.now(UTC)))
        return [r for r in rows if r.get("Company") == "00801"
                and r.get("DequeueCount") == 2 and r.get("Outcome") == "succeeded"]  # fmt: skip

    # written before the survivor stopped: a host shutting down flushes its log sink (its atexit never runs)
    assert redelivered(), "the survivor ran the redelivered message (its ProcessLogs entity)"
