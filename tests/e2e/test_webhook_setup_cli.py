"""Issue 29, as an operator types it: `create-channel` again changes only what it is given and
says so, a bad URL is refused in one line with nothing saved, removing the URL parks the
channel's events (listed, replay refused until a URL is set, then replayed by channel), and a
rotated secret keeps signing through its overlap, so a distributor still on it (the fake
receiver given only the old secret) accepts every event until the overlap ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from domain.lending.clabe import make_clabe
from domain.lending.webhooks import channel_secret
from fakes.webhook_receiver import FakeReceiver
from sql.engine import create_engine
from tests.conftest import serve_in_thread
from tests.e2e.test_cli import run
from tests.e2e.test_disbursement_cli import run_bank
from tests.integration.test_disbursement_dispatch import approved

KEY = "w" * 40
OLD, NEW = channel_secret(KEY.encode(), "KOF", 1), channel_secret(KEY.encode(), "KOF", 2)


@pytest.fixture
def receiver() -> Iterator[tuple[str, FakeReceiver]]:
    app = FakeReceiver({"KOF": OLD})  # a distributor that has not switched to the new secret yet
    with serve_in_thread(app) as url:
        yield url, app


def test_channel_setup_parking_and_rotation(tmp_path: Path, receiver: tuple[str, FakeReceiver]) -> None:
    url, app = receiver
    hook = f"{url}/hooks/KOF"
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    env = {**os.environ, "SQL_URL": db, "SFTP_URL": f"file://{tmp_path / 'x'}", "JWT_SIGNING_KEY": "k" * 40,
           "LENDING_WEBHOOK_KEY": KEY, "WEBHOOK_TIMEOUT_SECONDS": "2", "WEBHOOK_SECRET_OVERLAP_HOURS": "72",
           "LOG_STORAGE_CONNECTION": "DefaultEndpointsProtocol=http;AccountName=x;AccountKey=eA==;"
                                     "TableEndpoint=http://127.0.0.1:9/x;", "LOG_TIMEOUT_SECONDS": "0.2"}  # fmt: skip
    assert run(env, "migrate").returncode == 0
    engine = create_engine(db)

    def url_in_sql() -> str | None:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT webhook_url FROM lending_channels WHERE channel = 'KOF'")).scalar()

    clabe = make_clabe("012", "180", "1000000001")
    made = run(env, "create-channel", "--channel", "KOF", "--name", "KOF Mexico", "--clabe", clabe, "--webhook", hook)
    assert made.returncode == 0, made.stderr
    assert made.stdout == f"channel KOF created: name KOF Mexico, CLABE {clabe}, webhook {hook}\n"
    again = run(env, "create-channel", "--channel", "KOF", "--name", "KOF Mexico", "--clabe", clabe)  # no --webhook
    assert again.stdout == "channel KOF: nothing changed (name, CLABE and webhook as they were)\n"
    assert url_in_sql() == hook
    renamed = run(env, "create-channel", "--channel", "KOF", "--name", "KOF México")
    assert renamed.stdout == "channel KOF: name KOF Mexico -> KOF México\n" and url_in_sql() == hook
    for bad, why in (("not-a-url", "not an absolute URL (https://host/path): 'not-a-url'"),
                     ("http://kof.example.com/hooks", "plain http outside the loopback"),
                     ("https://kof:pw@kof.example.com/hooks", "a user or password in the URL")):  # fmt: skip
        refused = run(env, "create-channel", "--channel", "KOF", "--webhook", bad)
        assert refused.returncode == 2 and refused.stdout == "", refused
        assert refused.stderr.startswith("error: webhook URL refused: ") and why in refused.stderr
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert url_in_sql() == hook  # nothing saved
    both = run(env, "create-channel", "--channel", "KOF", "--webhook", hook, "--no-webhook")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    new = run(env, "create-channel", "--channel", "OXXO", "--webhook", "https://oxxo.example.com/hooks")
    assert (new.returncode, new.stderr) == (2, "error: channel OXXO is new: give its --name and --clabe\n")

    assert run(env, "seed-demo").returncode == 0  # the demo customers (and PRONTO); KOF keeps its URL
    assert url_in_sql() == hook
    ok, bad = approved(engine, "100.00"), approved(engine, "20.00")
    assert run(env, "dispatch-disbursements").returncode == 0
    run_bank(env, "--reject", f"{bad}=03")
    assert run(env, "process-responses").returncode == 0
    events = [f"{ok}.disbursed", f"{bad}.failed"]

    cleared = run(env, "create-channel", "--channel", "KOF", "--no-webhook")
    assert cleared.returncode == 0 and url_in_sql() is None
    assert f"channel KOF: webhook {hook} -> (none)" in cleared.stdout
    assert "its disbursement confirmations are PARKED, not sent" in cleared.stdout
    assert "2 pending webhook event(s) of KOF parked now" in cleared.stdout
    assert "no webhook events due" in run(env, "deliver-webhooks").stdout and app.received == []
    parked = run(env, "webhooks", "--parked")
    assert all(f"{e}  KOF" in parked.stdout for e in events) and parked.stdout.count("PARKED") == 2
    assert "replay-webhook EVENT_ID" in parked.stdout
    assert run(env, "webhooks", "--state", "PARKED", "--channel", "PRONTO").stdout.strip() == (
        "no webhook events in state PARKED of PRONTO")  # fmt: skip
    early = run(env, "replay-webhook", "--channel", "KOF")
    assert early.returncode == 2 and "channel KOF cannot receive events (no webhook URL)" in early.stderr
    assert run(env, "replay-webhook", events[0]).returncode == 2

    fixed = run(env, "create-channel", "--channel", "KOF", "--webhook", hook)
    assert f"channel KOF: webhook (none) -> {hook}" in fixed.stdout
    assert (f"2 webhook event(s) of KOF wait for an operator (2 parked, 0 given up): send them to {hook} with "
            "`manage.py replay-webhook --channel KOF`") in fixed.stdout  # fmt: skip

    rotated = run(env, "webhook-secret", "KOF", "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert f"KOF webhook secret rotated to version 2: {NEW.decode()}" in rotated.stdout
    assert "KOF previous secret (version 1), still valid until" in rotated.stdout and "(72 h)" in rotated.stdout
    assert OLD.decode() in rotated.stdout and "v1=<version 2>,v1=<version 1>" in rotated.stdout
    replayed = run(env, "replay-webhook", "--channel", "KOF")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "2 webhook event(s) of KOF due again now" in replayed.stdout and replayed.stdout.count("DELIVERED") == 2
    assert sorted((r["eventId"], r["valid"], r["signatures"]) for r in app.received) == sorted(
        (e, True, 2) for e in events)  # both signatures; the old secret's was enough  # fmt: skip
    assert run(env, "webhook-secret", "KOF", "--quiet").stdout == f"{NEW.decode()}\n"
    assert "still valid until" in run(env, "webhook-secret", "KOF").stdout
    twice = run(env, "webhook-secret", "KOF", "--rotate")
    assert twice.returncode == 2 and "KOF is rotating already: version 1 still signs until" in twice.stderr

    ended = run(env, "webhook-secret", "KOF", "--end-overlap")
    assert ended.returncode == 0 and "KOF previous secret (version 1) stopped now" in ended.stdout
    refused = run(env, "replay-webhook", events[0])  # the distributor still on the old secret now refuses it
    assert refused.returncode == 1 and "PENDING after 2 tries, status 401" in refused.stdout
    assert app.received[-1]["signatures"] == 1 and not app.received[-1]["valid"]
    app.secrets["KOF"] = NEW  # it switches
    assert run(env, "replay-webhook", events[0]).returncode == 0 and app.received[-1]["valid"]
    shown = run(env, "webhook-secret", "KOF").stdout
    assert "KOF previous secret (version 1) stopped at " in shown and OLD.decode() not in shown
    assert run(env, "webhook-secret", "KOF", "--end-overlap").returncode == 2
    leaked = run(env, "webhook-secret", "KOF", "--rotate", "--overlap-hours", "0")
    assert "rotated to version 3" in leaked.stdout and "(version 2) stopped now" in leaked.stdout
    assert run(env, "webhook-secret", "KOF", "--overlap-hours", "5").returncode == 2
    assert run(env, "webhook-secret", "KOF", "--rotate", "--overlap-hours", "1000").returncode == 2
    engine.dispose()
