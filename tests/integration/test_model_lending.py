"""Credit-line QR payments as one model (issue 29): customers, a distributor, Mambu, the SMS
sender, the bank's file robot, the app's timers and crashes act in any order, and the money
invariants of docs/invariants.md hold after every step, on SQLite and PostgreSQL.

The machine drives the real use cases and SQL (request_qr, confirm_qr_otp, scan_qr,
confirm_payment, expire_qrs, release_purchase, dispatch_disbursements, process_responses,
book_drawdowns, deliver_webhooks) and the real Mambu client against the contract-faithful fake
Mambu (in process), with a model of what each party did:

- Mambu answers, leaves out or garbles `availableCreditAmount`, is down or too slow; it books drawdowns;
- the SMS sender delivers or fails; customers give the right code, a wrong one, or walk away;
- the bank takes the files in `pendientes/` and `reintentos/` at any moment (before or after a
  run marked them), pays or rejects each line as it executes it (every offering it takes is
  executed: it is trusted to de-duplicate nothing), and answers once, twice, late or never;
- dispatch and response processing may crash at each of their checkpoints.

What must hold (docs/invariants.md):
- INV-L1 the bank pays a purchase at most once, counting every file it took; a purchase it paid
  is never failed, expired or released;
- INV-L2 held + drawn never exceeds the limit Mambu gives;
- INV-L3 every purchase before money moves ends by its deadline once the timer ran, and a
  purchase releases its hold exactly once;
- INV-L4 every money outcome has its one webhook event, which is delivered, waiting, or parked
  visibly; never lost;
- INV-L5 no more OTP codes reach a customer in a day than the cap.

Sizes: MODEL_EXAMPLES / MODEL_STEPS (default 30 x 40 per database), MODEL_PROFILE=deep (300 x 60).
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import make_url

from adapters.files.local import LocalFileStore
from adapters.mambu import MambuCreditEngine
from adapters.sms import SmsError
from adapters.webhook_http import PostResult
from domain.layouts.disbursements import DISPERSION_DETAIL, RESPONSE
from domain.lending import MEXICO, LendingError
from domain.lending.clabe import make_clabe
from domain.lending.states import EXPIRES, HOLDS_LIMIT, MONEY_MAY_MOVE, State
from domain.lending.webhooks import RetryPolicy
from fakes.mambu import FakeMambu, customer
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.tables import lending_events, lending_purchases, lending_webhooks
from tests.conftest import temporary_database
from tests.models import Crash, crash_at, model_settings, timeout
from usecases.disbursement_responses import process_responses
from usecases.disbursements import dispatch_disbursements
from usecases.drawdowns import book_drawdowns
from usecases.lending import (
    LendingConfig,
    confirm_payment,
    confirm_qr_otp,
    expire_qrs,
    register_order,
    release_purchase,
    request_qr,
    save_channel,
    save_customer,
    scan_qr,
)
from usecases.webhooks import WebhookConfig, deliver_webhooks

SIZE = model_settings(30, 40, 300)  # examples x steps per database: make test, and MODEL_PROFILE=deep
pytestmark = timeout

T0 = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 10:00 in Mexico City
KEY = "model-mambu-key"
LIMIT = Decimal("1000.00")
CFG = LendingConfig(signing_key=b"m" * 32)
HOOKS = WebhookConfig(master_key=b"w" * 32, policy=RetryPolicy(), timeout=1.0)
MAX_RETRIES = 2
DISPATCH_CRASHES = (None, None, "reserved", "staged", "uploaded", "marked")
RESPONSE_CRASHES = (None, None, None, "applying", "applied", "archived")
FOLDERS = ("dispersiones/pendientes", "dispersiones/reintentos")
_examples = itertools.count(1)



class ModelSms:
    """The SMS sender: every message it took, or SmsError while it is failing."""

    def __init__(self) -> None:
        self.sent: list[tuple[datetime, str, str]] = []
        self.failing = False
        self.now = T0

    def send(self, phone: str, text: str) -> None:
        if self.failing:
            raise SmsError("the SMS provider answered 503")
        self.sent.append((self.now, phone, text))


class ModelPoster:
    """The distributor's webhook receiver: up (2xx) or down."""

    def __init__(self) -> None:
        self.up = True
        self.received: Counter[str] = Counter()

    def post(self, url: str, headers: dict[str, str], body: bytes) -> PostResult:
        if not self.up:
            return PostResult(None, "ConnectError: the receiver is down")
        self.received[body.decode()] += 1
        return PostResult(200, None)


