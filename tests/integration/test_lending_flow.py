"""Credit-line QR purchases through the use cases, on SQLite and PostgreSQL, with the fake
Mambu over real HTTP and the SMS outbox: the whole flow, every refusal, expiry, concurrency."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.mambu import MambuCreditEngine, MambuUnavailable
from adapters.sms import OutboxSms, read_outbox
from domain.lending import LendingError
from domain.lending.clabe import make_clabe
from domain.lending.qr import sign, verify
from fakes.mambu import customer
from sql.engine import create_engine
from sql.migrate import upgrade
from tests.conftest import MAMBU_KEY, free_port
from usecases.lending import (
    LendingConfig,
    confirm_payment,
    confirm_qr_otp,
    expire_qrs,
    register_order,
    request_qr,
    save_channel,
    save_customer,
    scan_qr,
)

T0 = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
CFG = LendingConfig(signing_key=b"s" * 32)


@dataclass
class World:
    engine: Engine
    credit: MambuCreditEngine
    sms: OutboxSms
    outbox: Path
    mambu: str

    def code(self, phone: str) -> str:
        return [m for m in read_outbox(self.outbox) if m["to"] == phone][-1]["text"].split(" es ")[1][:6]

    def order(self, customer_id: str, amount: str, order_id: str | None = None) -> str:
        order_id = order_id or f"ORD-{uuid.uuid4().hex[:8]}"
        register_order(self.engine, "KOF", order_id, customer_id, Decimal(amount), "Pedido de prueba", "kof", T0)
        return order_id

    def qr(self, customer_id: str, amount: str, at: datetime = T0) -> dict[str, Any]:
        return request_qr(self.engine, self.credit, self.sms, CFG, "KOF", self.order(customer_id, amount), customer_id,
                          Decimal(amount), lambda: at)  # fmt: skip

    def state(self, purchase_id: str) -> str:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT state FROM lending_purchases WHERE id = :i"), {"i": purchase_id}
            ).scalar()


def _customer(world: World, customer_id: str, phone: str, limit: str, available: str, overdue: str = "0") -> None:
    httpx.put(f"{world.mambu}/_fake/customers/{customer_id}", json=customer(customer_id, limit, available, overdue))
    save_customer(world.engine, customer_id, phone, T0)


@pytest.fixture
def world(empty_db_url: str, tmp_path: Path, mambu: str) -> Iterator[World]:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    save_channel(engine, "KOF", "KOF Mexico", make_clabe("012", "180", "1234567890"), None, T0)
    found = World(engine, MambuCreditEngine(mambu, MAMBU_KEY), OutboxSms(tmp_path / "sms.jsonl"),
                  tmp_path / "sms.jsonl", mambu)  # fmt: skip
    yield found
    engine.dispose()


def _unique() -> str:
    return f"C{uuid.uuid4().hex[:10]}"


def test_the_whole_flow(world: World) -> None:
    who = _unique()
    _customer(world, who, "+525511110001", "15000", "10000")
    started = world.qr(who, "1250.50")
    assert (started["state"], started["amountCents"]) == ("PENDING_OTP1", 125050)
    issued = confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, world.code("+525511110001"), lambda: T0)
    assert issued["state"] == "QR_PENDING" and issued["validUntil"] == "2026-11-22T12:15:00-06:00"
    fields = verify(issued["qrPayload"], CFG.signing_key)
    assert (fields.transaction_id, fields.amount, fields.amount_cents, fields.customer_id) == (
        started["purchaseId"], Decimal("1250.50"), 125050, who)  # fmt: skip
    scanned = scan_qr(world.engine, world.sms, CFG, issued["qrPayload"], "KOF", lambda: T0 + timedelta(minutes=5))
    assert scanned["state"] == "PENDING_OTP2"
    done = confirm_payment(world.engine, world.credit, CFG, started["purchaseId"], who,
                           world.code("+525511110001"), lambda: T0 + timedelta(minutes=6))  # fmt: skip
    assert done["state"] == "APPROVED"
    with world.engine.connect() as conn:
        events = conn.execute(sa.text("SELECT event, to_state FROM lending_events WHERE purchase_id = :i ORDER BY id"),
                              {"i": started["purchaseId"]}).all()  # fmt: skip
        checks = conn.execute(sa.text("SELECT step, approved, held FROM lending_credit_checks WHERE purchase_id = :i"
                                      " ORDER BY id"), {"i": started["purchaseId"]}).all()  # fmt: skip
        otps = conn.execute(sa.text("SELECT code_hash FROM lending_otps WHERE purchase_id = :i"),
                            {"i": started["purchaseId"]}).scalars().all()  # fmt: skip
    assert [tuple(e) for e in events] == [("credit_ok", "PENDING_OTP1"), ("otp1_ok", "QR_PENDING"),
                                          ("scanned", "PENDING_OTP2"), ("otp2_ok", "VALIDATING"),
                                          ("approved", "APPROVED")]  # fmt: skip
    assert [(c[0], bool(c[1]), Decimal(c[2])) for c in checks] == [("qr_request", True, 0), ("approval", True, 0)]
    assert all(len(h) == 64 for h in otps) and world.code("+525511110001") not in "".join(otps)
    from usecases.reports import purchase_rows

    (listed,) = [r for r in purchase_rows(world.engine, "APPROVED") if r.id == started["purchaseId"]]
    assert (listed.channel, listed.customer, listed.amount, listed.state) == ("KOF", who, Decimal("1250.50"), "APPROVED")
    assert listed.updated_at.tzinfo is not None


def _refused(code: str, run: Any) -> LendingError:
    with pytest.raises(LendingError) as caught:
        run()
    assert caught.value.code == code, caught.value
    return caught.value


def test_credit_refusals_are_stored(world: World) -> None:
    late, poor = _unique(), _unique()
    _customer(world, late, "+525511110002", "5000", "4000", overdue="350.50")
    _customer(world, poor, "+525511110003", "1000", "100")
    _refused("deuda_vencida", lambda: world.qr(late, "10.00"))
    _refused("limite_insuficiente", lambda: world.qr(poor, "500.00"))
    with world.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT p.state, c.code FROM lending_purchases p JOIN lending_credit_checks c"
                                    " ON c.purchase_id = p.id WHERE p.customer_id IN (:a, :b) ORDER BY c.id"),
                            {"a": late, "b": poor}).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("REJECTED", "deuda_vencida"), ("REJECTED", "limite_insuficiente")]


def test_limit_held_by_pending_purchases_and_released_by_failure(world: World) -> None:
    who = _unique()
    _customer(world, who, "+525511110004", "15000", "10000")
    first = world.qr(who, "6000.00")
    _refused("limite_insuficiente", lambda: world.qr(who, "6000.00"))
    for _ in range(2):
        _refused("otp_incorrecto", lambda: confirm_qr_otp(world.engine, CFG, first["purchaseId"], who, "999999" if
                 world.code("+525511110004") != "999999" else "888888", lambda: T0))  # fmt: skip
    _refused("otp_agotado", lambda: confirm_qr_otp(world.engine, CFG, first["purchaseId"], who, "000000" if
             world.code("+525511110004") != "000000" else "111111", lambda: T0))  # fmt: skip
    assert world.state(first["purchaseId"]) == "REJECTED"
    assert world.qr(who, "6000.00")["state"] == "PENDING_OTP1", "the rejected purchase released its hold"


def test_expired_otp(world: World) -> None:
    who = _unique()
    _customer(world, who, "+525511110005", "15000", "10000")
    started = world.qr(who, "100.00")
    late = lambda: T0 + timedelta(minutes=CFG.otp_ttl_minutes)  # noqa: E731
    _refused("otp_expirado", lambda: confirm_qr_otp(world.engine, CFG, started["purchaseId"], who,
                                                    world.code("+525511110005"), late))  # fmt: skip
    assert world.state(started["purchaseId"]) == "REJECTED"


def _issued(world: World, who: str, phone: str, amount: str = "100.00") -> dict[str, Any]:
    _customer(world, who, phone, "15000", "10000")
    started = world.qr(who, amount)
    return confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, world.code(phone), lambda: T0)


def test_qr_refusals(world: World) -> None:
    who = _unique()
    issued = _issued(world, who, "+525511110006")
    payload = issued["qrPayload"]
    forged = sign(verify(payload, CFG.signing_key), b"f" * 32)
    _refused("qr_invalido", lambda: scan_qr(world.engine, world.sms, CFG, forged, "KOF", lambda: T0))
    altered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    _refused("qr_invalido", lambda: scan_qr(world.engine, world.sms, CFG, altered, "KOF", lambda: T0))
    fields = verify(payload, CFG.signing_key)
    other_amount = sign(type(fields)(**{**fields.__dict__, "amount": Decimal("1.00"), "amount_cents": 100}),
                        CFG.signing_key)  # fmt: skip
    _refused("qr_invalido", lambda: scan_qr(world.engine, world.sms, CFG, other_amount, "KOF", lambda: T0))
    _refused("qr_otro_canal", lambda: scan_qr(world.engine, world.sms, CFG, payload, "PRONTO", lambda: T0))
    _refused("transicion_invalida", lambda: confirm_payment(world.engine, world.credit, CFG, issued["purchaseId"],
                                                            who, "123456", lambda: T0))  # fmt: skip
    scan_qr(world.engine, world.sms, CFG, payload, "KOF", lambda: T0)
    _refused("qr_usado", lambda: scan_qr(world.engine, world.sms, CFG, payload, "KOF", lambda: T0))
    late = _issued(world, _unique(), "+525511110007")
    _refused("qr_expirado", lambda: scan_qr(world.engine, world.sms, CFG, late["qrPayload"], "KOF",
                                            lambda: T0 + timedelta(minutes=CFG.qr_validity_minutes)))  # fmt: skip
    assert world.state(late["purchaseId"]) == "EXPIRED"


def test_timer_expires_unused_qrs(world: World) -> None:
    issued = _issued(world, _unique(), "+525511110008")
    assert expire_qrs(world.engine, lambda: T0 + timedelta(minutes=14)) == 0
    assert expire_qrs(world.engine, lambda: T0 + timedelta(minutes=15)) >= 1
    assert world.state(issued["purchaseId"]) == "EXPIRED"
    assert expire_qrs(world.engine, lambda: T0 + timedelta(minutes=16)) == 0


def test_mambu_down_leaves_nothing(world: World) -> None:
    who = _unique()
    _customer(world, who, "+525511110009", "15000", "10000")
    down = MambuCreditEngine(f"http://127.0.0.1:{free_port()}", MAMBU_KEY, timeout=0.5, retries=0)
    order = world.order(who, "50.00")
    with pytest.raises(MambuUnavailable):
        request_qr(world.engine, down, world.sms, CFG, "KOF", order, who, Decimal("50.00"), lambda: T0)
    with world.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM lending_purchases WHERE customer_id = :c"),
                            {"c": who}).scalar() == 0  # fmt: skip


def test_simultaneous_requests_never_hold_more_than_the_line(world: World, empty_db_url: str) -> None:
    who = _unique()
    _customer(world, who, "+525511110010", "15000", "10000")
    orders = [world.order(who, "1000.00") for _ in range(20)]
    results: list[str] = []

    def ask(order_id: str) -> None:
        engine = create_engine(empty_db_url)
        try:
            answer = request_qr(engine, world.credit, world.sms, CFG, "KOF", order_id, who, Decimal("1000.00"),
                                lambda: T0)  # fmt: skip
            results.append(answer["state"])
        except LendingError as exc:
            results.append(exc.code)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=ask, args=(o,)) for o in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["PENDING_OTP1"] * 10 + ["limite_insuficiente"] * 10
    with world.engine.connect() as conn:
        held = conn.execute(sa.text("SELECT sum(amount) FROM lending_purchases WHERE customer_id = :c"
                                    " AND state = 'PENDING_OTP1'"), {"c": who}).scalar()  # fmt: skip
    assert Decimal(held) == Decimal("10000.00")
