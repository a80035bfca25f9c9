"""Debt files through the queue, in-process: the timer dispatches one message per company, the
queue function loads that company's files in order, a redelivered message finds nothing to do,
a failing file makes the message fail (the host retries it), a poison message sets its file
aside with an .ERR and queues the rest, and the time budget stops between files and re-queues."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest

import bootstrap
import usecases.load_debts as loader
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from blueprints import debt_loader
from local_host.invoke import InvocationContext, TraceContext
from settings import get_settings
from tests.e2e.calls import deliver, function
from tests.e2e.test_debt_loader_timer import drop
from usecases.companies import seed_demo


def waiting() -> list[dict]:
    client = bootstrap.work_queues().client(get_settings().debt_queue)
    return [json.loads(base64.b64decode(m.content)) for m in client.peek_messages(max_messages=32)]


def message(body: dict, count: int = 1) -> QueueMessage:
    return QueueMessage(id=f"m-{time.monotonic_ns()}", body=json.dumps(body).encode(), dequeue_count=count)


def debts() -> int:
    with bootstrap.engine().connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM debts WHERE company_code = 730")).scalar()


@pytest.fixture
def exchange(app_env: Path) -> Path:
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    return app_env / "exchange"


def test_one_message_per_company_naming_its_oldest_file(exchange: Path) -> None:
    first = drop(exchange, "valid_r")
    drop(exchange, "valid_n")
    function("debt_loader").get_user_function()(TimerRequest())
    assert waiting() == [{"company": 730, "file": first, "size": (exchange / "00730/Deudas/Pending" / first).stat().st_size}]
    function("debt_loader").get_user_function()(TimerRequest())  # a second tick before the work ran
    assert deliver("debt_files", get_settings().debt_queue) == 2, "the duplicate is delivered too"
    assert debts() == 5, "both files applied once, R before N"
    complete = {p.name for p in (exchange / "00730/Deudas/Complete").iterdir()}
    assert {first, f"{first}.OK"} <= complete and len(complete) == 6


def test_a_redelivered_message_finds_nothing_to_do(exchange: Path, azurite: str) -> None:
    name = drop(exchange, "valid_r")
    run = function("debt_files").get_user_function()
    run(message({"company": 730, "file": name}))
    run(message({"company": 730, "file": name}, count=2))
    assert debts() == 4
    bootstrap.log_sink().flush()
    rows = read_partition(azurite, PROCESS_LOGS, partition_key("debt_files", datetime.now(UTC)))
    mine = sorted((r["DequeueCount"], r["Files"]) for r in rows if r.get("Company") == "00730" and "Files" in r)
    assert (1, 1) in mine and (2, 0) in mine


def test_nothing_pending_and_no_such_company_are_dropped_quietly(exchange: Path) -> None:
    run = function("debt_files").get_user_function()
    run(message({"company": 730}))
    run(message({"company": 99999}))
    assert waiting() == []


@pytest.mark.parametrize("body", [b"[]", b"{}", b'{"company": "730"}', b'{"company": 0}', b"not json"])
def test_a_message_that_names_no_company_fails(exchange: Path, body: bytes) -> None:
    with pytest.raises(ValueError, match="not a debt work message"):
        function("debt_files").get_user_function()(QueueMessage(id="x", body=body, dequeue_count=1))


def test_a_failing_file_fails_the_message_so_the_host_retries_it(exchange: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 ) -> None:  # fmt: skip
    name = drop(exchange, "valid_r")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("the exchange is unreachable")

    monkeypatch.setattr(loader, "load_file", broken)
    with pytest.raises(RuntimeError, match="1 file"):
        function("debt_files").get_user_function()(message({"company": 730, "file": name}))
    assert (exchange / "00730/Deudas/Pending" / name).exists(), "left where it was for the retry"


def test_a_poison_message_sets_its_file_aside_and_queues_the_rest(exchange: Path, azurite: str) -> None:
    first = drop(exchange, "valid_r")
    second = drop(exchange, "valid_n")
    function("debt_files_poison").get_user_function()(message({"company": 730, "file": first, "size": 1}, count=1))
    rejected = list((exchange / "00730/Deudas/Rejected").iterdir())
    (aside,) = [p for p in rejected if not p.name.endswith(".ERR")]
    assert aside.name.startswith(first + ".")
    error = (aside.parent / (aside.name + ".ERR")).read_text()
    assert "no se pudo procesar tras varios intentos" in error and first in error
    assert waiting() == [{"company": 730, "file": second, "size": (exchange / "00730/Deudas/Pending" / second).stat().st_size}]
    assert debts() == 0, "nothing of the poisoned file was applied"
    bootstrap.log_sink().flush()
    rows = read_partition(azurite, PROCESS_LOGS, partition_key("debt_files_poison", datetime.now(UTC)))
    assert any(r.get("Outcome") == "APARTADO" and r.get("File") == first for r in rows)


def test_a_poison_message_for_a_loaded_file_sets_nothing_aside(exchange: Path) -> None:
    name = drop(exchange, "valid_r")
    function("debt_files").get_user_function()(message({"company": 730, "file": name}))
    function("debt_files_poison").get_user_function()(message({"company": 730, "file": name}))
    assert not (exchange / "00730/Deudas/Rejected").exists() or not list((exchange / "00730/Deudas/Rejected").iterdir())
    assert debts() == 4
    assert waiting() == [], "nothing set aside: nothing queued again (the timer decides)"


def test_an_unreadable_poison_message_is_dropped(exchange: Path) -> None:
    function("debt_files_poison").get_user_function()(QueueMessage(id="x", body=b"garbage", dequeue_count=1))
    assert waiting() == []


def test_the_time_budget_stops_between_files_and_queues_the_rest(exchange: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 ) -> None:  # fmt: skip
    first = drop(exchange, "valid_r")
    second = drop(exchange, "valid_n")
    # 30 s left: the first file is always started; the second needs its estimate plus the 30 s margin
    monkeypatch.setattr(debt_loader, "deadline", lambda started: time.monotonic() + 30)
    function("debt_files").get_user_function()(message({"company": 730, "file": first}))
    assert (exchange / "00730/Deudas/Complete" / first).exists()
    assert (exchange / "00730/Deudas/Pending" / second).exists(), "untouched: it waits for the next message"
    assert [m["file"] for m in waiting()] == [second]
    monkeypatch.undo()
    assert deliver("debt_files", get_settings().debt_queue) == 1
    assert debts() == 5


def test_operators_list_and_requeue_poison_messages(exchange: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import manage

    queue = get_settings().debt_queue
    bootstrap.work_queues().client(queue + "-poison").send_message(
        base64.b64encode(b'{"company":730,"file":"D0073022112026001.TXT","size":1}').decode())
    assert manage.main(["poison"]) == 0
    assert '{"company":730,"file":"D0073022112026001.TXT","size":1}' in capsys.readouterr().out
    assert manage.main(["poison", "--requeue"]) == 0
    assert f"1 message(s) moved from {queue}-poison back to {queue}" in capsys.readouterr().out
    assert waiting() == [{"company": 730, "file": "D0073022112026001.TXT", "size": 1}]
    assert manage.main(["poison"]) == 0
    assert "is empty" in capsys.readouterr().out
    drop(exchange, "valid_r")
    assert manage.main(["dispatch-debts"]) == 0
    assert f"queued 1 companies (1 files) on {queue}" in capsys.readouterr().out


def test_a_rejected_file_says_why_in_process_logs(exchange: Path, azurite: str) -> None:
    from tests.integration.test_debt_golden import DATA

    (source,) = (DATA / "reject_header_company").glob("*.TXT")
    pending = exchange / "00730" / "Deudas" / "Pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / source.name).write_bytes(source.read_bytes())
    trace = uuid.uuid4().hex  # the session shares Azurite: this run's entities carry this trace id
    context = InvocationContext("inv", "debt_files", ".", trace_context=TraceContext(f"00-{trace}-{'1' * 16}-01"))
    function("debt_files").get_user_function()(message({"company": 730, "file": source.name}), context)
    bootstrap.log_sink().flush()
    rows = read_partition(azurite, PROCESS_LOGS, partition_key("debt_loader", datetime.now(UTC)))
    (row,) = [r for r in rows if r.get("File") == source.name and r.get("CorrelationId") == trace]
    assert row["Outcome"] == "RECHAZADO" and row["Detail"].startswith("linea ")
    err = (exchange / "00730" / "Deudas" / "Complete" / f"{source.name}.ERR").read_text(encoding="latin-1")
    assert row["Detail"].split(": ", 1)[1].split(";")[0] in err, "the reason the .ERR gives"
