"""The disbursement commands as an operator types them: dispatch, the bank's answer, the
responses, the webhooks (a receiver that is down, then the replay), the channel's secret."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.lending.webhooks import channel_secret
from fakes.webhook_receiver import FakeReceiver
from sql.engine import create_engine
from tests.conftest import ROOT, serve_in_thread
from tests.e2e.test_cli import run
from tests.integration.test_disbursement_dispatch import approved

KEY = "c" * 40


@pytest.fixture
def receiver() -> Iterator[tuple[int, FakeReceiver]]:
    app = FakeReceiver({"KOF": channel_secret(KEY.encode(), "KOF", 1)})
    with serve_in_thread(app) as url:
        yield int(url.rsplit(":", 1)[1]), app


def test_disbursement_commands(tmp_path: Path, receiver: tuple[int, FakeReceiver]) -> None:
    port, app = receiver
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    env = {**os.environ, "SQL_URL": db, "SFTP_URL": f"file://{tmp_path / 'x'}", "JWT_SIGNING_KEY": "k" * 40,
           "LENDING_WEBHOOK_KEY": KEY, "WEBHOOK_RETRY_BASE_SECONDS": "1", "WEBHOOK_TIMEOUT_SECONDS": "2",
           "LOG_STORAGE_CONNECTION": "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
                                     "TableEndpoint=http://127.0.0.1:9/x;", "LOG_TIMEOUT_SECONDS": "0.2"}  # fmt: skip
    assert run(env, "migrate").returncode == 0
    assert run(env, "seed-demo", "--webhook-base", "http://127.0.0.1:9").returncode == 0  # nobody listens there
    engine = create_engine(db)
    ok, bad = approved(engine, "100.00"), approved(engine, "20.00")
    dispatched = run(env, "dispatch-disbursements")
    assert "written: 2 transfers, 120.00 MXN" in dispatched.stdout, dispatched.stderr
    bank = run_bank(env, "--reject", f"{bad}=03")
    assert "2 lines" in bank
    (tmp_path / "x" / "dispersiones" / "respuestas" / "RESP_MANUAL.TXT").write_bytes(b"not a response line\r\n")
    processed = run(env, "process-responses")
    assert processed.returncode == 0, processed.stderr
    assert "2 lines, 1 disbursed, 0 to retry, 1 failed, 0 malformed, 0 unknown, 0 duplicates" in processed.stdout
    assert "RESP_MANUAL.TXT: 1 lines, 0 disbursed" in processed.stdout and "line 1 malformed:" in processed.stdout
    failed = run(env, "disbursements", "--state", "DISBURSEMENT_FAILED")
    assert f"{bad}  KOF" in failed.stdout and "attempt 0 in DISP_" in failed.stdout and "SPEI 03" in failed.stdout
    assert "no purchases DISBURSING" in run(env, "disbursements", "--older-than-hours", "1").stdout
    first = run(env, "deliver-webhooks")
    assert first.stdout.count("PENDING after 1 tries") == 2 and "ConnectError" in first.stdout
    listed = run(env, "webhooks", "--state", "PENDING")
    assert f"{ok}.disbursed" in listed.stdout and f"{bad}.failed" in listed.stdout
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE lending_channels SET webhook_url = :u"), {"u": f"http://127.0.0.1:{port}/hooks/KOF"}
        )
    replayed = run(env, "replay-webhook", f"{ok}.disbursed")
    assert replayed.returncode == 0 and f"{ok}.disbursed -> KOF: DELIVERED after 2 tries, status 200" in replayed.stdout
    assert [e["eventId"] for e in app.received if e["valid"]] == [f"{ok}.disbursed"]
    assert run(env, "replay-webhook", "nope").returncode == 2
    secret = run(env, "webhook-secret", "KOF", "--quiet")
    assert secret.stdout.strip() == channel_secret(KEY.encode(), "KOF", 1).decode()
    rotated = run(env, "webhook-secret", "KOF", "--rotate")
    new = channel_secret(KEY.encode(), "KOF", 2).decode()
    assert f"KOF webhook secret rotated to version 2: {new}" in rotated.stdout
    assert "KOF previous secret (version 1), still valid until" in rotated.stdout  # the overlap
    assert secret.stdout.strip() in rotated.stdout
    assert run(env, "webhook-secret", "NOPE").returncode == 2
    with engine.connect() as conn:
        states = dict(conn.execute(sa.text("SELECT id, state FROM lending_purchases")).all())
    assert states == {ok: "DISBURSED", bad: "DISBURSEMENT_FAILED"}
    engine.dispose()


def run_bank(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "fakes.bank", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout
