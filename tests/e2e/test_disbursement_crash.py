"""Issue 29 as an operator meets it: `dispatch-disbursements` killed (SIGKILL) after the file is
in `dispersiones/pendientes/` and before it is marked sent, the bank takes the file and pays.
The next dispatch must not offer it again: it parks it with an alert (`alerts`, `disbursements`)
until the bank's answer settles it, or the operator resends it on the bank's word; a bank that
then pays a file twice is an alert, never only "already applied earlier"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from sql.engine import create_engine
from tests.conftest import ROOT
from tests.e2e.test_cli import run
from tests.e2e.test_disbursement_cli import run_bank
from tests.integration.test_disbursement_dispatch import approved


@pytest.fixture
def ops(empty_db_url: str, tmp_path: Path) -> tuple[dict[str, str], Path, sa.Engine]:
    env = {**os.environ, "SQL_URL": empty_db_url, "SFTP_URL": f"file://{tmp_path / 'x'}", "JWT_SIGNING_KEY": "k" * 40,
           "LENDING_WEBHOOK_KEY": "w" * 40, "LOG_TIMEOUT_SECONDS": "0.2",
           "LOG_STORAGE_CONNECTION": "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
                                     "TableEndpoint=http://127.0.0.1:9/x;"}  # fmt: skip
    assert run(env, "migrate").returncode == 0
    assert run(env, "seed-demo").returncode == 0
    engine = create_engine(empty_db_url)
    yield env, tmp_path / "x" / "dispersiones", engine
    engine.dispose()


def killed_at(env: dict[str, str], step: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tests.e2e.crash_dispatch"], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "CRASH_AT": step, "FIXED_NOW": datetime.now(UTC).isoformat()}, timeout=120)  # fmt: skip
    assert done.returncode == -9, done.stdout + done.stderr


def states(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.text("SELECT state FROM lending_purchases")).scalars())


def test_killed_after_offering_then_the_bank_took_it(ops: tuple) -> None:
    env, root, engine = ops
    approved(engine, "100.00"), approved(engine, "20.00")
    killed_at(env, "uploaded")
    (offered,) = (root / "pendientes").iterdir()
    assert "2 lines" in run_bank(env)  # the bank takes the file and pays both transfers
    dispatched = run(env, "dispatch-disbursements")
    assert dispatched.returncode == 0, dispatched.stderr
    assert (
        f"{offered.name} NOT offered again" in dispatched.stdout
        and "ALERT #1 dispersion_uncertain" in dispatched.stdout
    )
    assert list((root / "pendientes").iterdir()) == [], "not rewritten"
    listed = run(env, "alerts")
    assert "#1 " in listed.stdout and "OPEN" in listed.stdout and f"resend-dispersion {offered.name}" in listed.stdout
    assert run(env, "disbursements").stdout.count("HELD: may be with the bank") == 2
    refused = run(env, "resend-dispersion", offered.name)
    assert refused.returncode == 2 and "Ask the bank" in refused.stderr
    assert run(env, "resolve-alert", "1", "--note", "x").returncode == 2, "held files need the bank's word"
    again = run(env, "dispatch-disbursements")
    assert "still held for an operator" in again.stdout and list((root / "pendientes").iterdir()) == []
    # the bank's answer arrives: it had the file; marked sent, the alert closed, each purchase paid once
    processed = run(env, "process-responses")
    assert "2 disbursed" in processed.stdout and f"{offered.name}: the bank answered its lines" in processed.stdout
    assert states(engine) == ["DISBURSED", "DISBURSED"]
    assert "no open alerts" in run(env, "alerts").stdout and "answered its lines" in run(env, "alerts", "--all").stdout
    assert run(env, "resend-dispersion", offered.name, "--bank-confirms-not-received").returncode == 2
    assert "no approved purchases to send" in run(env, "dispatch-disbursements").stdout


def test_resent_on_the_bank_word_and_a_bank_that_pays_twice_is_an_alert(ops: tuple) -> None:
    env, root, engine = ops
    approved(engine, "100.00"), approved(engine, "20.00")
    killed_at(env, "uploaded")
    (offered,) = (root / "pendientes").iterdir()
    data = offered.read_bytes()
    (root / "enviados").mkdir()
    shutil.move(offered, root / "enviados" / offered.name)  # the bank pulled it and says nothing
    assert "NOT offered again" in run(env, "dispatch-disbursements").stdout
    resent = run(env, "resend-dispersion", offered.name, "--bank-confirms-not-received")
    assert resent.returncode == 0 and "offered again, the same bytes" in resent.stdout, resent.stderr
    assert (root / "pendientes" / offered.name).read_bytes() == data
    assert "no open alerts" in run(env, "alerts").stdout
    assert "2 lines" in run_bank(env)
    assert "2 disbursed" in run(env, "process-responses").stdout
    # the bank had it after all and pays the first copy too: a new response file, an alert per purchase
    shutil.copy(root / "enviados" / offered.name, root / "pendientes" / offered.name)
    assert "2 lines" in run_bank(env)
    second = run(env, "process-responses")
    assert "0 disbursed" in second.stdout and "2 duplicates" in second.stdout
    assert second.stdout.count("double_payment") == 2 and "tracking keys differ" in second.stdout
    assert run(env, "alerts").stdout.count("OPEN") == 2
    assert states(engine) == ["DISBURSED", "DISBURSED"]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM lending_webhooks")).scalar() == 2
    closed = run(env, "resolve-alert", "2", "--note", "the bank returned the second transfer")
    assert closed.returncode == 0 and "operator: the bank returned the second transfer" in closed.stdout
    assert run(env, "alerts").stdout.count("OPEN") == 1


@pytest.mark.parametrize("step", ["reserved", "staged"])
def test_killed_before_offering_is_written_once(ops: tuple, step: str) -> None:
    env, root, engine = ops
    approved(engine, "100.00")
    killed_at(env, step)
    assert not (root / "pendientes").exists() or list((root / "pendientes").iterdir()) == []
    dispatched = run(env, "dispatch-disbursements")
    assert "written (reserved by a run that stopped before offering it): 1 transfers" in dispatched.stdout
    assert len(list((root / "pendientes").iterdir())) == 1 and "no open alerts" in run(env, "alerts").stdout


def test_killed_after_offering_with_the_file_still_there_is_marked(ops: tuple) -> None:
    env, root, engine = ops
    approved(engine, "100.00")
    killed_at(env, "uploaded")
    (offered,) = (root / "pendientes").iterdir()
    before = offered.stat()
    dispatched = run(env, "dispatch-disbursements")
    assert f"{offered.name} was in the bank's folder already" in dispatched.stdout
    assert (offered.stat().st_ino, offered.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "no open alerts" in run(env, "alerts").stdout
