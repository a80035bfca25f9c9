"""The credit a disbursed purchase consumed stays consumed (issue 13): counted locally from the
bank's confirmation until Mambu has the drawdown, booked there once whatever the retries, and
given back only by a failed disbursement or a repayment. Against the fake Mambu over real HTTP,
on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from adapters.files.local import LocalFileStore
from adapters.mambu import MambuCreditEngine, drawdown_key
from domain.layouts.disbursements import RESPONSE
from domain.lending import LendingError
from tests.conftest import MAMBU_KEY
from tests.integration.test_lending_flow import CFG, T0, World, _customer, _unique, world  # noqa: F401 - fixture
from usecases.disbursement_responses import process_responses
from usecases.disbursements import dispatch_disbursements
from usecases.drawdowns import book_drawdowns, list_drawdowns
from usecases.lending import confirm_payment, confirm_qr_otp, scan_qr


def approve(world: World, who: str, phone: str, amount: str, at: datetime) -> str:  # noqa: F811
    """QR, OTP #1, scan, OTP #2: an APPROVED purchase of `amount`."""
    started = world.qr(who, amount, at)
    issued = confirm_qr_otp(world.engine, CFG, started["purchaseId"], who, world.code(phone), lambda: at)
    scan_qr(world.engine, world.sms, CFG, issued["qrPayload"], "KOF", lambda: at)
    done = confirm_payment(world.engine, world.credit, CFG, started["purchaseId"], who, world.code(phone), lambda: at)
    assert done["state"] == "APPROVED"
    return started["purchaseId"]


def answer(world: World, root: Path, purchase: str, status: str, code: str, at: datetime) -> None:  # noqa: F811
    """Dispatch what is approved, then the bank's answer for `purchase` (attempt 0)."""
    store = LocalFileStore(root)
    dispatch_disbursements(world.engine, store, lambda: at)
    line = RESPONSE.format({"id_transaccion": purchase, "estatus": status, "codigo_motivo": code, "clave_rastreo": "",
                            "fecha_operacion": date(2026, 11, 22), "intento": 0})  # fmt: skip
    inbox = root / "dispersiones" / "respuestas"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / f"RESP_{uuid.uuid4().hex[:8]}.TXT").write_bytes(line + b"\r\n")
    process_responses(world.engine, store, lambda: at, 3)


def available(world: World, who: str) -> Decimal:  # noqa: F811
    return world.credit.credit_line(who).available


def mambu_transactions(world: World, purchase: str) -> list[dict]:  # noqa: F811
    return [t for t in httpx.get(f"{world.mambu}/_fake/transactions").json() if t["externalId"] == purchase]


def refused(code: str, run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LendingError) as caught:
        run()
    assert caught.value.code == code, caught.value


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def test_a_disbursed_purchase_keeps_its_credit_until_repaid(world: World, tmp_path: Path) -> None:  # noqa: F811
    who, phone = _unique(), "+525511119001"
    _customer(world, who, phone, "100", "100")
    first = approve(world, who, phone, "90.00", minutes(0))
    answer(world, tmp_path, first, "P", "00", minutes(10))
    assert world.state(first) == "DISBURSED"
    (pending,) = [d for d in list_drawdowns(world.engine, "PENDING") if d.purchase_id == first]
    assert (pending.customer_id, Decimal(pending.amount)) == (who, Decimal("90.00"))
    # not yet in Mambu (it still says 100): the local ledger counts it
    assert available(world, who) == Decimal(100)
    refused("limite_insuficiente", lambda: world.qr(who, "90.00", minutes(11)))
    (booked,) = book_drawdowns(world.engine, world.credit, lambda: minutes(12), first)
    assert booked.state == "BOOKED" and booked.transaction_id
    assert available(world, who) == Decimal(10), "Mambu has the drawdown"
    (tx,) = mambu_transactions(world, first)
    assert (tx["type"], Decimal(str(tx["amount"]))) == ("DISBURSEMENT", Decimal(90))
    refused("limite_insuficiente", lambda: world.qr(who, "90.00", minutes(13)))
    assert world.qr(who, "10.00", minutes(14))["state"] == "PENDING_OTP1", "what is left can still be used"
    # a repayment in Mambu gives the credit back
    loan = f"LA-{who}"
    paid = httpx.post(f"{world.mambu}/api/loans/{loan}/repayment-transactions", json={"amount": 90},
                      headers={"apiKey": MAMBU_KEY, "Accept": "application/vnd.mambu.v2+json"})  # fmt: skip
    assert paid.status_code == 201
    assert world.qr(who, "80.00", minutes(15))["state"] == "PENDING_OTP1"


