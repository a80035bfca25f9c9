"""Issue 29, credit-line purchases: a Mambu line that is not stated exactly refuses (never the
whole limit); every purchase before money can move ends at its deadline or by an operator and
releases its hold exactly once, also when the timer races a confirmation; an SMS that fails at
OTP #2 leaves the QR to be scanned again; OTP codes and wrong guesses are capped per order and
per customer and day. Through the use cases, on SQLite and PostgreSQL, with the fake Mambu over
real HTTP and the SMS outbox."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from adapters.sms import SmsError, read_outbox
from domain.lending import LendingError
from domain.lending.credit import CreditLine
from domain.lending.states import EXPIRES, MONEY_MAY_MOVE, State
from sql.engine import create_engine
from sql.tables import lending_purchases
from tests.integration.test_lending_flow import CFG, T0, World, _customer, _unique, world  # noqa: F401 - fixture
from usecases.lending import (
    confirm_payment,
    confirm_qr_otp,
    expire_qrs,
    holds,
    register_order,
    release_purchase,
    request_qr,
    scan_qr,
)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def refused(code: str, run: Any) -> LendingError:
    with pytest.raises(LendingError) as caught:
        run()
    assert caught.value.code == code, caught.value
    return caught.value


def wrong(world: World, phone: str) -> str:  # noqa: F811
    """A code that is not the last one sent to `phone`."""
    return "000000" if world.code(phone) != "000000" else "111111"


def sent_to(world: World, phone: str) -> int:  # noqa: F811
    return sum(1 for m in read_outbox(world.outbox) if m["to"] == phone)


def rows(world: World, sql: str, **params: Any) -> list[tuple]:  # noqa: F811
    with world.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def events(world: World, purchase: str) -> list[tuple]:  # noqa: F811
    return rows(world, "SELECT from_state, event, to_state FROM lending_events WHERE purchase_id = :p ORDER BY id",
                p=purchase)  # fmt: skip


def arrangement(world: World, who: str, set_: dict | None = None, drop: list[str] | None = None) -> None:  # noqa: F811
    """Change the fake Mambu's arrangement of `who` as Mambu might send it."""
    answer = httpx.put(f"{world.mambu}/_fake/customers/{who}/arrangement", json={"set": set_ or {}, "drop": drop or []})
    answer.raise_for_status()


def ask(world: World, who: str, order_id: str, amount: str, at: datetime, cfg=CFG) -> dict[str, Any]:  # noqa: F811
    return request_qr(world.engine, world.credit, world.sms, cfg, "KOF", order_id, who, Decimal(amount), lambda: at)


def issued(world: World, who: str, phone: str, amount: str, at: datetime) -> dict[str, Any]:  # noqa: F811
    started = world.qr(who, amount, at)
    return confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, world.code(phone), lambda: at)


class FixedLine:
    """A credit engine that answers one line (after `gate`, when given: to start a race)."""

    def __init__(self, line: CreditLine, gate: threading.Barrier | None = None) -> None:
        self.line = line
        self.gate = gate

    def credit_line(self, customer_id: str) -> CreditLine:
        if self.gate is not None:
            self.gate.wait(timeout=30)
        return self.line

    def book_drawdown(self, customer_id: str, purchase_id: str, amount: Decimal) -> str:
        raise AssertionError("not booked here")


class BrokenSms:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.tries = 0

    def send(self, phone: str, text: str) -> str:
        self.tries += 1
        raise self.error


# -- fault 1: a line Mambu does not state exactly refuses ------------------------------------------


