"""Credit-line QR purchases (spec steps 1-22): order, QR request with the credit check and
OTP #1, the signed QR, the distributor's scan, OTP #2, the final credit check, expiry.

Every step moves the purchase through the state machine of domain/lending/states.py with a
compare-and-set on its row and writes an event, refusals included. Calls to Mambu happen
before a transaction opens (a down Mambu changes nothing); SMS after it commits.

Issue 29: a Mambu answer that does not say exactly how much is available refuses
(`linea_no_verificable`, recorded); every purchase before money can move has a deadline
(`expires_at`) at which `expire_qrs` ends it, and an operator can release one
(`release_purchase`); an SMS that fails at OTP #2 puts the QR back to be scanned again; the
OTP codes sent per order and per customer and day, and the wrong codes per customer and day,
are capped (`otp_limite_orden`, `otp_limite_diario`: nothing is sent). Locks are always taken
customer first, then purchase.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from adapters.sms import SmsError, SmsSender
from domain.lending import MEXICO, LendingError
from domain.lending.clabe import validate_clabe
from domain.lending.credit import UNREADABLE, CreditCheck, CreditLine, UnreadableCreditLine, assess, line_problem
from domain.lending.otp import check, code_hash, new_code
from domain.lending.qr import QrFields, sign, verify
from domain.lending.states import EXPIRES, FINAL, MONEY_MAY_MOVE, State, next_state
from sql.engine import stored_utc
from sql.lending_repository import LendingRepository

Clock = Callable[[], datetime]
CENT = Decimal("0.01")


class CreditEngine(Protocol):
    def credit_line(self, customer_id: str) -> CreditLine: ...

    def book_drawdown(self, customer_id: str, purchase_id: str, amount: Decimal) -> str:
        """Book a disbursed purchase on the customer's line; its transaction id. Idempotent per purchase."""
        ...


@dataclass(frozen=True)
class LendingConfig:
    signing_key: bytes  # QR signatures and OTP hashes
    qr_validity_minutes: int = 15
    otp_ttl_minutes: int = 5
    otp_max_attempts: int = 3  # wrong codes per code
    otp_rounds_per_order: int = 5  # codes sent for one order (a purchase that goes through sends 2)
    otp_rounds_per_day: int = 12  # codes sent to one customer in a Mexico City day
    otp_wrong_per_day: int = 6  # wrong codes one customer may enter in a Mexico City day

    @property
    def longest_wait(self) -> timedelta:
        """The longest a purchase lives before money can move: OTP #1, then the QR's validity.
        A row with no deadline (older code, a hand-written row) expires once this old."""
        return timedelta(minutes=self.otp_ttl_minutes + self.qr_validity_minutes)


def _amount(value: Decimal) -> Decimal:
    if value <= 0 or value != value.quantize(CENT):
        raise LendingError("monto_invalido", f"the amount must be positive with at most two decimals, got {value}")
    return value.quantize(CENT)


# -- catalogue and orders --------------------------------------------------------------------------


def save_channel(engine: Engine, channel: str, name: str | None, clabe: str | None, webhook_url: str | None,
                 now: datetime, *, clear_webhook: bool = False) -> Any:  # fmt: skip
    """Create a distributor channel, or change only what is given of an existing one (None keeps
    a field): running it again without a URL never removes the URL, `clear_webhook` does, and
    parks the channel's pending webhook events at once (listed, replayable) rather than let them
    fail for a day. A new channel needs its name and CLABE; a URL is checked before anything is
    saved (domain/lending/webhooks.py `check_url`). Returns a `usecases.webhooks.ChannelSetup`:
    what changed, what was parked, and the channel's events waiting for an operator."""
    from sqlalchemy.exc import IntegrityError

    from domain.auth import parse_channels
    from domain.lending.webhooks import check_url
    from usecases.webhooks import WAITING, ChannelSetup, park_pending, state_counts

    if webhook_url is not None and clear_webhook:
        raise LendingError("opciones_incompatibles", "give a webhook URL or remove it (--no-webhook), not both")
    url = check_url(webhook_url.strip()) if webhook_url is not None else None
    clabe = validate_clabe(clabe) if clabe is not None else None
    if name is not None and not 0 < len(name.strip()) <= 80:
        raise LendingError("nombre_invalido", "the channel's name must have 1 to 80 characters")
    name = name.strip() if name is not None else None
    for tries_left in (1, 0):
        try:
            with engine.begin() as conn:
                repo = LendingRepository(conn)
                created = repo.channel(channel) is None
                if created:
                    parse_channels(channel)  # 2-10 capital letters, as a merchant client is bound to it
                    if name is None or clabe is None:
                        raise LendingError("canal_incompleto", f"channel {channel} is new: give its --name and --clabe")
                changes = repo.save_channel(channel, name, clabe, url, now, clear_webhook=clear_webhook)
                parked = 0
                if "webhook_url" in changes and changes["webhook_url"][1] is None:
                    parked = park_pending(conn, channel)
                counts = state_counts(conn, channel)
                current = repo.channel(channel)
            return ChannelSetup(channel, created, changes, current.webhook_url, parked,
                                {state: counts.get(state, 0) for state in WAITING})  # fmt: skip
        except IntegrityError:  # created by another operator meanwhile: the second try updates it
            if not tries_left:
                raise
    raise AssertionError("unreachable")


def save_customer(engine: Engine, customer_id: str, phone: str, now: datetime) -> None:
    with engine.begin() as conn:
        LendingRepository(conn).save_customer(customer_id, phone, now)


