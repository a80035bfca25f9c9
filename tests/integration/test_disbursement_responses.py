"""Response files: success, retryable and final rejections, retries up to the maximum,
problem lines reported and never applied, each file and line applied once, crashes at each
step; rows in SQL and bytes of the retry files checked on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from adapters.files.port import FileStore, FileStoreError
from domain.layouts.disbursements import RESPONSE
from sql.engine import create_engine
from sql.migrate import upgrade
from tests.conftest import sftp_exchange
from tests.integration.test_disbursement_dispatch import T0, approved, parse
from usecases.disbursement_responses import process_responses
from usecases.disbursements import dispatch_disbursements
from usecases.lending import save_customer, seed_lending_demo

T1 = T0 + timedelta(hours=1)


class Crash(Exception):
    pass


@pytest.fixture
def world(empty_db_url: str, tmp_path: Path) -> tuple[Engine, LocalFileStore, Path]:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    seed_lending_demo(engine, T0)
    save_customer(engine, "CUST-001", "+525500000001", T0)
    yield engine, LocalFileStore(tmp_path / "x"), tmp_path / "x" / "dispersiones"
    engine.dispose()


def line(purchase: str, status: str, code: str, attempt: int = 0, key: str = "") -> bytes:
    return RESPONSE.format({"id_transaccion": purchase, "estatus": status, "codigo_motivo": code,
                            "clave_rastreo": key, "fecha_operacion": date(2026, 11, 22), "intento": attempt})  # fmt: skip


def drop(root: Path, name: str, *lines: bytes) -> None:
    (root / "respuestas").mkdir(parents=True, exist_ok=True)
    (root / "respuestas" / name).write_bytes(b"".join(x + b"\r\n" for x in lines))


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def state(engine: Engine, purchase: str) -> tuple:
    return rows(engine, f"SELECT state, retries FROM lending_purchases WHERE id = '{purchase}'")[0]


def test_success_retry_and_final_rejection(world: tuple) -> None:
    engine, store, root = world
    ok, retry, final = approved(engine, "100.00"), approved(engine, "250.50"), approved(engine, "10.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(ok, "P", "00", key="BBVA1"), line(retry, "R", "02"), line(final, "R", "03"))
    (result,), (retry_file,) = process_responses(engine, store, lambda: T1, max_retries=2)
    assert (result.lines, result.disbursed, result.retried, result.failed, result.problems) == (3, 1, 1, 1, [])
    assert [state(engine, p) for p in (ok, retry, final)] == [("DISBURSED", 0), ("DISBURSING", 1),
                                                              ("DISBURSEMENT_FAILED", 0)]  # fmt: skip
    header, details, trailer = parse(root / "reintentos" / retry_file.file_name)
    assert header["tipo_archivo"] == "R" and retry_file.file_name.startswith("REIN_20261122_130000_")
    assert [(d["id_transaccion"], d["intento"], d["importe"]) for d in details] == [(retry, 1, 25050)]
    assert (trailer["numero_registros"], trailer["importe_total"]) == (1, 25050)
    assert not (root / "respuestas" / "RESP_1.TXT").exists() and (root / "respuestas/procesados/RESP_1.TXT").exists()
    events = rows(engine, "SELECT event_id, outcome, state, attempt, reason_code, tracking_key FROM lending_webhooks"
                          " ORDER BY outcome")  # fmt: skip
    assert events == [(f"{ok}.disbursed", "disbursed", "PENDING", 0, "00", "BBVA1"),
                      (f"{final}.failed", "failed", "PENDING", 0, "03", None)]  # fmt: skip
    answers = rows(engine, "SELECT purchase_id, attempt, result, reason_code FROM lending_dispatches ORDER BY id")
    assert set(answers) == {(ok, 0, "P", "00"), (retry, 0, "R", "02"), (final, 0, "R", "03"), (retry, 1, None, None)}
    # the retry is rejected again with a retryable reason: attempt 1 < 2 goes again, then attempt 2 fails
    drop(root, "RESP_2.TXT", line(retry, "R", "13", attempt=1))
    (second,), (again,) = process_responses(engine, store, lambda: T1 + timedelta(hours=1), max_retries=2)
    assert (second.retried, state(engine, retry)) == (1, ("DISBURSING", 2))
    assert [d["intento"] for d in parse(root / "reintentos" / again.file_name)[1]] == [2]
    drop(root, "RESP_3.TXT", line(retry, "R", "02", attempt=2))
    (third,), retry_files = process_responses(engine, store, lambda: T1 + timedelta(hours=2), max_retries=2)
    assert (third.failed, retry_files, state(engine, retry)) == (1, [], ("DISBURSEMENT_FAILED", 2))
    transitions = rows(engine, f"SELECT event, to_state FROM lending_events WHERE purchase_id = '{retry}' ORDER BY id")
    assert transitions == [("disbursing", "DISBURSING"), ("retry", "DISBURSING"), ("retry", "DISBURSING"),
                           ("failed", "DISBURSEMENT_FAILED")]  # fmt: skip


def test_problem_lines_are_reported_and_never_applied(world: tuple) -> None:
    engine, store, root = world
    a, b = approved(engine, "100.00"), approved(engine, "200.00")
    dispatch_disbursements(engine, store, lambda: T0)
    unknown = "0b0f5d7e-1111-4c2e-9a01-5f2b0bf9e000"
    drop(root, "RESP_1.TXT",
         b"garbage", line(a, "P", "00"), line(unknown, "P", "00"), line(a, "R", "02"),  # 4: a twice in the file
         line(b, "P", "13"), line(b, "R", "00"), line(b, "P", "00", attempt=3), line(b, "R", "01"))  # fmt: skip
    (result,), _ = process_responses(engine, store, lambda: T1, max_retries=2)
    assert (result.lines, result.disbursed, result.failed, result.malformed, result.unknown, result.duplicates) == (
        8, 1, 1, 3, 2, 1)  # fmt: skip
    assert [p.split(":")[0] for p in result.problems] == ["line 1 malformed", "line 3 unknown", "line 4 duplicate",
                                                          "line 5 malformed", "line 6 malformed", "line 7 unknown"]  # fmt: skip
    assert "codigo_motivo" in result.problems[3] and "tipo_registro" not in result.problems[0]
    assert state(engine, a)[0] == "DISBURSED" and state(engine, b)[0] == "DISBURSEMENT_FAILED"
    # a late answer to an attempt already answered, in a new file: reported, the purchase untouched
    drop(root, "RESP_2.TXT", line(a, "R", "03"))
    (late,), _ = process_responses(engine, store, lambda: T1, max_retries=2)
    assert (late.duplicates, late.failed, state(engine, a)[0]) == (1, 0, "DISBURSED")
    assert rows(engine, "SELECT count(*) FROM lending_webhooks") == [(2,)]


def test_the_same_file_twice_is_applied_once(world: tuple) -> None:
    engine, store, root = world
    a = approved(engine, "100.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(a, "R", "02"))
    process_responses(engine, store, lambda: T1, max_retries=3)
    drop(root, "RESP_1.TXT", line(a, "R", "02"))  # the bank drops the very same file again
    (again,), retry_files = process_responses(engine, store, lambda: T1, max_retries=3)
    assert again.already_applied and retry_files == [] and state(engine, a) == ("DISBURSING", 1)
    assert rows(engine, "SELECT count(*) FROM lending_response_files") == [(1,)]
    assert len(list((root / "reintentos").iterdir())) == 1 and not list((root / "respuestas").glob("*.TXT"))


@pytest.fixture(params=["file", "sftp"])
def exchange(request: pytest.FixtureRequest, world: tuple) -> tuple[FileStore, Path]:
    """The exchange as a local folder, or the same kind of folder behind a real sshd."""
    if request.param == "file":
        return world[1], world[2]
    store, folder = sftp_exchange(request.getfixturevalue("sshd"))
    return store, folder / "dispersiones"


@pytest.mark.parametrize("step", ["applying", "applied", "uploaded", "marked", "archived"])
def test_a_crash_at_each_step_applies_each_response_once(world: tuple, exchange: tuple, step: str) -> None:
    engine = world[0]
    store, root = exchange
    a, b = approved(engine, "100.00"), approved(engine, "200.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(a, "P", "00"), line(b, "R", "99"))

    def crash(at: str) -> None:
        if at == step:
            raise Crash(at)

    with pytest.raises(Crash):
        process_responses(engine, store, lambda: T1, max_retries=3, checkpoint=crash)
    _, retry_files = process_responses(engine, store, lambda: T1 + timedelta(minutes=5), max_retries=3)
    assert (state(engine, a), state(engine, b)) == (("DISBURSED", 0), ("DISBURSING", 1))
    assert rows(engine, "SELECT count(*) FROM lending_webhooks") == [(1,)]
    assert rows(engine, "SELECT count(*) FROM lending_dispatches WHERE attempt = 1") == [(1,)]
    assert rows(engine, "SELECT count(*), sum(lines) FROM lending_response_files") == [(1, 2)]
    (written,) = (root / "reintentos").iterdir()
    assert [d["id_transaccion"] for d in parse(written)[1]] == [b]
    assert [r.file_name for r in retry_files] in ([written.name], [])
    assert [f.name for f in (root / "respuestas" / "procesados").iterdir()] == ["RESP_1.TXT"]
    assert rows(engine, "SELECT count(*) FROM lending_events WHERE event IN ('retry', 'disbursed')") == [(2,)]


def test_two_processors_at_once_apply_each_line_once(world: tuple) -> None:
    engine, store, root = world
    purchases = [approved(engine, "10.00") for _ in range(20)]
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", *[line(p, "R", "02") for p in purchases])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            process_responses(engine, store, lambda: T1, max_retries=3)
        except FileStoreError as exc:  # a lost race on the move is fine; a double application is not
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    process_responses(engine, store, lambda: T1, max_retries=3)
    assert rows(engine, "SELECT count(*) FROM lending_dispatches WHERE attempt = 1") == [(20,)]
    assert rows(engine, "SELECT DISTINCT retries FROM lending_purchases") == [(1,)]
    assert rows(engine, "SELECT count(*) FROM lending_response_files") == [(1,)]