def mambu_client(fake: FakeMambu, state: dict[str, str]) -> MambuCreditEngine:
    """The real client, its HTTP served in process by the fake (or refused while Mambu is down)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if state["mode"] == "down":
            raise httpx.ConnectError("Mambu is down", request=request)
        if state["mode"] == "slow":  # past the client's timeout: what httpx raises then
            raise httpx.ReadTimeout("Mambu did not answer in time", request=request)
        scope = {"type": "http", "method": request.method, "path": request.url.path,
                 "query_string": request.url.query, "headers": [(k.encode(), v.encode()) for k, v in
                                                                request.headers.items()]}  # fmt: skip
        status, answer = fake.route(scope, request.content)
        if request.url.path.endswith("/creditarrangements") and status == 200 and state["mode"] != "ok":
            answer = [dict(a) for a in answer]  # what Mambu sent this time; its own books stay whole
            for arrangement in answer:
                arrangement.pop("availableCreditAmount", None)
                if state["mode"] == "garbled":
                    arrangement["availableCreditAmount"] = "n/a"
        return httpx.Response(status, json=answer)

    engine = MambuCreditEngine("http://mambu.model", KEY, retries=0)
    engine.client = httpx.Client(base_url="http://mambu.model", transport=httpx.MockTransport(handle),
                                 headers=dict(engine.client.headers))  # fmt: skip
    return engine


class LendingModel(RuleBasedStateMachine):
    new_database: Any  # () -> (url, cleanup): a migrated database of the example's own

    def __init__(self) -> None:
        super().__init__()
        url, self.cleanup = self.new_database()
        self.engine = create_engine(url)
        self.root = Path(self.work) / f"x{next(_examples)}"
        self.store = LocalFileStore(self.root)
        self.now = T0
        self.customer, self.phone = "CUST-M", "+525511112222"
        self.fake = FakeMambu({self.customer: customer(self.customer, str(LIMIT), str(LIMIT))}, KEY)
        self.mambu = {"mode": "ok"}
        self.credit = mambu_client(self.fake, self.mambu)
        self.sms = ModelSms()
        self.poster = ModelPoster()
        self.orders = itertools.count(1)
        self.purchases: list[str] = []
        self.paid: Counter[str] = Counter()  # purchase -> transfers the bank executed
        self.taken: list[list[bytes]] = []  # per file the bank took: the response lines it owes
        self.answers: list[bytes] = []  # response files the bank wrote (to write again, maybe)
        self.expiry_ran_at: datetime | None = None

    def teardown(self) -> None:
        self.credit.close()
        self.engine.dispose()
        self.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)

    @initialize(data=st.data(), step=st.sampled_from(DISPATCH_CRASHES), bank_pulls=st.booleans())
    def catalogue(self, data: st.DataObject, step: str | None, bank_pulls: bool) -> None:
        """The channel, the customer and two purchases it approved, then their dispatch (maybe
        killed) with the bank's robot maybe pulling at once: the moment money can leave twice,
        explored in every sequence."""
        save_channel(self.engine, "KOF", "KOF Mexico", make_clabe("012", "180", "1234567890"),
                     "https://kof.example.com/hooks", self.now)  # fmt: skip
        save_customer(self.engine, self.customer, self.phone, self.now)
        for amount in ("100.00", "250.50"):  # two purchases the customer already approved: money to move
            order_id = f"ORD-{next(self.orders)}"
            register_order(self.engine, "KOF", order_id, self.customer, Decimal(amount), "Pedido", "kof", self.now)
            view = request_qr(self.engine, self.credit, self.sms, CFG, "KOF", order_id, self.customer,
                              Decimal(amount), self._clock)  # fmt: skip
            confirm_qr_otp(self.engine, CFG, view["purchaseId"], self.customer, self._code("generar tu QR"),
                           self._clock)  # fmt: skip
            scan_qr(self.engine, self.sms, CFG, self._purchase(view["purchaseId"]).payload, "KOF", self._clock)
            confirm_payment(self.engine, self.credit, CFG, view["purchaseId"], self.customer,
                            self._code("confirmar tu pago"), self._clock)  # fmt: skip
            self.purchases.append(view["purchaseId"])
        self.dispatcher_runs(data, step, bank_pulls)

    def _clock(self) -> datetime:
        return self.now

    def _purchase(self, purchase_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(lending_purchases).where(lending_purchases.c.id == purchase_id)).one()

    def _code(self, why: str) -> str:
        texts = [text for _, phone, text in self.sms.sent if phone == self.phone and why in text]
        return texts[-1].split(" es ")[1][:6] if texts else "000000"

    # -- the distributor and the customer --------------------------------------------------------

    @rule(amount=st.sampled_from(["100.00", "250.50", "400.00", "600.00"]), again=st.booleans())
    def distributor_asks_for_a_qr(self, amount: str, again: bool) -> None:
        """A new order, or the last order asked again (after a refusal, or while one is live)."""
        number = next(self.orders) - (1 if again and self.purchases else 0)
        order_id = f"ORD-{number}"
        try:
            register_order(self.engine, "KOF", order_id, self.customer, Decimal(amount), "Pedido", "kof", self.now)
        except LendingError:
            return  # the same order id with another amount: refused, nothing held
        try:
            request_qr(self.engine, self.credit, self.sms, CFG, "KOF", order_id, self.customer, Decimal(amount),
                       self._clock)  # fmt: skip
        except LendingError:
            pass
        with self.engine.connect() as conn:  # refused ones too: every later step is tried on them
            ids = set(conn.execute(sa.select(lending_purchases.c.id)).scalars())
        # in the order they came (not by their random ids): a replayed sequence picks the same ones
        self.purchases += sorted(ids - set(self.purchases))

    @precondition(lambda self: self.purchases)
    @rule(data=st.data(), behaviour=st.sampled_from(["right", "right", "right", "right", "wrong", "released"]))
    def the_purchase_moves_on(self, data: st.DataObject, behaviour: str) -> None:
        """Whoever's turn it is acts: the customer gives OTP #1 (right or wrong), the distributor
        scans the QR, the customer gives OTP #2; or an operator releases the purchase (refused
        where money may move). Walking away is not acting."""
        states = {r.id: State(r.state) for r in self._rows()}
        live = [p for p in self.purchases if states[p] in HOLDS_LIMIT] or self.purchases
        purchase = self._purchase(data.draw(st.sampled_from(live), label="purchase"))
        state = State(purchase.state)
        wrong = behaviour == "wrong"
        if behaviour == "released":
            try:
                release_purchase(self.engine, purchase.id, "customer walked away", self._clock)
            except LendingError:
                return
            assert state not in MONEY_MAY_MOVE, ("a purchase money may be moving for was released", state)
            return
        try:
            if state is State.PENDING_OTP1 or (wrong and state is State.QR_PENDING):
                code = "999999" if wrong else self._code("generar tu QR")
                confirm_qr_otp(self.engine, CFG, purchase.id, self.customer, code, self._clock)
            elif state is State.QR_PENDING or (state is not State.PENDING_OTP2 and purchase.payload is not None):
                scan_qr(self.engine, self.sms, CFG, purchase.payload, "KOF", self._clock)
            else:
                code = "999999" if wrong else self._code("confirmar tu pago")
                confirm_payment(self.engine, self.credit, CFG, purchase.id, self.customer, code, self._clock)
        except LendingError:
            pass

    # -- Mambu and the SMS sender ----------------------------------------------------------------

    @rule(change=st.sampled_from(["mambu ok", "mambu ok", "mambu ok", "mambu missing", "mambu garbled", "mambu down", "mambu slow", "sms ok",
                                  "sms failing", "receiver up", "receiver down"]))
    def the_world_changes(self, change: str) -> None:
        """Mambu answers in full, leaves out availableCreditAmount (optional in its schema), sends
        it as something else, is down or too slow; the SMS sender works or fails; the receiver is
        up or not."""
        what, how = change.split()
        if what == "mambu":
            self.mambu["mode"] = how
        elif what == "sms":
            self.sms.failing = how == "failing"
        else:
            self.poster.up = how == "up"

    # -- the bank --------------------------------------------------------------------------------

    @rule(data=st.data(), answer_now=st.booleans())
    def bank_takes_the_files(self, data: Any, answer_now: bool) -> None:
        """The bank's robot takes every file waiting and executes each transfer (paid or rejected);
        it answers at once, or later (bank_answers), or never."""
        for folder in FOLDERS:
            for info in self.store.list(folder):
                content = self.store.read_bytes(info.path)
                self.store.delete(info.path)
                owed = []
                for raw in content.split(b"\r\n"):
                    if not raw.startswith(b"D"):
                        continue
                    detail, problems = DISPERSION_DETAIL.parse(raw)
                    assert detail is not None, problems
                    code = data.draw(st.sampled_from(["00", "00", "00", "02", "03"]), label="answer")
                    if code == "00":
                        self.paid[detail["id_transaccion"]] += 1
                    local = self.now.astimezone(MEXICO)
                    owed.append(RESPONSE.format({
                        "id_transaccion": detail["id_transaccion"], "estatus": "P" if code == "00" else "R",
                        "codigo_motivo": code, "fecha_operacion": local.date(), "intento": detail["intento"],
                        "clave_rastreo": f"BBVA{uuid.uuid4().hex[:12].upper()}" if code == "00" else "",
                    }) + b"\r\n")  # fmt: skip
                self.taken.append(owed)
                if answer_now:
                    self._answer(b"".join(self.taken.pop()))

    @precondition(lambda self: self.taken or self.answers)
    @rule(data=st.data(), again=st.booleans())
    def bank_answers(self, data: st.DataObject, again: bool) -> None:
        """A response file for one file it took; or one it already sent, again (its bytes, a new name)."""
        if again and self.answers:
            self._answer(data.draw(st.sampled_from(self.answers), label="again"))
        elif self.taken:
            self._answer(b"".join(self.taken.pop(data.draw(st.integers(0, len(self.taken) - 1), label="file"))))

    def _answer(self, content: bytes) -> None:
        if content not in self.answers:
            self.answers.append(content)
        name = f"RESP_{self.now.astimezone(MEXICO):%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}.TXT"
        self.store.write_atomic(f"dispersiones/respuestas/{name}", content)

    # -- the app's timers ------------------------------------------------------------------------

    @rule(data=st.data(), step=st.sampled_from(DISPATCH_CRASHES), bank_pulls=st.booleans())
    def dispatcher_runs(self, data: st.DataObject, step: str | None, bank_pulls: bool) -> None:
        """A dispatch run (maybe killed at a checkpoint); the bank's robot may pull right after,
        before any other run could look at what this one left."""
        try:
            dispatch_disbursements(self.engine, self.store, self._clock, checkpoint=crash_at(step))
        except Crash:
            pass
        if bank_pulls:
            self.bank_takes_the_files(data, answer_now=data.draw(st.booleans(), label="answer now"))

    @rule(step=st.sampled_from(RESPONSE_CRASHES))
    def responses_are_processed(self, step: str | None) -> None:
        try:
            process_responses(self.engine, self.store, self._clock, MAX_RETRIES, checkpoint=crash_at(step))
        except Crash:
            pass

    @rule(which=st.sampled_from(["expiry", "drawdowns", "webhooks"]))
    def a_timer_runs(self, which: str) -> None:
        """The QR expiry timer, the drawdown booker (Mambu) and the webhook sender."""
        if which == "expiry":
            expire_qrs(self.engine, self._clock)
            self.expiry_ran_at = self.now
        elif which == "drawdowns":
            book_drawdowns(self.engine, self.credit, self._clock)  # Mambu down: they wait, with their error
        else:
            deliver_webhooks(self.engine, self.poster, HOOKS, self._clock)

    @rule(minutes=st.sampled_from([1, 3, 6, 16, 60, 1440]))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.sms.now = self.now

    # -- invariants ------------------------------------------------------------------------------

    def _rows(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(lending_purchases)))

    @invariant()
    def the_bank_pays_a_purchase_at_most_once(self) -> None:
        """INV-L1."""
        states = {row.id: State(row.state) for row in self._rows()}
        for purchase, times in self.paid.items():
            assert times <= 1, ("the bank paid a purchase twice (INV-L1)", purchase, times)
            assert states[purchase] in (State.DISBURSING, State.DISBURSED), (
                "a purchase the bank paid is not in a money state (INV-L1)", purchase, states[purchase])

    @invariant()
    def held_and_drawn_stay_within_the_limit(self) -> None:
        """INV-L2: what this system holds plus what was disbursed never exceeds Mambu's limit."""
        rows = self._rows()
        held = sum((Decimal(r.amount) for r in rows if State(r.state) in HOLDS_LIMIT), Decimal(0))
        drawn = sum((Decimal(r.amount) for r in rows if State(r.state) is State.DISBURSED), Decimal(0))
        assert held + drawn <= LIMIT, ("held + drawn above the limit (INV-L2)", held, drawn)
        paid = sum((Decimal(r.amount) for r in rows if self.paid[r.id]), Decimal(0))
        assert paid <= LIMIT, ("the bank paid more than the line (INV-L2)", paid)

    @invariant()
    def holds_end_in_time_and_once(self) -> None:
        """INV-L3."""
        rows = self._rows()
        if self.expiry_ran_at is not None:
            for row in rows:
                deadline = getattr(row, "expires_at", None)
                if State(row.state) in EXPIRES and deadline is not None:
                    deadline = deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)
                    assert deadline > self.expiry_ran_at or row.updated_at is None or (
                        (row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC))
                        > self.expiry_ran_at), ("a purchase outlived its deadline (INV-L3)", row.id, row.state)
        holding = [s.value for s in HOLDS_LIMIT]
        with self.engine.connect() as conn:
            released = conn.execute(
                sa.select(lending_events.c.purchase_id, sa.func.count())
                .where(lending_events.c.from_state.in_(holding), lending_events.c.to_state.is_not(None),
                       lending_events.c.to_state.notin_(holding))
                .group_by(lending_events.c.purchase_id)
            ).all()  # fmt: skip
        assert all(n == 1 for _, n in released), ("a hold released twice (INV-L3)", released)

    @invariant()
    def every_money_outcome_has_its_event(self) -> None:
        """INV-L4: one event per outcome, delivered, pending or waiting visibly for an operator."""
        with self.engine.connect() as conn:
            events = Counter(conn.execute(sa.select(lending_webhooks.c.purchase_id)).scalars())
            states = set(conn.execute(sa.select(lending_webhooks.c.state)).scalars())
        for row in self._rows():
            if State(row.state) in (State.DISBURSED, State.DISBURSEMENT_FAILED):
                assert events[row.id] == 1, ("a money outcome without its one event (INV-L4)", row.id, events[row.id])
        assert states <= {"PENDING", "DELIVERED", "FAILED", "PARKED"}, states

    @invariant()
    def otp_codes_stay_under_the_caps(self) -> None:
        """INV-L5: codes sent to the customer in one Mexico City day."""
        per_day = Counter(at.astimezone(MEXICO).date() for at, phone, _ in self.sms.sent if phone == self.phone)
        cap = getattr(CFG, "otp_rounds_per_day", None)
        if cap is not None:
            assert all(n <= cap for n in per_day.values()), ("more codes than the daily cap (INV-L5)", per_day)


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of migrated databases, one per example: a copy of a template (a file on SQLite,
    CREATE DATABASE .. TEMPLATE on PostgreSQL)."""
    work = tmp_path_factory.mktemp("model_lending")
    if request.param == "sqlite":
        template = work / "template.sqlite"
        upgrade(f"sqlite:///{template}")
        counter = itertools.count(1)

        def new_sqlite() -> tuple[str, Any]:
            path = work / f"db{next(counter)}.sqlite"
            shutil.copyfile(template, path)
            return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)

        yield new_sqlite, work
        return
    with temporary_database(request.getfixturevalue("pg_url")) as template_url:
        upgrade(template_url)
        sa.create_engine(template_url).dispose()
        admin = sa.create_engine(template_url, isolation_level="AUTOCOMMIT")
        template = make_url(template_url).database

        def new_pg() -> tuple[str, Any]:
            name = f"m_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

            def drop() -> None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            return make_url(template_url).set(database=name).render_as_string(hide_password=False), drop

        yield new_pg, work
        admin.dispose()


def test_no_sequence_breaks_the_lending_invariants(databases: tuple[Any, Path]) -> None:
    factory, work = databases
    LendingModel.new_database = staticmethod(factory)
    LendingModel.work = work
    run_state_machine_as_test(
        LendingModel,
        settings=SIZE,
    )
