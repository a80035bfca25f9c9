"""YAPAGO consulta, pago and reversa (extorno): exact to the cent under retries and concurrency.

Balance control (validacion completa) is one conditional UPDATE in the database: a
payment takes the balance only if it still fits, so concurrent payments on any number of
processes or instances take turns on the row and the late ones fail cleanly. Idempotency:
the first successful answer to (bank, numeroOperacion, fechaTxn, operation) is stored in the
same transaction as its effect and replayed verbatim; a rejection changes nothing and is not
stored, so a retry is evaluated again. A number the bank uses again on another day is another
operation (banks whose numbers restart per day or per terminal do that); one that cannot be
told from a retry sent with a new fechaTxn is refused (43), never answered 00 without a payment.
A reversa's operation is the payment it undoes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from domain.companies import parse_company_code
from domain.errors import DomainError
from domain.payment_records import PAID, REVERSED, payment_record
from domain.yapago import (
    ABOVE_BALANCE,
    ALREADY_PAID,
    ALREADY_REVERSED,
    BAD_FIELD,
    BELOW_MINIMUM,
    DEBT_NOT_FOUND,
    LIMA,
    NO_DEBTS,
    OK,
    OPERATION_CONFLICT,
    PAYMENT_NOT_FOUND,
    RETRY_NEW_DATE,
    UNKNOWN_BANK,
    UNKNOWN_COMPANY,
    UNKNOWN_SERVICE,
    WRONG_CURRENCY,
    Answer,
    ConsultaRequest,
    PagoRequest,
    ReversaRequest,
    accounting_date,
    ddmmyyyy,
    money,
    one_client,
    parse_txn_time,
    txn_day,
)
from sql.engine import stored_utc
from sql.yapago_repository import BY_CODE, YapagoRepository

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @classmethod
    def of(cls, answer: Answer) -> Reply:
        return cls(answer.code.status, answer.body())


@dataclass(frozen=True)
class CompanySetup:
    exists: bool
    services: dict[str, tuple[str, str]]  # service -> (currency code 1/2, validation mode)
    accounts: frozenset[tuple[str, str]]  # (service, bank)
    active: bool = True  # False: deactivated; its payments may still be reversed


class SetupCache:
    """Company, services and accounts change rarely and are read on every call: keep them a few seconds."""

    def __init__(
        self, engine: Engine, ttl_seconds: float = 30.0, cutoff_hour: int = 20, retry_window_minutes: int = 60
    ) -> None:
        self.engine = engine
        self.cutoff_hour = cutoff_hour  # PAYMENT_CUTOFF_HOUR: bookings from this hour on count for the next day
        # YAPAGO_RETRY_WINDOW_MINUTES: a pago with the data of one received this recently under the
        # same number on the day before or after may be its retry with a new fechaTxn (43)
        self.retry_window = timedelta(minutes=retry_window_minutes)
        self.ttl = ttl_seconds
        self._items: dict[int, tuple[float, CompanySetup]] = {}
        self._lock = threading.Lock()

    def get(self, company: int) -> CompanySetup:
        now = time.monotonic()
        with self._lock:
            cached = self._items.get(company)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self.engine.connect() as conn:
            exists, found, accounts, active = YapagoRepository(conn).company_setup(company)
        setup = CompanySetup(
            exists,
            {code: ("1" if currency == "PEN" else "2", mode) for code, (currency, mode) in found.items()},
            frozenset(accounts),
            active,
        )
        with self._lock:
            self._items[company] = (now + self.ttl, setup)
        return setup


# Fields a bank's switch sets per transmission: a retry of the same operation may carry new
# ones (a new time, another channel) and is still the same operation. A pago's fechaTxn is part
# of its key (api_operations.txn_date) rather than of the data compared; a reversa's is the
# reversal's own date, which a retry may change.
TRANSPORT_FIELDS = frozenset({"fechaTxn", "horaTxn", "idCanal"})
# Fields that pick what a request is about without being its data (a retried reversa may add
# fechaTxnPago); left out of both hashes, so answers stored before they existed still match.
SELECTOR_FIELDS = frozenset({"fechaTxnPago"})


def request_sha256(model: BaseModel, exclude: frozenset[str] = frozenset()) -> str:
    """The request as the idempotency check compares it: fields, not bytes or key order."""
    canonical = json.dumps(model.model_dump(mode="json", exclude=set(exclude)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _company(setups: SetupCache, company_id: str, service: str | None, bank: str,
             reversal: bool = False) -> tuple[int, CompanySetup]:  # fmt: skip
    """The company's setup, or the answer that refuses the call. A deactivated company answers as
    one that does not exist, except to a reversal: a payment already taken can be given back."""
    try:
        company = parse_company_code(company_id)
    except DomainError:
        raise Answer(UNKNOWN_COMPANY) from None
    setup = setups.get(company)
    if not setup.exists:
        raise Answer(UNKNOWN_COMPANY, f"Empresa {company_id} no existe")
    if not setup.active and not reversal:
        raise Answer(UNKNOWN_COMPANY, f"Empresa {company_id} dada de baja: ya no recauda")
    if service is not None and service not in setup.services:
        raise Answer(UNKNOWN_SERVICE, f"Servicio {service} no existe para la empresa {company:05d}")
    if service is not None and (service, bank) not in setup.accounts:
        raise Answer(UNKNOWN_BANK, f"Banco {bank} sin cuenta de recaudacion para el servicio {service}")
    return company, setup


def consulta(engine: Engine, setups: SetupCache, req: ConsultaRequest) -> Reply:
    try:
        company, setup = _company(setups, req.idEmpresa, req.servicio, req.idBanco)
        wanted = [req.servicio] if req.servicio else sorted(setup.services)
        allowed = [s for s in wanted if (s, req.idBanco) in setup.accounts]
        if not allowed:
            raise Answer(UNKNOWN_BANK, f"Banco {req.idBanco} sin cuenta de recaudacion para la empresa")
        # one read-only statement: no transaction to open and roll back
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            rows = YapagoRepository(conn).debts_for_query(company, req.idConsulta)
        # one client per answer, chosen over every service (domain/yapago.one_client)
        client = one_client({r.client_code for r in rows if r.via == BY_CODE},
                            {r.client_code for r in rows if r.via != BY_CODE})  # fmt: skip
        items, client_name, shown, services = [], "", set(), set(allowed)
        for row in rows:
            if row.client_code != client or row.service_code not in services or row.id in shown:
                continue
            shown.add(row.id)  # a debt found by both readings comes twice
            mode = setup.services[row.service_code][1]
            pending = row.total - row.paid_cents if mode == "completa" else row.total
            if pending <= 0:
                continue  # fully paid: nothing to offer
            minimum = min(row.minimum_cents, pending) if mode == "completa" else row.minimum_cents
            client_name = client_name or row.client_name
            items.append(
                {
                    "idDeuda": str(row.id), "servicio": row.service_code, "documento": row.document,
                    "descripcionDoc": row.description, "fechaVencimiento": ddmmyyyy(row.due_date),
                    "fechaEmision": ddmmyyyy(row.issue_date), "deuda": money(pending), "pagoMinimo": money(minimum),
                    "moneda": row.currency,
                }
            )  # fmt: skip
        if not items:
            raise Answer(NO_DEBTS, f"Cliente {req.idConsulta} sin deudas pendientes")
        return Reply(200, {"cliente": client_name, "deudas": items, "codResp": OK.code, "desResp": OK.message})
    except Answer as answer:
        return Reply.of(answer)


def _conflict(operation: str) -> Reply:
    return Reply.of(
        Answer(
            OPERATION_CONFLICT, f"numeroOperacion {operation} ya fue usado con otros datos", numeroOperacion=operation
        )
    )


def _repeat(repo: YapagoRepository, held: Any, req: PagoRequest | ReversaRequest, day: date, kind: str, full: str,
            same: str) -> Reply:  # fmt: skip
    """The answer to an operation already done: `full` and `same` are the request's hashes with
    and without its transport fields (rows stored before the split hold the full one)."""
    operation = req.numeroOperacion
    if held.request_sha256 not in (full, same):
        return _conflict(operation)
    if kind == "reversa":  # the payment is the one it names (_reversed_day): the same reversal
        return Reply(held.status_code, json.loads(held.response))
    paid = repo.payment(req.idBanco, operation, day)
    if paid is not None and paid.status != "P":  # what is true now: the payment was reversed since
        when = stored_utc(paid.reversed_at).astimezone(LIMA)
        return Reply.of(
            Answer(ALREADY_REVERSED, f"Pago ya extornado el {when:%d/%m/%Y %H:%M:%S} (hora de Lima)",
                   numeroOperacion=operation, idPago=str(paid.id))
        )  # fmt: skip
    return Reply(held.status_code, json.loads(held.response))


def _is_for(paid: Any, req: ReversaRequest) -> bool:
    """The payment (bank, numeroOperacion) is the one the reversa names: company, service, document."""
    try:
        company = parse_company_code(req.idEmpresa)
    except DomainError:
        return False
    return (paid.company_code, paid.service_code, paid.document) == (company, req.servicio, req.numeroDocumento)


def _idempotent(
    engine: Engine,
    req: PagoRequest | ReversaRequest,
    kind: str,
    clock: Clock,
    day_of: Callable[[YapagoRepository], date],
    work: Callable[[YapagoRepository, datetime, datetime, date, str], Reply],
) -> Reply:
    """Run `work` once per (idBanco, numeroOperacion, day, kind), `day` the payment's fechaTxn
    (`day_of`): claim the key in the transaction that does the work, answer a repeat from what
    is stored (and true now), refuse other data under it. An Answer raised by `day_of` or `work`
    rolls everything back (the claim too) and is not stored."""
    try:
        txn_at = parse_txn_time(req.fechaTxn, req.horaTxn)
    except ValueError as exc:
        return Reply.of(Answer(BAD_FIELD, str(exc)))
    full = request_sha256(req, SELECTOR_FIELDS)
    same = request_sha256(req, TRANSPORT_FIELDS | SELECTOR_FIELDS)
    try:
        now = clock()
        with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            repo = YapagoRepository(conn)
            day = day_of(repo)
            held = repo.claim(req.idBanco, req.numeroOperacion, day, kind, same, now)
            if held is not None:
                return _repeat(repo, held, req, day, kind, full, same)
            reply = work(repo, now, txn_at, day, same)
            repo.record(req.idBanco, req.numeroOperacion, day, kind, reply.status, json.dumps(reply.body))
        return reply
    except Answer as answer:
        answer.extra.setdefault("numeroOperacion", req.numeroOperacion)
        return Reply.of(answer)


def _done(message: str, operation: str, payment_id: int) -> Reply:
    return Reply(200, {"codResp": OK.code, "desResp": message, "numeroOperacion": operation, "idPago": str(payment_id)})


def pago(engine: Engine, setups: SetupCache, req: PagoRequest, clock: Clock) -> Reply:
    def work(repo: YapagoRepository, now: datetime, txn_at: datetime, day: date, same: str) -> Reply:
        company, setup = _company(setups, req.idEmpresa, req.servicio, req.idBanco)
        mode = setup.services[req.servicio][1]
        client = one_client(*repo.client_readings(company, req.idConsulta))  # the consulta's client
        debt = repo.debt_for_payment(company, req.servicio, req.numeroDocumento, [client]) if client else None
        if debt is None:
            raise Answer(DEBT_NOT_FOUND, f"Documento {req.numeroDocumento} no encontrado para {req.idConsulta}")
        if req.moneda != debt.currency:
            raise Answer(WRONG_CURRENCY, f"La deuda es en moneda {debt.currency}, el pago en {req.moneda}")
        cents = req.amount_cents
        # The debt's row lock (the balance's UPDATE, or a lock without one): a pago of this debt
        # under way elsewhere has committed when it is ours, and what it stored is seen below.
        taken = repo.take_balance(debt.id, cents) if mode == "completa" else repo.lock_debt(debt.id)
        earlier = repo.same_pago_next_door(req.idBanco, req.numeroOperacion, day, same, now - setups.retry_window)
        if earlier is not None:  # before any balance answer: a retry must learn to keep its date
            raise Answer(
                RETRY_NEW_DATE,
                f"numeroOperacion {req.numeroOperacion} ya registrado con fechaTxn {ddmmyyyy(earlier.txn_date)} "
                "y los mismos datos: un reintento conserva la fechaTxn original; una operacion nueva, otro "
                "numeroOperacion",
            )
        if not taken:
            raise _why_refused(repo, company, req, [debt.client_code], cents)
        # the total the balance was taken from, read under the row lock held above (a load may have
        # restated the row since it was read)
        stated = repo.debt_total(debt.id) if mode == "completa" else debt.total
        booked = accounting_date(now, setups.cutoff_hour)
        payment_id = repo.add_payment(
            {
                "company_code": company, "service_code": req.servicio, "bank_code": req.idBanco,
                "operation_number": req.numeroOperacion, "channel": req.idCanal, "payment_method": req.idForma,
                "query_id": req.idConsulta, "voucher": req.voucher, "debt_reference": req.referenciaDeuda,
                "client_code": debt.client_code, "client_name": debt.client_name, "document": debt.document,
                "due_date": debt.due_date, "currency": debt.currency, "amount_cents": cents,
                "validation_mode": mode, "txn_at": txn_at.astimezone(UTC), "txn_date": day, "status": "P",
                "created_at": now, "accounting_date": booked, "stated_cents": stated,
            }
        )  # fmt: skip
        record = payment_record(
            PAID, client=debt.client_code, name=debt.client_name, service=req.servicio, document=debt.document,
            due=debt.due_date, at=txn_at, cents=cents, operation=req.numeroOperacion, channel=req.idCanal,
            method=req.idForma, booked=booked,
        )  # fmt: skip
        repo.add_record(company, payment_id, PAID, debt.currency, cents, now, record)
        return _done("Pago registrado", req.numeroOperacion, payment_id)

    return _idempotent(engine, req, "pago", clock, lambda repo: txn_day(req.fechaTxn), work)


def _why_refused(repo: YapagoRepository, company: int, req: PagoRequest, clients: list[str], cents: int) -> Answer:
    """The balance did not take the payment: say why, from the row as it is now."""
    debt = repo.debt_for_payment(company, req.servicio, req.numeroDocumento, clients)
    pending = (debt.total - debt.paid_cents) if debt is not None else 0
    if pending <= 0:
        return Answer(ALREADY_PAID)
    if cents > pending:
        return Answer(ABOVE_BALANCE, f"Importe {money(cents)} mayor al saldo pendiente {money(pending)}")
    minimum = min(debt.minimum_cents, pending) if debt is not None else 0
    return Answer(BELOW_MINIMUM, f"Importe {money(cents)} menor al pago minimo {money(minimum)}")


def _reversed_day(repo: YapagoRepository, setups: SetupCache, req: ReversaRequest) -> date:
    """The fechaTxn of the one payment the reversa names: (idBanco, numeroOperacion) for that
    company, service and document, and fechaTxnPago when given. Several (a number the bank used
    on several days for this document) and no fechaTxnPago: refused, never a guess; a retry of
    an earlier day's reversa must not undo a later payment that reused its number."""
    found = [paid for paid in repo.payments_numbered(req.idBanco, req.numeroOperacion) if _is_for(paid, req)]
    if req.fechaTxnPago is not None:
        found = [paid for paid in found if paid.txn_date == txn_day(req.fechaTxnPago)]
    if not found:
        _company(setups, req.idEmpresa, req.servicio, req.idBanco, reversal=True)  # 20/21/22 first, as a pago
        raise Answer(PAYMENT_NOT_FOUND)
    if len(found) > 1:
        days = ", ".join(ddmmyyyy(paid.txn_date) for paid in found)
        raise Answer(
            BAD_FIELD,
            f"falta el campo fechaTxnPago: numeroOperacion {req.numeroOperacion} tiene pagos de este documento con "
            f"fechaTxn {days}; indique en fechaTxnPago (DDMMAAAA) la del pago que se extorna",
        )
    return found[0].txn_date