def register_order(
    engine: Engine, channel: str, order_id: str, customer_id: str, amount: Decimal, concept: str, client_id: str,
    now: datetime,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    """A distributor's payment order; the same order again is accepted once (True when new),
    the same id with other data is refused."""
    amount = _amount(amount)
    with engine.begin() as conn:
        repo = LendingRepository(conn)
        if repo.channel(channel) is None:
            raise LendingError("canal_desconocido", f"channel {channel} is not in the catalogue")
        if repo.customer(customer_id) is None:
            raise LendingError("cliente_desconocido", f"customer {customer_id} is not registered")
        found = repo.order(channel, order_id)
        if found is not None:
            if (found.customer_id, Decimal(found.amount), found.concept) != (customer_id, amount, concept):
                raise LendingError("orden_duplicada", f"order {order_id} of {channel} exists with other data")
            return _order_view(found), False
        repo.add_order(channel=channel, order_id=order_id, customer_id=customer_id, amount=amount, concept=concept,
                       client_id=client_id, created_at=now)  # fmt: skip
        return _order_view(repo.order(channel, order_id)), True


def _order_view(row: Any) -> dict[str, Any]:
    return {"orderId": row.order_id, "channel": row.channel, "customerId": row.customer_id,
            "amount": Decimal(row.amount), "concept": row.concept}  # fmt: skip


# -- the purchase ----------------------------------------------------------------------------------


def view(row: Any, otp_expires_at: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "purchaseId": row.id, "state": row.state, "channel": row.channel, "customerId": row.customer_id,
        "amount": Decimal(row.amount), "amountCents": row.amount_cents, "concept": row.concept,
        "reason": row.reason,
    }  # fmt: skip
    if row.valid_until is not None:
        body["validUntil"] = stored_utc(row.valid_until).astimezone(MEXICO).isoformat()
    expires_at = getattr(row, "expires_at", None)
    if expires_at is not None and State(row.state) in EXPIRES:  # the hold ends then at the latest
        body["expiresAt"] = stored_utc(expires_at).astimezone(MEXICO).isoformat()
    if row.payload:
        body["qrPayload"] = row.payload
    if otp_expires_at is not None:
        body["otpExpiresAt"] = otp_expires_at.astimezone(MEXICO).isoformat()
    if getattr(row, "retries", 0):  # sent again after retryable rejections (issue 8)
        body["retries"] = row.retries
        body["retriedAt"] = stored_utc(row.retried_at).astimezone(MEXICO).isoformat()
    return body


def _new_otp(
    repo: LendingRepository, cfg: LendingConfig, purchase_id: str, purpose: str, now: datetime
) -> tuple[str, datetime, int]:
    code, salt = new_code(), secrets.token_hex(8)
    expires = now + timedelta(minutes=cfg.otp_ttl_minutes)
    otp_id = repo.add_otp(purchase_id=purchase_id, purpose=purpose, code_hash=code_hash(code, salt, cfg.signing_key),
                          salt=salt, expires_at=expires, attempts=0, created_at=now)  # fmt: skip
    return code, expires, otp_id


def _send(sms: SmsSender, phone: str, code: str, why: str) -> None:
    """SmsError for any failure to hand the message over (a full disk under the outbox too)."""
    try:
        sms.send(phone, f"Tu codigo para {why} es {code}. No lo compartas. Vence en unos minutos.")
    except OSError as exc:
        raise SmsError(f"{type(exc).__name__}: {exc}") from None


def _sms_failed(engine: Engine, purchase_id: str, otp_id: int, expected: State, event: str, reason: str,
                error: SmsError, now: datetime) -> None:  # fmt: skip
    """The code's SMS was not sent: the code is void (still a round), the purchase moves on by
    `event` if it is still `expected`, and the failure is an event either way. The purchase's
    reason (which its API shows) says only what happened; the provider's error, which may name
    hosts or paths, goes to the event, for operators."""
    detail = f"{reason}: {error}"[:300]
    with engine.begin() as conn:
        repo = LendingRepository(conn)
        repo.otp_not_sent(otp_id, now)
        to = next_state(expected, event)
        if repo.move(purchase_id, expected, to, now, reason=reason):
            repo.add_event(purchase_id, expected, event, to, detail, now)
        else:
            repo.add_event(purchase_id, None, event, None, f"{detail} (the purchase had moved on)"[:300], now)


def _record_check(repo: LendingRepository, purchase_id: str, step: str, line: CreditLine | None,
                  unreadable: UnreadableCreditLine | None, held: Decimal, result: CreditCheck,
                  now: datetime) -> None:  # fmt: skip
    limit = line.limit if line is not None else unreadable.limit if unreadable is not None else None
    available = line.available if line is not None else unreadable.available if unreadable is not None else None
    repo.add_credit_check(purchase_id=purchase_id, step=step, approved=result.approved, code=result.code,
                          message=result.message[:300], credit_limit=_column(limit), available=_column(available),
                          overdue=_column(line.overdue if line is not None else None), held=held,
                          created_at=now)  # fmt: skip


def _column(value: Decimal | None) -> Decimal | None:
    """What fits Numeric(18, 2) of an amount that may be unreadable (too precise, too large)."""
    if value is None or not value.is_finite() or abs(value) >= Decimal(10) ** 16:
        return None
    return value.quantize(CENT)


def _read_line(credit: CreditEngine, customer_id: str) -> tuple[CreditLine | None, UnreadableCreditLine | None]:
    """The customer's line, or why it cannot be trusted (whatever engine read it)."""
    try:
        line = credit.credit_line(customer_id)
    except UnreadableCreditLine as exc:
        return None, exc
    problem = line_problem(line)
    if problem is not None:
        return None, UnreadableCreditLine(problem)
    return line, None


def _unreadable_check(unreadable: UnreadableCreditLine) -> CreditCheck:
    return CreditCheck(False, UNREADABLE, unreadable.message, Decimal(0))


def _day_start(now: datetime) -> datetime:
    """The start of `now`'s day in Mexico City, in UTC."""
    return datetime.combine(now.astimezone(MEXICO).date(), time(0), MEXICO).astimezone(UTC)


def _seconds_to_tomorrow(now: datetime) -> int:
    tomorrow = datetime.combine(now.astimezone(MEXICO).date() + timedelta(days=1), time(0), MEXICO)
    return max(int((tomorrow - now).total_seconds()) + 1, 1)


def _otp_cap(repo: LendingRepository, cfg: LendingConfig, order_ref: int, order_id: str, customer_id: str,
             now: datetime) -> LendingError | None:  # fmt: skip
    """Why no new code may be sent for this order and customer now, or None."""
    sent = repo.otp_rounds(order_ref)
    if sent >= cfg.otp_rounds_per_order:
        return LendingError(
            "otp_limite_orden",
            f"{sent} codes were already sent for order {order_id} (at most "
            f"{cfg.otp_rounds_per_order}): no more for it; the distributor may register a new order",
        )
    rounds, wrong = repo.otp_day(customer_id, _day_start(now))
    if rounds >= cfg.otp_rounds_per_day:
        return LendingError(
            "otp_limite_diario",
            f"{rounds} codes were sent to the customer today (at most {cfg.otp_rounds_per_day}); try again tomorrow",
            _seconds_to_tomorrow(now),
        )
    if wrong >= cfg.otp_wrong_per_day:
        return LendingError(
            "otp_limite_diario",
            f"{wrong} wrong codes were entered today (at most {cfg.otp_wrong_per_day}); try again tomorrow",
            _seconds_to_tomorrow(now),
        )
    return None


def request_qr(
    engine: Engine, credit: CreditEngine, sms: SmsSender, cfg: LendingConfig, channel: str, order_id: str,
    customer_id: str, amount: Decimal, clock: Clock,
) -> dict[str, Any]:  # fmt: skip
    """Spec steps 2-7: the credit check against Mambu less what this system holds, then OTP #1.
    The customer's row is locked while the limit is counted, so simultaneous requests can
    never hold more than the line. A capped customer or order is refused before Mambu is
    asked and nothing is sent; an unreadable line is a REJECTED purchase with its check."""
    amount = _amount(amount)
    with engine.connect() as conn:
        repo = LendingRepository(conn)
        order = repo.order(channel, order_id)
        if order is None or order.customer_id != customer_id:
            raise LendingError("orden_desconocida", f"order {order_id} of {channel} is not this customer's")
        if Decimal(order.amount) != amount:
            raise LendingError("monto_distinto", f"the order is for {Decimal(order.amount)} MXN, not {amount}")
        if repo.purchase_for_order(order.id) is not None:
            raise LendingError("orden_en_uso", f"order {order_id} already has a purchase in progress")
        capped = _otp_cap(repo, cfg, order.id, order_id, customer_id, clock())
    if capped is not None:
        raise capped
    read_at = clock()
    line, unreadable = _read_line(credit, customer_id)  # before any transaction: a down Mambu changes nothing
    now = clock()
    purchase_id = str(uuid.uuid4())
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = LendingRepository(conn)
        customer = repo.lock_customer(customer_id)
        if customer is None:
            raise LendingError("cliente_desconocido", f"customer {customer_id} is not registered")
        if repo.purchase_for_order(order.id) is not None:  # a simultaneous request won
            raise LendingError("orden_en_uso", f"order {order_id} already has a purchase in progress")
        capped = _otp_cap(repo, cfg, order.id, order_id, customer_id, now)  # counted under the customer's lock
        if capped is not None:
            raise capped
        channel_row = repo.channel(channel)
        assert channel_row is not None
        held = repo.held(customer_id, read_at)
        result = assess(line, amount, held) if line is not None else _unreadable_check(unreadable)  # type: ignore[arg-type]
        state = next_state(State.PENDING_CREDIT, "credit_ok" if result.approved else "credit_refused")
        repo.add_purchase(
            id=purchase_id, order_ref=order.id, channel=channel, customer_id=customer_id, amount=amount,
            amount_cents=int(amount * 100), concept=order.concept, operation="COMPRA_LINEA_CREDITO",
            clabe=channel_row.clabe, state=state.value, reason=result.message[:300], created_at=now, updated_at=now,
            expires_at=now + timedelta(minutes=cfg.otp_ttl_minutes) if result.approved else None,
        )  # fmt: skip
        _record_check(repo, purchase_id, "qr_request", line, unreadable, held, result, now)
        repo.add_event(purchase_id, State.PENDING_CREDIT, "credit_ok" if result.approved else "credit_refused",
                       state, result.message, now)  # fmt: skip
        code = expires = otp_id = None
        if result.approved:
            code, expires, otp_id = _new_otp(repo, cfg, purchase_id, "otp1", now)
        phone = customer.phone
    if not result.approved:
        raise LendingError(result.code, result.message)
    assert code is not None and otp_id is not None
    try:
        _send(sms, phone, code, "generar tu QR")
    except SmsError as exc:
        _sms_failed(engine, purchase_id, otp_id, State.PENDING_OTP1, "otp1_failed", "SMS not sent", exc, clock())
        raise LendingError("sms_no_enviado", "the OTP could not be sent (the SMS provider failed); ask again") from None
    with engine.connect() as conn:
        return view(LendingRepository(conn).purchase(purchase_id), expires)


@dataclass(frozen=True)
class _OtpOutcome:
    ok: bool
    reason: str
    attempts_left: int


def _check_otp(repo: LendingRepository, cfg: LendingConfig, purchase: Any, purpose: str, code: str,
               now: datetime) -> _OtpOutcome:  # fmt: skip
    """The code checked against the latest one sent, within its attempts and the customer's
    wrong codes for the day (`locked`: none left today, the code is not even compared)."""
    otp = repo.otp(purchase.id, purpose)
    if otp is None:
        raise LendingError("transicion_invalida", f"no {purpose} was sent for purchase {purchase.id}")
    _, wrong_today = repo.otp_day(purchase.customer_id, _day_start(now))
    if wrong_today >= cfg.otp_wrong_per_day:
        repo.record_attempt(otp.id, "locked")
        return _OtpOutcome(False, "locked", 0)
    result = check(code, otp.code_hash, otp.salt, cfg.signing_key, stored_utc(otp.expires_at), otp.attempts,
                   cfg.otp_max_attempts, now)  # fmt: skip
    repo.record_attempt(otp.id, result.reason)
    if result.reason == "wrong" and wrong_today + 1 >= cfg.otp_wrong_per_day:
        return _OtpOutcome(False, "locked", 0)
    return _OtpOutcome(result.ok, result.reason, max(cfg.otp_max_attempts - otp.attempts - 1, 0))


def _locked_purchase(repo: LendingRepository, purchase_id: str, customer_id: str | None) -> Any:
    purchase = repo.purchase(purchase_id, lock=True)
    if purchase is None or (customer_id is not None and purchase.customer_id != customer_id):
        raise LendingError("compra_desconocida", f"purchase {purchase_id} is not this customer's")
    return purchase


def _refuse_otp(repo: LendingRepository, cfg: LendingConfig, purchase: Any, state: State, event: str,
                outcome: _OtpOutcome, now: datetime) -> LendingError:  # fmt: skip
    """A wrong code with attempts left keeps the purchase; an expired code, no attempts left or
    no wrong codes left for the day ends it."""
    if outcome.reason == "wrong" and outcome.attempts_left > 0:
        repo.add_event(purchase.id, state, f"{event}_attempt", state, "wrong code", now)
        return LendingError("otp_incorrecto", f"wrong code; {outcome.attempts_left} attempt(s) left")
    to = next_state(state, event)
    if outcome.reason == "locked":
        reason = f"too many wrong codes today (at most {cfg.otp_wrong_per_day}); try again tomorrow"
        repo.move(purchase.id, state, to, now, reason=reason)
        repo.add_event(purchase.id, state, event, to, reason, now)
        return LendingError("otp_limite_diario", reason, _seconds_to_tomorrow(now))
    reason = {"expired": "the code expired", "too_many_attempts": "too many attempts"}.get(
        outcome.reason, "wrong code, no attempts left")  # fmt: skip
    repo.move(purchase.id, state, to, now, reason=reason)
    repo.add_event(purchase.id, state, event, to, reason, now)
    return LendingError({"expired": "otp_expirado"}.get(outcome.reason, "otp_agotado"), reason)


def confirm_qr_otp(engine: Engine, cfg: LendingConfig, purchase_id: str, customer_id: str, code: str,
                   clock: Clock) -> dict[str, Any]:  # fmt: skip
    """Spec steps 8-11: OTP #1 right, the purchase gets its signed QR (pending, with its validity)."""
    now = clock()
    refusal = None
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = LendingRepository(conn)
        repo.lock_customer(customer_id)  # the customer's wrong codes of the day are counted under it
        purchase = _locked_purchase(repo, purchase_id, customer_id)
        state = State(purchase.state)
        if state is State.EXPIRED:
            raise LendingError("otp_expirado", "the purchase expired before its code was confirmed: ask for a new QR")
        next_state(state, "otp1_ok")  # refuses an illegal step before anything is recorded
        outcome = _check_otp(repo, cfg, purchase, "otp1", code, now)
        if outcome.ok:
            valid_until = (now + timedelta(minutes=cfg.qr_validity_minutes)).astimezone(MEXICO).replace(microsecond=0)
            fields = QrFields(transaction_id=purchase.id, channel=purchase.channel, amount=Decimal(purchase.amount),
                              amount_cents=purchase.amount_cents, valid_until=valid_until, concept=purchase.concept,
                              customer_id=purchase.customer_id, operation=purchase.operation)  # fmt: skip
            to = next_state(state, "otp1_ok")
            repo.move(purchase.id, state, to, now, payload=sign(fields, cfg.signing_key), reason="QR issued",
                      valid_until=valid_until.astimezone(UTC), expires_at=valid_until.astimezone(UTC))  # fmt: skip
            repo.add_event(purchase.id, state, "otp1_ok", to, f"QR valid until {valid_until.isoformat()}", now)
        else:
            refusal = _refuse_otp(repo, cfg, purchase, state, "otp1_failed", outcome, now)
    if refusal is not None:
        raise refusal
    with engine.connect() as conn:
        return view(LendingRepository(conn).purchase(purchase_id))


def scan_qr(engine: Engine, sms: SmsSender, cfg: LendingConfig, payload: str, channel: str,
            clock: Clock) -> dict[str, Any]:  # fmt: skip
    """Spec steps 12-16: the distributor sends what it read; signature, stored transaction and
    validity (America/Mexico_City) are checked, then OTP #2 goes to the customer. An SMS that
    cannot be sent puts the purchase back to QR_PENDING (an event says so) and answers
    `sms_no_enviado`: the distributor scans again while the QR is valid."""
    fields = verify(payload, cfg.signing_key)
    now = clock()
    refusal: LendingError | None = None
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = LendingRepository(conn)
        repo.lock_customer(fields.customer_id)  # customer first, as everywhere; their codes are counted under it
        purchase = repo.purchase(fields.transaction_id, lock=True)
        if purchase is None or purchase.payload != payload.strip():
            raise LendingError("qr_invalido", "the QR is not the one issued for this transaction")
        stored = (purchase.channel, Decimal(purchase.amount), purchase.amount_cents, purchase.concept,
                  purchase.customer_id)  # fmt: skip
        if stored != (fields.channel, fields.amount, fields.amount_cents, fields.concept, fields.customer_id):
            raise LendingError("qr_invalido", "the QR does not match the stored transaction")
        if purchase.channel != channel:
            raise LendingError("qr_otro_canal", f"the QR belongs to channel {purchase.channel}")
        state = State(purchase.state)
        if state is State.EXPIRED or (state is State.QR_PENDING and now >= stored_utc(purchase.valid_until)):
            if state is State.QR_PENDING:
                repo.move(purchase.id, state, State.EXPIRED, now, reason="QR expired at scan")
                repo.add_event(purchase.id, state, "expired", State.EXPIRED, "scanned after its validity", now)
            refusal = LendingError("qr_expirado", "the QR is past its validity")
        elif state is not State.QR_PENDING:
            repo.add_event(purchase.id, state, "scanned", None, "refused: QR already used", now)
            refusal = LendingError("qr_usado", f"the QR was already used (purchase {state})")
        elif (capped := _otp_cap(repo, cfg, purchase.order_ref, repo.order_by_ref(purchase.order_ref).order_id,
                                 purchase.customer_id, now)) is not None:  # fmt: skip
            repo.add_event(purchase.id, state, "scanned", None, f"refused, no code sent: {capped.message}", now)
            refusal = capped
        else:
            to = next_state(state, "scanned")
            repo.move(purchase.id, state, to, now, reason="scanned by the distributor")
            repo.add_event(purchase.id, state, "scanned", to, f"scanned by {channel}", now)
            code, expires, otp_id = _new_otp(repo, cfg, purchase.id, "otp2", now)
            phone = repo.customer(purchase.customer_id).phone
    if refusal is not None:  # after the commit: the refusal's event is kept
        raise refusal
    try:
        _send(sms, phone, code, "confirmar tu pago")
    except SmsError as exc:
        _sms_failed(engine, purchase.id, otp_id, State.PENDING_OTP2, "sms_failed", "OTP #2 SMS not sent", exc,
                    clock())  # fmt: skip
        raise LendingError(
            "sms_no_enviado",
            "the customer's code could not be sent (the SMS provider failed); the QR is pending again: "
            "scan it again while it is valid",
        ) from None
    with engine.connect() as conn:
        return view(LendingRepository(conn).purchase(fields.transaction_id), expires)


def confirm_payment(engine: Engine, credit: CreditEngine, cfg: LendingConfig, purchase_id: str, customer_id: str,
                    code: str, clock: Clock) -> dict[str, Any]:  # fmt: skip
    """Spec steps 14-20: OTP #2 right, Mambu re-checked (debt, balance, limit less the other
    holds), the purchase approved for disbursement or rejected with the reason. A line Mambu
    does not state exactly is recorded and refused (`linea_no_verificable`) before the code is
    looked at: the purchase stays PENDING_OTP2 and the customer may confirm again."""
    read_at = clock()
    line, unreadable = _read_line(credit, customer_id)  # before any transaction: a down Mambu changes nothing
    now = clock()
    refusal: LendingError | None = None
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = LendingRepository(conn)
        repo.lock_customer(customer_id)
        purchase = _locked_purchase(repo, purchase_id, customer_id)
        state = State(purchase.state)
        if state is State.EXPIRED:
            raise LendingError("qr_expirado", "the purchase expired before it was confirmed")
        next_state(state, "otp2_ok")
        amount = Decimal(purchase.amount)
        if now >= stored_utc(purchase.valid_until):
            repo.move(purchase.id, state, State.EXPIRED, now, reason="QR expired before confirmation")
            repo.add_event(purchase.id, state, "expired", State.EXPIRED, "confirmed after its validity", now)
            refusal = LendingError("qr_expirado", "the QR is past its validity")
        elif unreadable is not None:
            held = repo.held(customer_id, read_at) - amount
            _record_check(repo, purchase.id, "approval", None, unreadable, held, _unreadable_check(unreadable), now)
            repo.add_event(purchase.id, state, "credit_unreadable", None, unreadable.message, now)
            refusal = unreadable
        else:
            assert line is not None
            outcome = _check_otp(repo, cfg, purchase, "otp2", code, now)
            if not outcome.ok:
                refusal = _refuse_otp(repo, cfg, purchase, state, "otp2_failed", outcome, now)
            else:
                validating = next_state(state, "otp2_ok")
                repo.move(purchase.id, state, validating, now, reason="OTP confirmed")
                repo.add_event(purchase.id, state, "otp2_ok", validating, "second OTP right", now)
                held = repo.held(customer_id, read_at) - amount  # the others; this one is its own hold
                result = assess(line, amount, held)
                _record_check(repo, purchase.id, "approval", line, None, held, result, now)
                event = "approved" if result.approved else "rejected"
                final = next_state(validating, event)
                repo.move(purchase.id, validating, final, now, reason=result.message[:300])
                repo.add_event(purchase.id, validating, event, final, result.message, now)
                if not result.approved:
                    refusal = LendingError(result.code, result.message)
    if refusal is not None:
        raise refusal
    with engine.connect() as conn:
        return view(LendingRepository(conn).purchase(purchase_id))


_EXPIRY_REASONS = {
    State.PENDING_OTP1: "OTP #1 not confirmed in time",
    State.QR_PENDING: "QR expired",
    State.PENDING_OTP2: "payment not confirmed within the QR's validity",
}


def expire_qrs(engine: Engine, clock: Clock, longest_wait: timedelta | None = None) -> int:
    """Spec step 21, for every state before money can move: a purchase past its deadline
    (`expires_at`) becomes EXPIRED and releases its hold, each in its own transaction, by a
    compare-and-set on its state (a confirmation that got there first wins; then nothing
    happens here). Money states (APPROVED, DISBURSING) never expire. A purchase with no deadline
    (older code, a row written by hand) expires once unchanged for `longest_wait`
    (LendingConfig.longest_wait, 20 minutes with the defaults)."""
    now = clock()
    longest = longest_wait or LendingConfig(signing_key=b"").longest_wait
    with engine.connect() as conn:
        due = LendingRepository(conn).expirable(now, now - longest)
    moved = 0
    for row in due:
        state = State(row.state)
        to = next_state(state, "expired")
        reason = _EXPIRY_REASONS.get(state, f"{state} past its deadline")
        with engine.begin() as conn:
            repo = LendingRepository(conn)
            if repo.move(row.id, state, to, now, reason=reason):
                repo.add_event(row.id, state, "expired", to, f"{reason} (timer)", now)
                moved += 1
    return moved


def release_purchase(engine: Engine, purchase_id: str, reason: str, clock: Clock) -> dict[str, Any]:
    """An operator ends a purchase stuck before money can move (`manage.py release-purchase`):
    REJECTED by the `released` event with the operator's reason, its hold released, by the
    same compare-and-set as every step. Refused once money may have left (APPROVED,
    DISBURSING: the bank's answer ends those) and for a purchase already ended."""
    reason = " ".join(reason.split())
    if not reason:
        raise LendingError("motivo_requerido", "say why the purchase is released (--reason)")
    now = clock()
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = LendingRepository(conn)
        purchase = repo.purchase(purchase_id, lock=True)
        if purchase is None:
            raise LendingError("compra_desconocida", f"no purchase {purchase_id}")
        state = State(purchase.state)
        if state in MONEY_MAY_MOVE:
            raise LendingError(
                "transicion_invalida",
                f"purchase {purchase_id} is {state}: money may be on its way "
                "to the bank, only the bank's answer ends it (manage.py disbursements)",
            )
        if state in FINAL:
            raise LendingError("transicion_invalida", f"purchase {purchase_id} has already ended ({state}): "
                               "it holds nothing")  # fmt: skip
        to = next_state(state, "released")
        detail = f"released by an operator: {reason}"[:300]
        if not repo.move(purchase_id, state, to, now, reason=detail):
            raise LendingError("transicion_invalida", f"purchase {purchase_id} moved on meanwhile")
        repo.add_event(purchase_id, state, "released", to, detail, now)
    with engine.connect() as conn:
        return view(LendingRepository(conn).purchase(purchase_id))


def holds(engine: Engine, customer_id: str | None = None, limit: int = 500) -> list[Any]:
    """The purchases holding limit (`manage.py holds`), oldest change first: those before money
    can move with their deadline, APPROVED and DISBURSING ones until the bank answers."""
    with engine.connect() as conn:
        return LendingRepository(conn).holding(customer_id, limit)


DEMO_CUSTOMERS = {"CUST-001": "+525500000001", "CUST-002": "+525500000002", "CUST-003": "+525500000003"}


def seed_lending_demo(engine: Engine, now: datetime, webhook_base: str | None = None) -> None:
    """Channels KOF and PRONTO with valid CLABEs (and, given a base URL, webhooks at
    `<base>/hooks/<channel>`, the local receiver's routes) and the fake Mambu's demo customers
    (idempotent)."""
    from domain.lending.clabe import make_clabe

    def hook(channel: str) -> str | None:
        return f"{webhook_base.rstrip('/')}/hooks/{channel}" if webhook_base else None

    save_channel(engine, "KOF", "KOF Mexico", make_clabe("012", "180", "1000000001"), hook("KOF"), now)
    save_channel(engine, "PRONTO", "Pronto", make_clabe("072", "180", "1000000002"), hook("PRONTO"), now)
    for customer_id, phone in DEMO_CUSTOMERS.items():
        save_customer(engine, customer_id, phone, now)
