"""The debt repository as one model (issue 29): a biller, a bank and the app's timers do
anything in any order, with crashes, and the money invariants of docs/invariants.md hold
after every step, on SQLite and PostgreSQL.

The machine drives the real use cases and SQL (load_debts, pago, reversa, consulta,
generate_payment_files, the exchange sweep) against a small model of what each party did:

- the biller owes nothing of its own: it bills each document once (`BILLED`), takes the
  payment files from Pagos/ at any time (or never) and applies what it took, and exports R or
  N files at any time with a clock up to 10 minutes off;
- the bank pays any amount, reuses operation numbers on other days, retries with new times and
  channels (on the same day, or across midnight with a new date), and reverses;
- the loader and the generator run at any time and may crash at each of their checkpoints.

What must hold (INV-* are the ids in docs/invariants.md):
- INV-Y1 a 00 to a pago is exactly one booked payment: each first 00 of an operation names a
  payment row of its own, a repeat names the same one, and no payment row lacks its 00;
- INV-Y2 every booked payment and reversal is in at most one payment-file line, and in exactly
  one once the generator has finished a run;
- INV-Y3 a completa document is never paid more than the biller billed for it, whatever the
  biller stated in between, as long as it applied only what it took (or, with a settlement
  delay, what it was given that long to apply);
- INV-Y4 a consulta never mixes clients.

Profiles: MODEL_EXAMPLES and MODEL_STEPS (default 40 x 30 per database: the `make test` run);
`MODEL_PROFILE=deep` runs 400 x 60 (docs/invariants.md says how, and the issue note what it found).
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

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
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from domain.layouts.debts import DETAIL, HEADER
from domain.layouts.payments import PAYMENT
from domain.settlement import DEFAULT_SETTLEMENT
from domain.yapago import LIMA, ConsultaRequest, PagoRequest, ReversaRequest
from sql.tables import payment_files, payments
from sql.uow import UnitOfWork
from tests.models import Crash, crash_at, model_settings, timeout
from usecases.companies import create_company
from usecases.load_debts import load_debts
from usecases.payment_files import generate_payment_files, sweep_taken
from usecases.yapago import SetupCache, consulta, pago, reversa

SIZE = model_settings(40, 30, 400)  # examples x steps per database: make test, and MODEL_PROFILE=deep
pytestmark = timeout

T0 = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 08:00 in Lima, a Monday
BANK = "1020"
# (client code, name, dni, service, document, billed cents): two clients whose codes collide
# with each other's DNI, a completa and a parcial service.
DEBTS = (
    ("12345678", "CLIENTE 12345678", "", "001", "F001-00000001", 10000),
    ("B0001", "CLIENTE B0001", "12345678", "001", "F001-00000002", 8000),
    ("B0001", "CLIENTE B0001", "12345678", "003", "P-00000003", 5000),
)
CLIENT_OF = {doc: client for client, _, _, _, doc, _ in DEBTS}
SERVICE_OF = {doc: service for _, _, _, service, doc, _ in DEBTS}
BILLED = {doc: cents for *_, doc, cents in DEBTS}
COMPLETA = {doc for doc in BILLED if SERVICE_OF[doc] == "001"}
LOAD_CRASHES = (None, None, None, "header", "batch", "before_commit", "committed", "results_written", "moved")
GENERATE_CRASHES = (None, None, None, "reserved", "writing", "uploaded", "marked")
_codes = itertools.count(60000 + uuid.uuid4().int % 30000)



def run(work: Any) -> bool:
    """Run a timer's work; False when it crashed (as a killed process, it just stops)."""
    try:
        work()
    except Crash:
        return False
    return True