def reversa(engine: Engine, setups: SetupCache, req: ReversaRequest, clock: Clock) -> Reply:
    def work(repo: YapagoRepository, now: datetime, txn_at: datetime, day: date, same: str) -> Reply:
        company, _ = _company(setups, req.idEmpresa, req.servicio, req.idBanco, reversal=True)
        paid = repo.payment(req.idBanco, req.numeroOperacion, day)
        assert paid is not None  # _reversed_day found it in this transaction; payments are never deleted
        booked = accounting_date(now, setups.cutoff_hour)
        if paid.status != "P" or not repo.reverse(paid.id, now, txn_at.astimezone(UTC), req.idCanal, booked):
            raise Answer(ALREADY_REVERSED)
        if paid.validation_mode == "completa":
            repo.give_back(company, paid.service_code, paid.document, paid.client_code, paid.amount_cents)
        record = payment_record(
            REVERSED, client=paid.client_code, name=paid.client_name, service=paid.service_code,
            document=paid.document, due=paid.due_date, at=txn_at, cents=paid.amount_cents,
            operation=paid.operation_number, channel=req.idCanal, method=paid.payment_method, booked=booked,
        )  # fmt: skip
        repo.add_record(company, paid.id, REVERSED, paid.currency, paid.amount_cents, now, record)
        return _done("Extorno registrado", req.numeroOperacion, paid.id)

    return _idempotent(engine, req, "reversa", clock, lambda repo: _reversed_day(repo, setups, req), work)