def test_a_line_without_its_available_amount_refuses_and_the_order_stays_usable(world: World) -> None:  # noqa: F811
    """The fault: limit 1000, 950 consumed, availableCreditAmount left out: 900 was accepted."""
    who, phone = _unique(), "+525512290001"
    _customer(world, who, phone, "1000", "50")
    arrangement(world, who, drop=["availableCreditAmount"])
    order = world.order(who, "900.00")
    error = refused("linea_no_verificable", lambda: ask(world, who, order, "900.00", T0))
    assert "availableCreditAmount is missing" in error.message
    (purchase,) = rows(world, "SELECT id, state, reason FROM lending_purchases WHERE customer_id = :c", c=who)
    assert purchase[1] == "REJECTED" and "availableCreditAmount" in purchase[2]
    checks = rows(world, "SELECT step, approved, code, credit_limit, available FROM lending_credit_checks"
                  " WHERE purchase_id = :p", p=purchase[0])  # fmt: skip
    assert [(s, bool(a), c, Decimal(limit), avail) for s, a, c, limit, avail in checks] == [
        ("qr_request", False, "linea_no_verificable", Decimal(1000), None)]  # fmt: skip
    assert sent_to(world, phone) == 0, "no OTP for a refused line"
    arrangement(world, who, set_={"availableCreditAmount": 950.0, "consumedCreditAmount": 50.0})
    assert ask(world, who, order, "900.00", minutes(1))["state"] == "PENDING_OTP1", "the same order, once Mambu is right"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"set": {"availableCreditAmount": None}}, "availableCreditAmount is missing"),
        ({"set": {"availableCreditAmount": "900"}}, "availableCreditAmount is str"),
        ({"set": {"availableCreditAmount": -1}}, "availableCreditAmount is negative"),
        ({"set": {"availableCreditAmount": 900.005}}, "more than two decimals"),
        ({"set": {"availableCreditAmount": 1500.0}}, "more than the limit"),
        ({"drop": ["amount"]}, "amount (the limit) is missing"),
        ({"set": {"currency": None}}, "the currency is None"),
    ],
)
def test_unreadable_lines_refuse_at_the_request(world: World, change: dict, named: str) -> None:  # noqa: F811
    who = _unique()
    _customer(world, who, "+525512290002", "1000", "900")
    arrangement(world, who, change.get("set"), change.get("drop"))
    assert named in refused("linea_no_verificable", lambda: world.qr(who, "10.00")).message


def test_an_unreadable_line_at_approval_keeps_the_purchase_and_its_code(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290003"
    _customer(world, who, phone, "1000", "900")
    started = world.qr(who, "100.00")
    qr = confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, world.code(phone), lambda: T0)
    scan_qr(world.engine, world.sms, CFG, qr["qrPayload"], "KOF", lambda: minutes(1))
    arrangement(world, who, drop=["availableCreditAmount"])
    confirm = lambda: confirm_payment(world.engine, world.credit, CFG, started["purchaseId"], who,  # noqa: E731
                                      world.code(phone), lambda: minutes(2))  # fmt: skip
    refused("linea_no_verificable", confirm)
    assert world.state(started["purchaseId"]) == "PENDING_OTP2", "still held, still confirmable"
    assert ("PENDING_OTP2", "credit_unreadable", None) in events(world, started["purchaseId"])
    assert rows(world, "SELECT code, approved FROM lending_credit_checks WHERE purchase_id = :p AND step = 'approval'",
                p=started["purchaseId"]) == [("linea_no_verificable", False)]  # fmt: skip
    assert rows(world, "SELECT attempts FROM lending_otps WHERE purchase_id = :p AND purpose = 'otp2'",
                p=started["purchaseId"]) == [(0,)], "the code was not looked at"  # fmt: skip
    arrangement(world, who, set_={"availableCreditAmount": 900.0})
    assert confirm()["state"] == "APPROVED"


def test_any_engine_s_impossible_line_is_refused(world: World) -> None:  # noqa: F811
    """Not only the Mambu adapter: a line with more available than its limit refuses in the use case."""
    who = _unique()
    _customer(world, who, "+525512290004", "1000", "900")
    line = CreditLine("CA-X", limit=Decimal(1000), available=Decimal(5000), overdue=Decimal(0))
    order = world.order(who, "2000.00")
    run = lambda: request_qr(world.engine, FixedLine(line), world.sms, CFG, "KOF", order, who,  # noqa: E731
                             Decimal("2000.00"), lambda: T0)  # fmt: skip
    assert "more than the limit" in refused("linea_no_verificable", run).message


# -- fault 2: every purchase before money ends in bounded time, exactly once ----------------------


