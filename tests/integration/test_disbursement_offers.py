"""A dispersion file is offered to the bank at most once (issue 29): a run that stopped after
putting it in the bank's folder and before marking it never writes it again. Found there, it
is marked; answered by the bank, it is marked; gone and unanswered, it is parked with an alert
until an operator has the bank's word. Every P line that is not its purchase's one
disbursement is an alert; a rejection of a purchase reported paid is held, not retried."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from domain.layouts.disbursements import RESPONSE
from fakes.bank import respond
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.tables import lending_disbursement_files
from tests.integration.test_disbursement_dispatch import T0, approved, parse
from usecases.alerts import list_alerts, resolve_alert
from usecases.disbursement_responses import process_responses
from usecases.disbursements import Offer, ResendRefused, dispatch_disbursements, resend_dispersion, write_file
from usecases.lending import save_customer, seed_lending_demo

T1 = T0 + timedelta(minutes=10)


class Crash(Exception):
    pass


def crash_at(step: str) -> Callable[[str], None]:
    def checkpoint(at: str) -> None:
        if at == step:
            raise Crash(at)

    return checkpoint


@pytest.fixture
def world(empty_db_url: str, tmp_path: Path) -> tuple[Engine, LocalFileStore, Path]:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    seed_lending_demo(engine, T0)
    save_customer(engine, "CUST-001", "+525500000001", T0)
    yield engine, LocalFileStore(tmp_path / "x"), tmp_path / "x" / "dispersiones"
    engine.dispose()


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def states(engine: Engine, *ids: str) -> list[str]:
    found = dict(rows(engine, "SELECT id, state FROM lending_purchases"))
    return [found[i] for i in ids]


def line(purchase: str, status: str, code: str, attempt: int = 0, key: str = "") -> bytes:
    return RESPONSE.format({"id_transaccion": purchase, "estatus": status, "codigo_motivo": code,
                            "clave_rastreo": key, "fecha_operacion": date(2026, 11, 22), "intento": attempt})  # fmt: skip


def drop(root: Path, name: str, *lines: bytes) -> None:
    (root / "respuestas").mkdir(parents=True, exist_ok=True)
    (root / "respuestas" / name).write_bytes(b"".join(x + b"\r\n" for x in lines))


def crashed_after_offering(world: tuple) -> tuple[list[str], str, bytes]:
    """The fault of issue 29: killed after the file is in pendientes/, before it is marked sent."""
    engine, store, root = world
    ids = [approved(engine, "5.00"), approved(engine, "7.25")]
    with pytest.raises(Crash):
        dispatch_disbursements(engine, store, lambda: T0, checkpoint=crash_at("uploaded"))
    (offered,) = (root / "pendientes").iterdir()
    return ids, offered.name, offered.read_bytes()


def test_a_file_the_bank_took_is_never_offered_again(world: tuple) -> None:
    engine, store, root = world
    ids, name, data = crashed_after_offering(world)
    respond(store, T0, {}, {})  # the bank takes the file (to enviados/) and pays both transfers
    (result,) = dispatch_disbursements(engine, store, lambda: T1)
    assert (result.file_name, result.outcome, result.recovered) == (name, Offer.UNCERTAIN, True)
    assert list((root / "pendientes").iterdir()) == [], "not written again"
    (alert,) = list_alerts(engine)
    assert alert.kind == "dispersion_uncertain" and alert.file_name == name and str(alert) == result.alert
    assert f"resend-dispersion {name} --bank-confirms-not-received" in alert.detail and "2 transfers" in alert.detail
    assert states(engine, *ids) == ["DISBURSING", "DISBURSING"]
    # later runs keep it parked, with the same alert, and still do not write it
    (again,) = dispatch_disbursements(engine, store, lambda: T1 + timedelta(minutes=10))
    assert again.outcome == Offer.PARKED and len(list_alerts(engine, open_only=False)) == 1
    with pytest.raises(ResendRefused, match="Ask the bank"):
        resend_dispersion(engine, store, name, lambda: T1, bank_confirms_not_received=False)
    # the bank's answer names its lines: it had the file; marked sent, the alert closed, paid once
    (answer,), _ = process_responses(engine, store, lambda: T1 + timedelta(minutes=20), max_retries=3)
    assert (answer.disbursed, answer.taken, answer.alerts) == (2, [name], [])
    assert states(engine, *ids) == ["DISBURSED", "DISBURSED"]
    assert list_alerts(engine) == [] and "answered its lines" in list_alerts(engine, open_only=False)[0].resolution
    assert rows(engine, "SELECT count(*) FROM lending_disbursement_files WHERE uploaded_at IS NULL") == [(0,)]
    with pytest.raises(ResendRefused, match="marked sent"):
        resend_dispersion(engine, store, name, lambda: T1, bank_confirms_not_received=True)
    assert dispatch_disbursements(engine, store, lambda: T1 + timedelta(hours=1)) == []
    assert [p.name for p in (root / "enviados").iterdir()] == [name] and (root / "enviados" / name).read_bytes() == data


def test_the_operator_resends_once_the_bank_confirms_it_did_not_receive_it(world: tuple) -> None:
    engine, store, root = world
    ids, name, data = crashed_after_offering(world)
    store.move(f"dispersiones/pendientes/{name}", f"lost/{name}")  # gone: the bank's pull? nobody knows
    (result,) = dispatch_disbursements(engine, store, lambda: T1)
    assert result.outcome == Offer.UNCERTAIN
    with pytest.raises(ResendRefused, match="only if it did not"):
        resend_dispersion(engine, store, name, lambda: T1, bank_confirms_not_received=False)
    with pytest.raises(ResendRefused, match="no dispersion or retry file"):
        resend_dispersion(engine, store, "DISP_NOPE.TXT", lambda: T1, bank_confirms_not_received=True)
    resent = resend_dispersion(engine, store, name, lambda: T1 + timedelta(minutes=1), bank_confirms_not_received=True)
    assert resent.file_name == name and (root / "pendientes" / name).read_bytes() == data, "the same bytes, same name"
    assert list_alerts(engine) == [] and "did not receive it" in list_alerts(engine, open_only=False)[0].resolution
    events = rows(engine, "SELECT purchase_id, event, to_state FROM lending_events WHERE event = 'resent'")
    assert sorted(events) == sorted((i, "resent", "DISBURSING") for i in ids)
    with pytest.raises(ResendRefused, match="marked sent"):
        resend_dispersion(engine, store, name, lambda: T1, bank_confirms_not_received=True)
    assert dispatch_disbursements(engine, store, lambda: T1 + timedelta(hours=1)) == []
    respond(store, T1, {}, {})
    (answer,), _ = process_responses(engine, store, lambda: T1 + timedelta(hours=2), max_retries=3)
    assert (answer.disbursed, answer.alerts, states(engine, *ids)) == (2, [], ["DISBURSED", "DISBURSED"])


def test_a_file_still_in_the_folder_is_marked_not_rewritten(world: tuple) -> None:
    engine, store, root = world
    _, name, data = crashed_after_offering(world)
    before = os.stat(root / "pendientes" / name)
    (result,) = dispatch_disbursements(engine, store, lambda: T1)
    assert (result.file_name, result.outcome) == (name, Offer.FOUND)
    after = os.stat(root / "pendientes" / name)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "not written again"
    assert (root / "pendientes" / name).read_bytes() == data and list_alerts(engine, open_only=False) == []
    assert dispatch_disbursements(engine, store, lambda: T1 + timedelta(minutes=5)) == []


def test_a_file_in_the_folder_with_other_bytes_is_parked(world: tuple) -> None:
    engine, store, root = world
    _, name, data = crashed_after_offering(world)
    (root / "pendientes" / name).write_bytes(data.replace(b"KOF MEXICO", b"SOMEONE EL"))
    (result,) = dispatch_disbursements(engine, store, lambda: T1)
    assert result.outcome == Offer.UNCERTAIN and "other bytes" in result.alert


@pytest.mark.parametrize("step", ["reserved", "staged"])
def test_a_file_that_never_reached_the_folder_is_written_once(world: tuple, step: str) -> None:
    engine, store, root = world
    ids = [approved(engine, "5.00"), approved(engine, "7.25")]
    with pytest.raises(Crash):
        dispatch_disbursements(engine, store, lambda: T0, checkpoint=crash_at(step))
    assert not (root / "pendientes").exists() or list((root / "pendientes").iterdir()) == []
    (result,) = dispatch_disbursements(engine, store, lambda: T1)
    assert (result.outcome, result.recovered) == (Offer.WRITTEN, True)
    (written,) = (root / "pendientes").iterdir()
    assert written.name == result.file_name and sorted(d["id_transaccion"] for d in parse(written)[1]) == sorted(ids)
    assert list_alerts(engine, open_only=False) == []
    assert dispatch_disbursements(engine, store, lambda: T1 + timedelta(minutes=5)) == []


def test_a_retry_file_the_bank_may_have_taken_is_parked_too(world: tuple) -> None:
    engine, store, root = world
    a = approved(engine, "100.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(a, "R", "02"))
    with pytest.raises(Crash):
        process_responses(engine, store, lambda: T1, max_retries=3, checkpoint=crash_at("uploaded"))
    (retry,) = (root / "reintentos").iterdir()
    store.move(f"dispersiones/reintentos/{retry.name}", f"dispersiones/enviados/{retry.name}")  # the bank took it
    _, (parked,) = process_responses(engine, store, lambda: T1 + timedelta(minutes=5), max_retries=3)
    assert (parked.file_name, parked.outcome) == (retry.name, Offer.UNCERTAIN)
    assert not list((root / "reintentos").iterdir())
    drop(root, "RESP_2.TXT", line(a, "P", "00", attempt=1, key="K2"))
    (answer,), (still,) = process_responses(engine, store, lambda: T1 + timedelta(minutes=9), max_retries=3)
    assert still.outcome == Offer.PARKED, "the run reports it parked before it reads the answer"
    assert (answer.disbursed, answer.taken, list_alerts(engine)) == (1, [retry.name], [])
    assert process_responses(engine, store, lambda: T1 + timedelta(minutes=19), max_retries=3) == ([], [])


def test_a_second_p_in_a_new_response_file_is_an_alert(world: tuple) -> None:
    engine, store, root = world
    a, b = approved(engine, "100.00"), approved(engine, "200.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(a, "P", "00", key="K1"), line(b, "P", "00", key="K2"), line(b, "P", "00", key="K3"))
    (first,), _ = process_responses(engine, store, lambda: T1, max_retries=3)
    assert (first.disbursed, first.duplicates, len(first.alerts)) == (2, 1, 1)
    assert "double_payment" in first.alerts[0] and "RESP_1.TXT line 3" in first.alerts[0]
    assert "RESP_1.TXT line 2" in first.alerts[0] and "tracking keys differ" in first.alerts[0]
    drop(root, "RESP_1.TXT", line(a, "P", "00", key="K1"), line(b, "P", "00", key="K2"), line(b, "P", "00", key="K3"))
    (same,), _ = process_responses(engine, store, lambda: T1, max_retries=3)  # the same bytes again: harmless
    assert same.already_applied and len(list_alerts(engine)) == 1
    drop(root, "RESP_2.TXT", line(a, "P", "00", key="K1"))  # another file re-states a's payment
    (second,), _ = process_responses(engine, store, lambda: T1 + timedelta(hours=1), max_retries=3)
    (alert,) = second.alerts
    assert "double_payment" in alert and f"purchase {a}" in alert and "RESP_1.TXT line 1" in alert
    assert "tracking key is the same" in alert
    assert states(engine, a, b) == ["DISBURSED", "DISBURSED"]
    assert rows(engine, "SELECT count(*) FROM lending_webhooks") == [(2,)], "one outcome per purchase"
    assert rows(engine, "SELECT count(*) FROM lending_drawdowns") == [(2,)]
    found = [(x.kind, x.purchase_id, x.file_name) for x in list_alerts(engine)]
    assert found == [("double_payment", a, "RESP_2.TXT"), ("double_payment", b, "RESP_1.TXT")]
    closed = resolve_alert(engine, list_alerts(engine)[0].id, "the bank confirms one transfer", T1)
    assert closed.resolution == "operator: the bank confirms one transfer" and len(list_alerts(engine)) == 1


def test_late_answers_to_a_retried_attempt(world: tuple) -> None:
    engine, store, root = world
    a, b = approved(engine, "100.00"), approved(engine, "50.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(a, "R", "02"), line(b, "R", "02"))
    (_, (retry,)) = process_responses(engine, store, lambda: T1, max_retries=3)
    # a late R for attempt 0: reported, nothing else; a late P for attempt 0 while attempt 1 is out: alert
    drop(root, "RESP_2.TXT", line(b, "R", "02"), line(a, "P", "00", key="K0"))
    (late,), retry_files = process_responses(engine, store, lambda: T1 + timedelta(hours=1), max_retries=3)
    (alert,) = late.alerts
    assert (late.duplicates, retry_files) == (2, []) and "unexpected_payment" in alert
    assert "answered rejected (SPEI 02) in RESP_1.TXT" in alert and "ask it not to pay" in alert
    # attempt 1 rejected again: a was reported paid, so it is held (not retried, not failed); b retries
    drop(root, "RESP_3.TXT", line(a, "R", "13", attempt=1), line(b, "R", "13", attempt=1))
    (third,), (again,) = process_responses(engine, store, lambda: T1 + timedelta(hours=2), max_retries=3)
    assert (third.retried, third.failed) == (1, 0) and [d["id_transaccion"] for d in parse(
        root / "reintentos" / again.file_name)[1]] == [b]  # fmt: skip
    (held,) = third.alerts
    assert "purchase_held" in held and "RESP_2.TXT line 2" in held and any("line 1 held" in p for p in third.problems)
    assert rows(engine, f"SELECT state, retries FROM lending_purchases WHERE id = '{a}'") == [("DISBURSING", 1)]
    assert rows(engine, f"SELECT event, to_state FROM lending_events WHERE purchase_id = '{a}' ORDER BY id")[-1] == (
        "held", "DISBURSING")  # fmt: skip
    assert rows(engine, f"SELECT count(*) FROM lending_webhooks WHERE purchase_id = '{a}'") == [(0,)]
    assert retry.file_name != again.file_name


def test_a_p_for_a_second_attempt_of_a_purchase_reported_paid(world: tuple) -> None:
    engine, store, root = world
    a = approved(engine, "100.00")
    dispatch_disbursements(engine, store, lambda: T0)
    drop(root, "RESP_1.TXT", line(a, "R", "99"))
    process_responses(engine, store, lambda: T1, max_retries=3)
    drop(root, "RESP_2.TXT", line(a, "P", "00", key="K0"))  # late P for attempt 0
    drop(root, "RESP_3.TXT", line(a, "P", "00", attempt=1, key="K1"))  # and attempt 1 paid too
    results, _ = process_responses(engine, store, lambda: T1 + timedelta(hours=1), max_retries=3)
    assert [len(r.alerts) for r in results] == [1, 1]
    assert "unexpected_payment" in results[0].alerts[0] and "double_payment" in results[1].alerts[0]
    assert "RESP_2.TXT line 1 (attempt 0, tracking key K0)" in results[1].alerts[0]
    assert states(engine, a) == ["DISBURSED"]


def test_payments_of_attempts_never_sent_or_unknown_purchases(world: tuple) -> None:
    engine, store, root = world
    a = approved(engine, "100.00")
    dispatch_disbursements(engine, store, lambda: T0)
    stranger = "0b0f5d7e-1111-4c2e-9a01-5f2b0bf9e000"
    drop(root, "RESP_1.TXT", line(a, "P", "00", attempt=4), line(stranger, "P", "00"), line(a, "R", "03"))
    (result,), _ = process_responses(engine, store, lambda: T1, max_retries=3)
    assert [x.split(":")[0] for x in result.alerts] == [f"ALERT #{n} unexpected_payment" for n in (1, 2)]
    assert "never sent" in result.alerts[0] and "no purchase of ours" in result.alerts[1]
    assert states(engine, a) == ["DISBURSEMENT_FAILED"], "a payment of an attempt never sent holds nothing back"


def test_only_the_run_that_claims_a_file_moves_it(world: tuple) -> None:
    """Two runs writing the same reserved file (a leftover and its own run): one claim, one move."""
    engine, store, root = world
    approved(engine, "5.00")
    with pytest.raises(Crash):
        dispatch_disbursements(engine, store, lambda: T0, checkpoint=crash_at("reserved"))
    with engine.connect() as conn:
        (row,) = conn.execute(sa.select(lending_disbursement_files)).all()
    moves = []

    def slow_run_claims_first(at: str) -> None:  # while this run staged its copy, another claimed and offered
        if at == "staged" and not moves:
            moves.append(write_file(engine, store, row, lambda step: None, lambda: T1))

    assert write_file(engine, store, row, slow_run_claims_first, lambda: T1) is False
    assert moves == [True] and [p.name for p in (root / "pendientes").iterdir()] == [row.file_name]
    assert not [p for p in (root.parent / ".tmp").iterdir()], "the losing run's staged copy is discarded"
    assert dispatch_disbursements(engine, store, lambda: T1 + timedelta(minutes=1)) == []