class DebtRepositoryModel(RuleBasedStateMachine):
    engine: Engine
    root: Path

    def __init__(self) -> None:
        super().__init__()
        self.code = next(_codes)
        self.store = LocalFileStore(self.root)
        self.setups = SetupCache(self.engine)
        self.now = T0
        self.file_seq = itertools.count(1)
        self.op_seq = itertools.count(1)
        self.applied: Counter[str] = Counter()  # the biller's own books: net paid it applied, per document
        self.taken: dict[str, bytes] = {}  # payment files the biller took (name -> bytes)
        self.applied_files: set[str] = set()  # the files its books hold (taken, or applied where they lie)
        self.applied_payments: Counter[tuple[str, str, int]] = Counter()  # (operation, document, cents) held
        self.early_reversals: Counter[tuple[str, str, int]] = Counter()  # extornos of payments not held yet
        self.answered: dict[int, int] = {}  # payment id -> cents, for every first 00 to a pago
        self.first: dict[tuple[str, str], tuple[dict[str, Any], int | None]] = {}  # (op, day) -> body, 00 id
        self.pagos: list[dict[str, Any]] = []  # every pago body the bank sent (for retries)
        self.reversed: set[int] = set()  # payment ids whose reversa got a 00
        self.filed: Counter[tuple[str, str, str]] = Counter()  # bookings when a generator run last finished

    # -- set-up ----------------------------------------------------------------------------------

    @initialize()
    def company(self) -> None:
        create_company(lambda: UnitOfWork(self.engine), str(self.code), "AGUA SA",
                       ["001:completa:PEN", "003:parcial:PEN"],
                       [f"001:{BANK}:191-0{self.code}1-0-01", f"003:{BANK}:191-0{self.code}3-0-03"], self.now)  # fmt: skip
        self._export("R", 0)
        assert run(lambda: self._load(None))

    # -- the biller ------------------------------------------------------------------------------

    def _stated(self, doc: str) -> int:
        return BILLED[doc] - self.applied[doc] if doc in COMPLETA else BILLED[doc]

    def _apply(self, name: str, content: bytes) -> None:
        """The biller's books take a file's lines. An extorno (A) cancels a payment its books hold
        (same operation, document and amount); one for a payment not applied yet waits for it
        (files are taken in any order), so the two cancel out when it comes."""
        if name in self.applied_files:
            return
        self.applied_files.add(name)
        for line in content.splitlines():
            record, problems = PAYMENT.parse(line)
            assert record is not None and not problems, (name, problems)
            doc, cents = record["numero_documento"].strip(), int(record["importe_pagado"])
            key = (record["numero_operacion"].strip(), doc, cents)
            if record["estado"] == "P":
                if self.early_reversals[key]:
                    self.early_reversals[key] -= 1
                else:
                    self.applied_payments[key] += 1
                    self.applied[doc] += cents
            elif self.applied_payments[key]:
                self.applied_payments[key] -= 1
                self.applied[doc] -= cents
            else:
                self.early_reversals[key] += 1

    def _export(self, kind: str, skew_minutes: int) -> None:
        """The biller writes its debts as its books say now, dated by its own clock. Its contract
        (PAYMENT_FILE_SETTLEMENT_HOURS): a file it did not take is applied where it lies within the
        settlement delay of its delivery, so its books hold every file that old."""
        folder = self.root / f"{self.code:05d}" / "Pagos"
        with self.engine.connect() as conn:
            delivered = dict(conn.execute(sa.select(payment_files.c.file_name, payment_files.c.uploaded_at).where(
                (payment_files.c.company_code == self.code) & payment_files.c.uploaded_at.is_not(None))).all())
        for path in sorted(folder.glob("P*.TXT")) if folder.exists() else []:
            at = delivered.get(path.name)
            at = at if at is None or at.tzinfo else at.replace(tzinfo=UTC)
            if at is not None and at + DEFAULT_SETTLEMENT <= self.now:
                self._apply(path.name, path.read_bytes())
        name = f"D{self.code:05d}{self.now.astimezone(LIMA):%d%m%Y}{next(self.file_seq):03d}.TXT"
        lines, total = [], 0
        for client, client_name, dni, service, doc, _ in sorted(DEBTS):
            cents = self._stated(doc)
            if kind == "R" and cents <= 0:
                continue  # paid in the biller's books: not in its export
            update = "N" if kind == "R" else ("A" if cents > 0 else "D")
            cents = max(cents, 0) if update != "D" else BILLED[doc]
            lines.append(DETAIL.format(dict(
                tipo_actualizacion=update, codigo_cliente=client, nombre_cliente=client_name,
                codigo_producto=service, num_documento=doc, desc_documento="Recibo",
                fecha_vencimiento=T0.date() + timedelta(days=20), fecha_emision=T0.date() - timedelta(days=10),
                deuda=cents, mora=0, gastos_adm=0, pago_minimo=1, periodo=11, anio=2026, cuota=1, moneda_doc="1",
                dni=dni, ruc="", identificador_04="", filler="",
            )))  # fmt: skip
            total += cents
        stamp = (self.now + timedelta(minutes=skew_minutes)).astimezone(LIMA)
        head = HEADER.format(dict(
            nombre_archivo=name, tipo_actualizacion=kind, codigo_empresa=self.code, fecha_transmision=stamp.date(),
            hora_transmision=time(stamp.hour, stamp.minute, stamp.second), numero_registros=len(lines),
            importe_total_soles=total, importe_total_dolares=0, filler="", mac=0,
        ))  # fmt: skip
        path = f"{self.code:05d}/Deudas/Pending/{name}"
        self.store.write_atomic(path, b"".join(line + b"\r\n" for line in [head, *lines]))
        os.utime(self.root / path, (self.now.timestamp(), self.now.timestamp()))  # it arrived now

    @rule(kind=st.sampled_from("RN"), skew=st.integers(-10, 10), loaded=st.booleans())
    def biller_exports(self, kind: str, skew: int, loaded: bool) -> None:
        """An export, loaded at once (the file's arrival event) or left for a later run."""
        self._export(kind, skew)
        if loaded:
            self.now += timedelta(seconds=30)
            assert run(lambda: self._load(None))

    @rule(data=st.data())
    def biller_takes_a_payment_file(self, data: st.DataObject) -> None:
        """It takes one file from Pagos/ (moves it away) and applies it in its books."""
        folder = self.root / f"{self.code:05d}" / "Pagos"
        names = sorted(p.name for p in folder.glob("P*.TXT")) if folder.exists() else []
        if not names:
            return
        name = data.draw(st.sampled_from(names), label="file")
        content = (folder / name).read_bytes()
        (folder / name).unlink()
        self.taken[name] = content
        self._apply(name, content)

    # -- the bank --------------------------------------------------------------------------------

    def _day(self, offset: int = 0) -> str:
        return f"{(self.now.astimezone(LIMA) + timedelta(days=offset)):%d%m%Y}"

    def _pago(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = pago(self.engine, self.setups, PagoRequest.model_validate(body), lambda: self.now).body
        return self._book(body, answer)

    def _book(self, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        """What the bank learnt from one answer, checked against what it learnt before (INV-Y1)."""
        self.pagos.append(body)
        key = (body["numeroOperacion"], body["fechaTxn"])
        same = {k: v for k, v in body.items() if k not in ("horaTxn", "idCanal")}
        if key in self.first:
            earlier, earlier_id = self.first[key]
            if answer["codResp"] == "00":
                assert earlier_id is not None and same == earlier, ("a 00 to other data under one operation", body)
                assert int(answer["idPago"]) == earlier_id, ("a repeat must name the first payment", answer)
            return answer
        if answer["codResp"] == "00":
            paid = int(answer["idPago"])
            assert paid not in self.answered, ("a first 00 must be a payment of its own (INV-Y1)", body, answer)
            self.answered[paid] = int(body["importePagado"].replace(".", ""))
            self.first[key] = (same, paid)
        return answer  # a refusal changed nothing: the same operation is evaluated again

    def _consulta(self, query: str) -> dict[str, Any]:
        """INV-Y4: one answer, one client."""
        body = {"idConsulta": query, "tipoConsulta": "0", "idEmpresa": str(self.code), "idBanco": BANK,
                "idCanal": "10"}  # fmt: skip
        answer = consulta(self.engine, self.setups, ConsultaRequest.model_validate(body)).body
        clients = {CLIENT_OF[item["documento"]] for item in answer.get("deudas", [])}
        assert len(clients) <= 1, ("a consulta mixed clients (INV-Y4)", query, answer)
        return answer

    @rule(doc=st.sampled_from(sorted(BILLED)), cents=st.sampled_from(["offered", "offered", 100, 4000, 10000]),
          query=st.sampled_from(["client", "dni", "zeros"]), reuse=st.booleans(),
          day=st.sampled_from([0, 0, 0, -1, 1]))  # fmt: skip
    def bank_pays(self, doc: str, cents: int | str, query: str, reuse: bool, day: int) -> None:
        """The bank asks for the client's debts (as its customer is at the counter), then pays one:
        what the consulta offered for it, or another amount, under a new or a reused number."""
        client = CLIENT_OF[doc]
        dni = next(d for c, _, d, *_ in DEBTS if c == client)
        query_id = {"client": client, "dni": dni or client, "zeros": "00" + (dni or client)}[query]
        offered = {item["documento"]: item["deuda"] for item in self._consulta(query_id).get("deudas", [])}
        amount = offered.get(doc, "100.00") if cents == "offered" else f"{int(cents) // 100}.{int(cents) % 100:02d}"
        op_numbers = sorted({op for op, _ in self.first})
        op = op_numbers[-1] if reuse and op_numbers else f"{self.code:05d}{next(self.op_seq):04d}"
        body = {
            "fechaTxn": self._day(day), "horaTxn": f"{self.now.astimezone(LIMA):%H%M%S}", "idCanal": "10",
            "idForma": "01", "numeroOperacion": op, "idConsulta": query_id, "servicio": SERVICE_OF[doc],
            "numeroDocumento": doc, "importePagado": amount, "moneda": "1", "idEmpresa": str(self.code),
            "idBanco": BANK,
        }  # fmt: skip
        self._pago(body)

    @rule(doc=st.sampled_from(sorted(COMPLETA)), same=st.booleans())
    def bank_calls_twice_at_once(self, doc: str, same: bool) -> None:
        """Two pagos of the whole balance at the same moment: one operation sent twice (a switch's
        retry racing the original), or two operations (two cashiers)."""
        offered = {item["documento"]: item["deuda"] for item in self._consulta(CLIENT_OF[doc]).get("deudas", [])}
        if doc not in offered:
            return
        bodies = []
        for n in range(2):
            op = f"{self.code:05d}{next(self.op_seq):04d}" if n == 0 or not same else bodies[0]["numeroOperacion"]
            bodies.append({
                "fechaTxn": self._day(), "horaTxn": f"{self.now.astimezone(LIMA):%H%M%S}", "idCanal": "10",
                "idForma": "01", "numeroOperacion": op, "idConsulta": CLIENT_OF[doc], "servicio": SERVICE_OF[doc],
                "numeroDocumento": doc, "importePagado": offered[doc], "moneda": "1", "idEmpresa": str(self.code),
                "idBanco": BANK,
            })  # fmt: skip
        gate = threading.Barrier(2)

        def send(body: dict[str, Any]) -> dict[str, Any]:
            gate.wait()
            return pago(self.engine, self.setups, PagoRequest.model_validate(body), lambda: self.now).body

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(send, bodies))
        paid = [a for a in answers if a["codResp"] == "00"]
        for body, answer in sorted(zip(bodies, answers, strict=True), key=lambda pair: pair[1].get("idPago", "~")):
            self._book(body, answer)
        if not same:
            assert len(paid) <= 1, ("two pagos of one whole balance both taken (INV-Y3)", answers)

    @precondition(lambda self: self.pagos)
    @rule(data=st.data(), midnight=st.booleans())
    def bank_retries(self, data: st.DataObject, midnight: bool) -> None:
        """The same pago again with a new time and channel; or, across midnight, a new date too."""
        body = dict(data.draw(st.sampled_from(self.pagos), label="pago"))
        body.update(horaTxn="000005" if midnight else "235959", idCanal="60")
        if midnight:
            day = datetime.strptime(body["fechaTxn"], "%d%m%Y") + timedelta(days=1)
            body["fechaTxn"] = f"{day:%d%m%Y}"
        self._pago(body)

    @precondition(lambda self: self.answered)
    @rule(data=st.data(), named=st.booleans())
    def bank_reverses(self, data: st.DataObject, named: bool) -> None:
        paid = data.draw(st.sampled_from(sorted(self.answered)), label="payment")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(payments).where(payments.c.id == paid)).one()
        body = {
            "idEmpresa": str(self.code), "idBanco": BANK, "numeroOperacion": row.operation_number,
            "fechaTxn": self._day(), "horaTxn": f"{self.now.astimezone(LIMA):%H%M%S}", "idCanal": "10",
            "servicio": row.service_code, "numeroDocumento": row.document,
        }  # fmt: skip
        if named:  # the pago's day: needed only when the number was used for the document on several days
            body["fechaTxnPago"] = f"{row.txn_date:%d%m%Y}"
        answer = reversa(self.engine, self.setups, ReversaRequest.model_validate(body), lambda: self.now).body
        if answer["codResp"] == "00":
            assert int(answer["idPago"]) == paid, ("a reversa reversed another payment", body, answer)
            self.reversed.add(paid)

    # -- the app's timers ------------------------------------------------------------------------

    def _load(self, step: str | None) -> None:
        load_debts(self.engine, self.store, lambda: self.now, company=self.code, checkpoint=crash_at(step))

    @rule(step=st.sampled_from(LOAD_CRASHES))
    def loader_runs(self, step: str | None) -> None:
        run(lambda: self._load(step))

    @rule(step=st.sampled_from(GENERATE_CRASHES))
    def generator_runs(self, step: str | None) -> None:
        before = self._bookings()
        if run(lambda: generate_payment_files(
                self.engine, self.store, lambda: self.now, company=self.code, checkpoint=crash_at(step))):  # fmt: skip
            self.filed = before

    @rule(minutes=st.sampled_from([1, 5, 11, 90, 600, 1440, 2880]))
    def time_passes(self, minutes: int) -> None:
        """Time passes; the dispatcher's tick (every 5 minutes) sweeps Pagos/ for files taken."""
        if minutes >= 5:
            self.now += timedelta(minutes=5)
            sweep_taken(self.engine, self.store, lambda: self.now, company=self.code)
            minutes -= 5
        self.now += timedelta(minutes=minutes)

    # -- invariants ------------------------------------------------------------------------------

    def _bookings(self) -> Counter[tuple[str, str, str]]:
        """Every payment (P) and reversal (A) booked, as its payment-file line names it."""
        booked: Counter[tuple[str, str, str]] = Counter()
        for row in self._rows():
            booked[(row.operation_number, row.document, "P")] += 1
            if row.status == "A":
                booked[(row.operation_number, row.document, "A")] += 1
        return booked

    def _rows(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(payments).where(payments.c.company_code == self.code)))

    @invariant()
    def a_00_is_exactly_one_payment(self) -> None:
        rows = {row.id: row for row in self._rows()}
        assert set(rows) == set(self.answered), ("payments without their 00, or 00s without a payment (INV-Y1)",
                                                 sorted(rows), sorted(self.answered))  # fmt: skip
        for paid, cents in self.answered.items():
            assert rows[paid].amount_cents == cents
            assert (rows[paid].status == "A") == (paid in self.reversed), ("reversed without its 00", paid)

    @invariant()
    def every_booking_is_in_one_file_line(self) -> None:
        """INV-Y2, read from the bytes the biller can see or took."""
        folder = self.root / f"{self.code:05d}" / "Pagos"
        files = dict(self.taken)
        if folder.exists():
            files.update({p.name: p.read_bytes() for p in folder.glob("P*.TXT")})
        lines: Counter[tuple[str, str, str]] = Counter()
        for content in files.values():
            for line in content.splitlines():
                record, problems = PAYMENT.parse(line)
                assert record is not None and not problems, problems
                lines[(record["numero_operacion"].strip(), record["numero_documento"].strip(), record["estado"])] += 1
        booked = self._bookings()
        assert not lines - booked, ("a payment-file line for no booking, or twice for one (INV-Y2)", lines - booked)
        assert not self.filed - lines, ("bookings missing from the payment files (INV-Y2)", self.filed - lines)

    @invariant()
    def no_document_is_paid_beyond_what_was_billed(self) -> None:
        """INV-Y3: the standing payments of a completa document never exceed its bill."""
        standing: Counter[str] = Counter()
        for row in self._rows():
            if row.status == "P":
                standing[row.document] += row.amount_cents
        for doc in COMPLETA:
            assert standing[doc] <= BILLED[doc], ("collected twice (INV-Y3)", doc, standing[doc], BILLED[doc])


@pytest.fixture
def database(module_database: tuple[Engine, Path]) -> tuple[Engine, Path]:
    return module_database


def test_no_sequence_breaks_the_debt_invariants(database: tuple[Engine, Path]) -> None:
    engine, work = database
    DebtRepositoryModel.engine = engine
    DebtRepositoryModel.root = work / "exchange"
    run_state_machine_as_test(
        DebtRepositoryModel,
        settings=SIZE,
    )