def test_a_purchase_abandoned_at_otp1_expires_and_frees_its_order_and_limit(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290010"
    _customer(world, who, phone, "1000", "1000")
    order = world.order(who, "900.00")
    started = ask(world, who, order, "900.00", T0)
    assert started["expiresAt"] == "2026-11-22T12:05:00-06:00", "OTP #1's five minutes"
    refused("orden_en_uso", lambda: ask(world, who, order, "900.00", minutes(1)))
    refused("limite_insuficiente", lambda: world.qr(who, "900.00", minutes(1)))
    assert expire_qrs(world.engine, lambda: minutes(4.9)) == 0
    assert expire_qrs(world.engine, lambda: minutes(5)) == 1
    assert expire_qrs(world.engine, lambda: minutes(6)) == 0, "once"
    assert world.state(started["purchaseId"]) == "EXPIRED"
    assert events(world, started["purchaseId"]) == [("PENDING_CREDIT", "credit_ok", "PENDING_OTP1"),
                                                    ("PENDING_OTP1", "expired", "EXPIRED")]  # fmt: skip
    refused("otp_expirado", lambda: confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, world.code(phone),
                                                   lambda: minutes(6)))  # fmt: skip
    again = ask(world, who, order, "900.00", minutes(7))
    assert again["state"] == "PENDING_OTP1", "the order and the limit are free again"


def _insert(world: World, who: str, state: str, **values: Any) -> str:  # noqa: F811
    order_id = f"H-{uuid.uuid4().hex[:8]}"
    register_order(world.engine, "KOF", order_id, who, Decimal("10.00"), "Pedido", "kof", T0)
    purchase = str(uuid.uuid4())
    with world.engine.begin() as conn:
        ref = conn.execute(sa.text("SELECT id FROM lending_orders WHERE order_id = :o"), {"o": order_id}).scalar()
        conn.execute(sa.insert(lending_purchases).values(
            id=purchase, order_ref=ref, channel="KOF", customer_id=who, amount=Decimal("10.00"), amount_cents=1000,
            concept="Pedido", operation="COMPRA_LINEA_CREDITO", clabe="012180012345678906", state=state,
            reason="by hand", created_at=T0, **{"updated_at": T0, **values}))  # fmt: skip
    return purchase


def test_every_state_before_money_expires_and_money_states_never(world: World) -> None:  # noqa: F811
    who = _unique()
    _customer(world, who, "+525512290011", "1000", "1000")
    dated = {s: _insert(world, who, s.value, expires_at=minutes(3)) for s in EXPIRES}
    undated = {s: _insert(world, who, s.value) for s in EXPIRES}  # no deadline: older code, by hand
    with_qr = _insert(world, who, "QR_PENDING", valid_until=minutes(2))
    money = {s: _insert(world, who, s.value, expires_at=minutes(1)) for s in MONEY_MAY_MOVE}
    assert expire_qrs(world.engine, lambda: minutes(2.5)) == 1, "the undated QR, at its validity"
    assert expire_qrs(world.engine, lambda: minutes(3)) == len(EXPIRES)
    assert {world.state(p) for p in dated.values()} == {"EXPIRED"}
    assert expire_qrs(world.engine, lambda: minutes(20)) == len(EXPIRES), "undated: after the longest wait"
    assert {world.state(p) for p in [*undated.values(), with_qr]} == {"EXPIRED"}
    assert expire_qrs(world.engine, lambda: minutes(60 * 24 * 30)) == 0
    assert {s.value: world.state(p) for s, p in money.items()} == {s.value: s.value for s in MONEY_MAY_MOVE}
    assert {h.id for h in holds(world.engine, who)} == set(money.values()), "what still holds: the money states"
    ended = [*dated.items(), *undated.items(), (State.QR_PENDING, with_qr)]
    for state, purchase in ended:
        assert events(world, purchase) == [(state.value, "expired", "EXPIRED")], "one event, exactly once"