def test_a_failed_disbursement_gives_the_credit_back(world: World, tmp_path: Path) -> None:  # noqa: F811
    who, phone = _unique(), "+525511119002"
    _customer(world, who, phone, "100", "100")
    purchase = approve(world, who, phone, "90.00", minutes(0))
    refused("limite_insuficiente", lambda: world.qr(who, "90.00", minutes(1)))
    answer(world, tmp_path, purchase, "R", "03", minutes(10))  # final rejection
    assert world.state(purchase) == "DISBURSEMENT_FAILED"
    assert not [d for d in list_drawdowns(world.engine) if d.purchase_id == purchase]
    assert world.qr(who, "90.00", minutes(11))["state"] == "PENDING_OTP1"


def test_booking_is_once_whatever_the_retries(world: World, tmp_path: Path) -> None:  # noqa: F811
    who, phone = _unique(), "+525511119003"
    _customer(world, who, phone, "1000", "1000")
    purchase = approve(world, who, phone, "250.00", minutes(0))
    answer(world, tmp_path, purchase, "P", "00", minutes(10))
    # a booker that died after Mambu took the drawdown, before it marked the row
    first = world.credit.book_drawdown(who, purchase, Decimal("250.00"))
    assert world.credit.book_drawdown(who, purchase, Decimal("250.00")) == first, "same Idempotency-Key"
    httpx.put(f"{world.mambu}/_fake/forget-keys")  # hours later Mambu no longer knows the key
    (booked,) = book_drawdowns(world.engine, world.credit, lambda: minutes(11), purchase)
    assert (booked.state, booked.transaction_id) == ("BOOKED", first), "the externalId finds the first booking"
    assert len(mambu_transactions(world, purchase)) == 1
    assert available(world, who) == Decimal(750)
    assert book_drawdowns(world.engine, world.credit, lambda: minutes(12), purchase) == [], "booked: nothing due"
    assert drawdown_key(purchase) == drawdown_key(purchase) and str(uuid.UUID(drawdown_key(purchase)))


def test_mambu_down_keeps_the_drawdown_counted_and_retries(world: World, tmp_path: Path) -> None:  # noqa: F811
    who, phone = _unique(), "+525511119004"
    _customer(world, who, phone, "100", "100")
    purchase = approve(world, who, phone, "60.00", minutes(0))
    answer(world, tmp_path, purchase, "P", "00", minutes(10))
    httpx.put(f"{world.mambu}/_fake/fail-writes", json={"count": 50})
    try:
        (waiting,) = book_drawdowns(world.engine, MambuCreditEngine(world.mambu, MAMBU_KEY, retries=0),
                                    lambda: minutes(11), purchase)  # fmt: skip
    finally:
        httpx.put(f"{world.mambu}/_fake/fail-writes", json={"count": 0})
    assert waiting.state == "PENDING" and "503" in (waiting.error or "") and waiting.next_attempt_at == minutes(11) + (
        timedelta(seconds=30)
    )
    refused("limite_insuficiente", lambda: world.qr(who, "50.00", minutes(12)))
    assert book_drawdowns(world.engine, world.credit, lambda: minutes(11), purchase) == [], "not due before the backoff"
    (booked,) = book_drawdowns(world.engine, world.credit, lambda: minutes(12), purchase)
    assert booked.state == "BOOKED" and booked.attempts == 2
    refused("limite_insuficiente", lambda: world.qr(who, "50.00", minutes(13)))


def test_a_booking_after_the_line_was_read_still_counts(world: World, tmp_path: Path) -> None:  # noqa: F811
    """Mambu read at t, the drawdown booked (and marked) after t: the check counts it, since the
    read may not include it; booked before the read, it is Mambu's to count."""
    from sql.lending_repository import LendingRepository

    who, phone = _unique(), "+525511119005"
    _customer(world, who, phone, "100", "100")
    purchase = approve(world, who, phone, "40.00", minutes(0))
    answer(world, tmp_path, purchase, "P", "00", minutes(10))
    book_drawdowns(world.engine, world.credit, lambda: minutes(20), purchase)
    with world.engine.connect() as conn:
        repo = LendingRepository(conn)
        assert repo.held(who, minutes(19)) == Decimal(40)  # read before the booking ended
        assert repo.held(who, minutes(21)) == Decimal(0)  # read after: Mambu says it
        assert conn.execute(sa.text("SELECT count(*) FROM lending_drawdowns WHERE purchase_id = :p"),
                            {"p": purchase}).scalar() == 1  # fmt: skip