def test_an_operator_releases_a_stuck_purchase_once_and_never_a_money_one(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290012"
    _customer(world, who, phone, "1000", "1000")
    started = world.qr(who, "900.00")
    refused("limite_insuficiente", lambda: world.qr(who, "900.00"))
    refused("motivo_requerido", lambda: release_purchase(world.engine, started["purchaseId"], "  ", lambda: T0))
    done = release_purchase(world.engine, started["purchaseId"], "customer called: abandoned", lambda: minutes(1))
    assert (done["state"], done["reason"]) == ("REJECTED", "released by an operator: customer called: abandoned")
    assert events(world, started["purchaseId"])[-1] == ("PENDING_OTP1", "released", "REJECTED")
    refused("transicion_invalida", lambda: release_purchase(world.engine, started["purchaseId"], "again", lambda: T0))
    assert expire_qrs(world.engine, lambda: minutes(30)) == 0, "released: nothing left to expire"
    assert world.qr(who, "900.00", minutes(2))["state"] == "PENDING_OTP1", "the hold went with it"
    for state in MONEY_MAY_MOVE:
        purchase = _insert(world, who, state.value)
        error = refused("transicion_invalida", lambda p=purchase: release_purchase(world.engine, p, "x", lambda: T0))
        assert "money may be on its way" in error.message and world.state(purchase) == state.value
    refused("compra_desconocida", lambda: release_purchase(world.engine, str(uuid.uuid4()), "x", lambda: T0))


def _confirm(url: str, line: CreditLine, gate: threading.Barrier, purchase: str, who: str, code: str,
             results: dict[str, Any]) -> None:  # fmt: skip
    engine = create_engine(url)
    try:
        results["confirm"] = confirm_payment(engine, FixedLine(line, gate), CFG, purchase, who, code,
                                             lambda: minutes(14.9))["state"]  # fmt: skip
    except LendingError as exc:
        results["confirm"] = exc.code
    finally:
        engine.dispose()


def _expire(url: str, gate: threading.Barrier, at: datetime, pause: float, results: dict[str, Any]) -> None:
    engine = create_engine(url)
    try:
        gate.wait(timeout=30)
        threading.Event().wait(pause)  # some of the time, let the other side start first
        results["expire"] = expire_qrs(engine, lambda: at)
    finally:
        engine.dispose()


def _release(url: str, gate: threading.Barrier, purchase: str, results: dict[str, Any]) -> None:
    engine = create_engine(url)
    try:
        gate.wait(timeout=30)
        results["release"] = release_purchase(engine, purchase, "race", lambda: minutes(2))["state"]
    except LendingError as exc:
        results["release"] = exc.code
    finally:
        engine.dispose()


def _race(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_the_timer_and_a_confirmation_racing_never_both_win(world: World, empty_db_url: str) -> None:  # noqa: F811
    """Confirm (OTP #2 right, just before the deadline) and the timer (just after it) at the same
    moment, ten times: one of them moves the purchase, the other finds it moved; one event."""
    line = CreditLine("CA-R", limit=Decimal(100000), available=Decimal(100000), overdue=Decimal(0))
    outcomes = []
    for n in range(10):
        who, phone = _unique(), f"+5255122901{n:02d}"
        _customer(world, who, phone, "100000", "100000")
        qr = issued(world, who, phone, "10.00", minutes(0))
        scan_qr(world.engine, world.sms, CFG, qr["qrPayload"], "KOF", lambda: minutes(10))
        purchase, gate, results = qr["purchaseId"], threading.Barrier(2), {}
        _race(threading.Thread(target=_confirm, args=(empty_db_url, line, gate, purchase, who, world.code(phone),
                                                      results)),
              threading.Thread(target=_expire, args=(empty_db_url, gate, minutes(15), 0.002 * (n % 3), results)))
        state = world.state(purchase)
        out_of_otp2 = [e for e in events(world, purchase) if e[0] == "PENDING_OTP2"]
        assert len(out_of_otp2) == 1, out_of_otp2
        if state == "APPROVED":
            assert (results["confirm"], results["expire"], out_of_otp2[0][1]) == ("APPROVED", 0, "otp2_ok")
        else:
            assert (state, results["confirm"], results["expire"]) == ("EXPIRED", "qr_expirado", 1)
        outcomes.append(state)
    assert set(outcomes) <= {"APPROVED", "EXPIRED"}


def test_the_timer_and_an_operator_racing_release_once(world: World, empty_db_url: str) -> None:  # noqa: F811
    who = _unique()
    _customer(world, who, "+525512290014", "100000", "100000")
    for n in range(6):
        purchase = _insert(world, who, "PENDING_OTP1", expires_at=minutes(1))
        gate, results = threading.Barrier(2), {}
        _race(threading.Thread(target=_release, args=(empty_db_url, gate, purchase, results)),
              threading.Thread(target=_expire, args=(empty_db_url, gate, minutes(2), 0.002 * (n % 2), results)))
        ended = [e for e in events(world, purchase) if e[0] == "PENDING_OTP1"]
        assert len(ended) == 1 and ended[0][2] == world.state(purchase), ended
        assert (results["release"] == "REJECTED") == (results["expire"] == 0), results


# -- fault 3: an SMS that fails at OTP #2 -----------------------------------------------------------


@pytest.mark.parametrize("error", [SmsError("ACS refused the SMS: HTTP 500"),
                                   OSError("[Errno 21] Is a directory: '/srv/app/.data/sms-outbox.jsonl'")])
def test_a_failed_otp2_sms_puts_the_qr_back_to_be_scanned_again(world: World, error: Exception) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290020"
    _customer(world, who, phone, "1000", "1000")
    qr = issued(world, who, phone, "100.00", T0)
    broken = BrokenSms(error)
    failed = refused("sms_no_enviado", lambda: scan_qr(world.engine, broken, CFG, qr["qrPayload"], "KOF",
                                                       lambda: minutes(1)))  # fmt: skip
    assert "scan it again" in failed.message and broken.tries == 1
    assert world.state(qr["purchaseId"]) == "QR_PENDING"
    # the purchase's reason (its API shows it to the distributor and the customer app) does not
    # quote the provider's error, which may name hosts or paths; the event keeps it for operators
    (reason,) = rows(world, "SELECT reason FROM lending_purchases WHERE id = :p", p=qr["purchaseId"])[0]
    assert reason == "OTP #2 SMS not sent"
    (detail,) = rows(world, "SELECT detail FROM lending_events WHERE purchase_id = :p AND event = 'sms_failed'",
                     p=qr["purchaseId"])[0]  # fmt: skip
    assert str(error).split(":")[0] in detail
    assert events(world, qr["purchaseId"])[-2:] == [("QR_PENDING", "scanned", "PENDING_OTP2"),
                                                    ("PENDING_OTP2", "sms_failed", "QR_PENDING")]  # fmt: skip
    assert rows(world, "SELECT outcome FROM lending_otps WHERE purchase_id = :p AND purpose = 'otp2'",
                p=qr["purchaseId"]) == [("not_sent",)]  # fmt: skip
    again = scan_qr(world.engine, world.sms, CFG, qr["qrPayload"], "KOF", lambda: minutes(2))
    assert again["state"] == "PENDING_OTP2"
    done = confirm_payment(world.engine, world.credit, CFG, qr["purchaseId"], who, world.code(phone),
                           lambda: minutes(3))  # fmt: skip
    assert done["state"] == "APPROVED"


def test_a_rescan_of_a_used_qr_is_recorded(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290021"
    _customer(world, who, phone, "1000", "1000")
    qr = issued(world, who, phone, "100.00", T0)
    scan_qr(world.engine, world.sms, CFG, qr["qrPayload"], "KOF", lambda: minutes(1))
    refused("qr_usado", lambda: scan_qr(world.engine, world.sms, CFG, qr["qrPayload"], "KOF", lambda: minutes(2)))
    assert events(world, qr["purchaseId"])[-1] == ("PENDING_OTP2", "scanned", None)


# -- fault 4: OTP rounds and wrong guesses are capped ---------------------------------------------


def test_wrong_guesses_are_capped_across_rounds(world: World) -> None:  # noqa: F811
    """The fault: three wrong codes, then a new purchase of the same order, a new SMS and three
    more guesses, for ever. Now six wrong codes a day end it, and nothing more is sent."""
    who, phone = _unique(), "+525512290030"
    _customer(world, who, phone, "1000", "1000")
    order = world.order(who, "100.00")
    answers = []
    for round_ in range(6):
        at = minutes(round_)
        try:
            started = ask(world, who, order, "100.00", at)
        except LendingError as exc:
            answers.append(exc.code)
            continue
        for _ in range(CFG.otp_max_attempts):
            try:
                confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, wrong(world, phone), lambda at=at: at)
            except LendingError as exc:
                answers.append(exc.code)
                if exc.code != "otp_incorrecto":
                    break
    assert answers == ["otp_incorrecto", "otp_incorrecto", "otp_agotado",
                       "otp_incorrecto", "otp_incorrecto", "otp_limite_diario",
                       "otp_limite_diario", "otp_limite_diario", "otp_limite_diario", "otp_limite_diario"]  # fmt: skip
    assert sent_to(world, phone) == 2, "two codes, not eight"
    capped = refused("otp_limite_diario", lambda: ask(world, who, order, "100.00", minutes(10)))
    assert capped.retry_after == (11 * 60 + 50) * 60 + 1, "until midnight in Mexico City (it is 12:10 there)"
    assert rows(world, "SELECT sum(wrong) FROM lending_otps o JOIN lending_purchases p ON p.id = o.purchase_id"
                " WHERE p.customer_id = :c", c=who) == [(6,)]  # fmt: skip
    tomorrow = T0 + timedelta(days=1)
    assert ask(world, who, order, "100.00", tomorrow)["state"] == "PENDING_OTP1", "a new day"


def test_the_right_code_is_refused_once_the_day_s_wrong_codes_are_spent(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290031"
    _customer(world, who, phone, "1000", "1000")
    cfg = dataclasses.replace(CFG, otp_wrong_per_day=2, otp_max_attempts=3)
    first = ask(world, who, world.order(who, "10.00"), "10.00", T0, cfg)
    second = ask(world, who, world.order(who, "10.00"), "10.00", T0, cfg)
    code = world.code(phone)
    refused("otp_incorrecto", lambda: confirm_qr_otp(world.engine, cfg, first["purchaseId"], who, "000000" if code !=
                                                     "000000" else "111111", lambda: T0))  # fmt: skip
    refused("otp_limite_diario", lambda: confirm_qr_otp(world.engine, cfg, first["purchaseId"], who, "000000" if
                                                        code != "000000" else "111111", lambda: T0))  # fmt: skip
    refused("otp_limite_diario", lambda: confirm_qr_otp(world.engine, cfg, second["purchaseId"], who, code,
                                                        lambda: T0))  # fmt: skip
    assert {world.state(first["purchaseId"]), world.state(second["purchaseId"])} == {"REJECTED"}


def test_codes_per_order_are_capped(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290032"
    _customer(world, who, phone, "1000", "1000")
    cfg = dataclasses.replace(CFG, otp_rounds_per_order=3)
    order = world.order(who, "10.00")
    for n in range(3):  # each left to expire
        ask(world, who, order, "10.00", minutes(10 * n), cfg)
        expire_qrs(world.engine, lambda n=n: minutes(10 * n + 6))
    error = refused("otp_limite_orden", lambda: ask(world, who, order, "10.00", minutes(40), cfg))
    assert "new order" in error.message and error.retry_after is None
    assert sent_to(world, phone) == 3
    assert ask(world, who, world.order(who, "10.00"), "10.00", minutes(41), cfg)["state"] == "PENDING_OTP1"


def test_codes_per_customer_and_day_are_capped_at_the_scan_too(world: World) -> None:  # noqa: F811
    who, phone = _unique(), "+525512290033"
    _customer(world, who, phone, "1000", "1000")
    cfg = dataclasses.replace(CFG, otp_rounds_per_day=3)
    qrs = []
    for _ in range(2):
        started = ask(world, who, world.order(who, "10.00"), "10.00", T0, cfg)
        qrs.append(confirm_qr_otp(world.engine, cfg, started["purchaseId"], who, world.code(phone), lambda: T0))
    assert scan_qr(world.engine, world.sms, cfg, qrs[0]["qrPayload"], "KOF", lambda: minutes(1))["state"] == (
        "PENDING_OTP2")  # fmt: skip
    error = refused("otp_limite_diario", lambda: scan_qr(world.engine, world.sms, cfg, qrs[1]["qrPayload"], "KOF",
                                                         lambda: minutes(1)))  # fmt: skip
    assert error.retry_after and sent_to(world, phone) == 3
    assert world.state(qrs[1]["purchaseId"]) == "QR_PENDING"
    assert events(world, qrs[1]["purchaseId"])[-1] == ("QR_PENDING", "scanned", None)
    refused("otp_limite_diario", lambda: ask(world, who, world.order(who, "10.00"), "10.00", minutes(2), cfg))
    assert sent_to(world, phone) == 3, "no SMS beyond the cap"
