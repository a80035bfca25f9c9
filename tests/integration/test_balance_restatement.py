"""A reload of a company's debts restates the paid balance from what the company could have
applied (issues 13 and 29): only payments and reversals in a payment file it TOOK from Pagos/
(seen gone by a sweep) or delivered a settlement delay before its statement time (the header
less the clock tolerance, capped at arrival and now) count as in its amounts, and never one
whose debt it states at the very total the payment was made against. Being written to Pagos/
is not enough. A clock running ahead can never restore a paid balance; on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from adapters.files.local import LocalFileStore
from domain.layouts.debts import DETAIL, HEADER
from domain.settlement import DEFAULT_SETTLEMENT
from domain.yapago import LIMA, ConsultaRequest, PagoRequest, ReversaRequest
from sql.uow import UnitOfWork
from usecases.companies import create_company
from usecases.load_debts import load_debts
from usecases.payment_files import generate_payment_files, sweep_taken
from usecases.yapago import SetupCache, consulta, pago, reversa

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)  # 08:00 in Lima
DOC = "F001-00000002"
_codes = itertools.count(20000 + uuid.uuid4().int % 50000)


@dataclass
class Biller:
    """One company of its own in a shared database: its exchange, its files, its payments."""

    engine: Engine
    store: LocalFileStore
    code: int
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    settlement: timedelta = DEFAULT_SETTLEMENT  # PAYMENT_FILE_SETTLEMENT_HOURS

    def reload(self, cents: int, header_at: datetime, now: datetime, arrived: datetime | None = None,
               kind: str = "R") -> str:  # fmt: skip
        """An R file with the one debt at `cents` (or an N file updating it: `kind` N), its header
        at `header_at`, loaded at `now` (its modification time `arrived`, if given)."""
        name = f"D{self.code:05d}22112026{next(self.seq):03d}.TXT"
        line = DETAIL.format(dict(
            tipo_actualizacion="N" if kind == "R" else "A", codigo_cliente="04785124", nombre_cliente="JUAN PEREZ",
            codigo_producto="001",
            num_documento=DOC, desc_documento="Factura", fecha_vencimiento=date(2026, 12, 10),
            fecha_emision=date(2026, 11, 10), deuda=cents, mora=0, gastos_adm=0, pago_minimo=1, periodo=11,
            anio=2026, cuota=1, moneda_doc="1", dni="", ruc="", identificador_04="", filler="",
        ))  # fmt: skip
        local = header_at.astimezone(LIMA)
        head = HEADER.format(dict(
            nombre_archivo=name, tipo_actualizacion=kind, codigo_empresa=self.code, fecha_transmision=local.date(),
            hora_transmision=time(local.hour, local.minute, local.second), numero_registros=1,
            importe_total_soles=cents, importe_total_dolares=0, filler="", mac=0,
        ))  # fmt: skip
        path = f"{self.code:05d}/Deudas/Pending/{name}"
        self.store.write_atomic(path, head + b"\r\n" + line + b"\r\n")
        if arrived is not None:
            os.utime(self.store.root / path, (arrived.timestamp(), arrived.timestamp()))
        (result,) = load_debts(self.engine, self.store, lambda: now, company=self.code, settlement=self.settlement)
        return result.outcome

    def pay(self, cents: int, now: datetime) -> tuple[str, str]:
        op = f"R{uuid.uuid4().hex[:11]}"  # (bank, numeroOperacion) is unique across companies
        body = {
            "fechaTxn": "22112026", "horaTxn": "100500", "idCanal": "10", "idForma": "01", "numeroOperacion": op,
            "idConsulta": "4785124", "servicio": "001", "numeroDocumento": DOC,
            "importePagado": f"{cents // 100}.{cents % 100:02d}", "moneda": "1", "idEmpresa": str(self.code),
            "idBanco": "1020",
        }  # fmt: skip
        reply = pago(self.engine, SetupCache(self.engine), PagoRequest.model_validate(body), lambda: now)
        return op, reply.body["codResp"]

    def reverse(self, op: str, now: datetime) -> str:
        body = {
            "idEmpresa": str(self.code), "idBanco": "1020", "numeroOperacion": op, "fechaTxn": "22112026",
            "horaTxn": "113000", "idCanal": "60", "servicio": "001", "numeroDocumento": DOC,
        }  # fmt: skip
        return reversa(self.engine, SetupCache(self.engine), ReversaRequest.model_validate(body), lambda: now).body[
            "codResp"
        ]

    def deliver(self, now: datetime) -> None:
        """The payment file of what is pending, written to Pagos/ (the biller has not applied it)."""
        generate_payment_files(self.engine, self.store, lambda: now, company=self.code)

    def take(self, now: datetime) -> list[str]:
        """The biller applies and deletes every file in its Pagos/; the sweep sees them gone at `now`."""
        pagos = self.store.root / f"{self.code:05d}" / "Pagos"
        for path in pagos.glob("*.TXT"):
            path.unlink()
        results = sweep_taken(self.engine, self.store, lambda: now, company=self.code)  # none: nothing waiting
        assert all(r.problem is None for r in results), results
        return [name for r in results for name in r.taken]

    def offered(self, now: datetime) -> str | None:
        """consulta's `deuda` for the document, or None when it offers nothing (30)."""
        body = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": str(self.code), "idBanco": "1020",
                "idCanal": "10"}  # fmt: skip
        reply = consulta(self.engine, SetupCache(self.engine), ConsultaRequest.model_validate(body))
        if reply.body["codResp"] == "30":
            return None
        (debt,) = reply.body["deudas"]
        return debt["deuda"]

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT amount_cents + late_fee_cents + admin_fee_cents - paid_cents FROM debts"
                        " WHERE company_code = :c AND document = :d"), {"c": self.code, "d": DOC},
            ).scalar_one()  # fmt: skip


@pytest.fixture
def database(module_database: tuple[Engine, Path]) -> tuple[Engine, Path]:
    return module_database


def new_biller(database: tuple[Engine, Path], cents: int = 10000) -> Biller:
    engine, work = database
    code = next(_codes)
    create_company(lambda: UnitOfWork(engine), str(code), "AGUA SA", ["001:completa:PEN"],
                   [f"001:1020:191-0{code}001-0-01"], T0)  # fmt: skip
    biller = Biller(engine, LocalFileStore(work / "x"), code)
    assert biller.reload(cents, T0, T0) == "PROCESADO"
    return biller


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_a_header_dated_in_the_future_is_refused_and_restores_nothing(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    _, code = biller.pay(3000, hours(1))
    assert code == "00" and biller.pending() == 7000
    assert biller.reload(10000, hours(30), hours(2)) == "RECHAZADO"  # prepared "tomorrow"
    assert biller.pending() == 7000
    err = next((biller.store.root / f"{biller.code:05d}" / "Deudas" / "Complete").glob("*002.TXT.ERR")).read_text()
    assert "hora_transmision" in err and "en el futuro" in err
    assert biller.pay(7001, hours(3))[1] == "34", "the paid 30.00 cannot be taken again"


def test_within_the_tolerance_but_before_delivery_the_payment_still_counts(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    assert biller.pay(3000, hours(1))[1] == "00"
    # the company's clock is 5 minutes ahead, and it has not been sent the payment yet
    assert biller.reload(10000, hours(2) + minutes(5), hours(2)) == "PROCESADO"
    assert biller.pending() == 7000


def test_the_reload_after_the_payment_file_the_biller_has_not_taken(database: tuple[Engine, Path]) -> None:
    """Issue 29's reproduction: 100.00 completa, pago 60.00, the P file written to Pagos/, then an R
    file (header after the P file) still stating 100.00 because the biller has not applied the P
    file. Before: consulta 100.00 and a pago of 100.00 answered 00 (160.00 taken on 100.00)."""
    biller = new_biller(database)
    assert biller.pay(6000, hours(1))[1] == "00"
    biller.deliver(hours(2))
    assert biller.reload(10000, hours(3), hours(3)) == "PROCESADO"
    assert biller.offered(hours(3)) == "40.00"
    assert biller.pay(10000, hours(4))[1] == "34"  # above the pending balance
    assert biller.pay(4001, hours(4))[1] == "34"
    assert biller.pay(4000, hours(4))[1] == "00"
    assert biller.pending() == 0 and biller.offered(hours(4)) is None  # 60.00 + 40.00 = the 100.00 stated
    assert biller.pay(1, hours(4))[1] == "32"


def test_a_taken_file_is_in_the_reloaded_amount(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    assert biller.pay(6000, hours(1))[1] == "00"
    biller.deliver(hours(2))
    (name,) = biller.take(hours(2.5))
    assert name.startswith(f"P{biller.code:05d}")
    assert biller.take(hours(2.75)) == [], "seen once: the first time it was seen gone stays"
    assert biller.reload(10000, hours(2.25), hours(3)) == "PROCESADO"  # made before it took the file
    assert biller.pending() == 4000
    assert biller.reload(4000, hours(3), hours(3)) == "PROCESADO"  # made after: it deducted the 60.00
    assert biller.pending() == 4000 and biller.offered(hours(3)) == "40.00"
    # on the exchange before the take was seen (its header says later: its clock is wrong)
    assert biller.reload(10000, hours(3), hours(3.25), arrived=hours(2.4)) == "PROCESADO"
    assert biller.pending() == 4000
    assert biller.pay(4000, hours(4))[1] == "00" and biller.pending() == 0


def test_a_take_counts_only_a_clock_tolerance_before_the_header(database: tuple[Engine, Path]) -> None:
    """The biller's clock runs 10 minutes ahead: its file made at 2:00 (true) says 2:10. A take seen
    at 2:05 is after the file was made: the 60.00 must still count. It does, because the header is
    read less the tolerance (10 minutes)."""
    biller = new_biller(database)
    assert biller.pay(6000, hours(1))[1] == "00"
    biller.deliver(hours(1.5))
    biller.take(hours(2) + minutes(5))
    # a late fee of 5.00 since: the amount is not the one paid against, the guard stays out of it
    assert biller.reload(10500, hours(2) + minutes(10), hours(2) + minutes(21), arrived=hours(2) + minutes(20)) \
        == "PROCESADO"  # fmt: skip
    assert biller.pending() == 4500, "the take may have come after the file: the 60.00 still counts"
    assert biller.pay(10500, hours(3))[1] == "34" and biller.pay(4500, hours(3))[1] == "00"
    # the take a full tolerance before a later file's header: that file has it
    assert biller.reload(4500, hours(2) + minutes(15), hours(3) + minutes(1)) == "PROCESADO"
    assert biller.pending() == 4500 - 4500, "its 45.00 (made after that file) still counts"


def test_the_settlement_delay_counts_from_the_delivery_less_the_tolerance(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    biller.settlement = timedelta(hours=1)
    assert biller.pay(6000, hours(1))[1] == "00"
    biller.deliver(hours(2))
    # made at 2:55 (true) by a clock 10 minutes ahead: before the delay had passed
    assert biller.reload(10500, hours(3) + minutes(5), hours(3.5), arrived=hours(3.5)) == "PROCESADO"
    assert biller.pending() == 4500
    # made after 3:00 (the delay passed; the file never taken): in the amounts by contract
    assert biller.reload(4500, hours(3) + minutes(11), hours(3.5)) == "PROCESADO"
    assert biller.pending() == 4500
    biller.settlement = timedelta(0)  # only taken files count
    assert biller.reload(4500, hours(50), hours(50)) == "PROCESADO"
    assert biller.pending() == -1500 and biller.offered(hours(50)) is None
    biller.take(hours(51))
    assert biller.reload(4500, hours(52), hours(52)) == "PROCESADO"
    assert biller.pending() == 4500


def test_never_while_the_reload_states_the_total_paid_against(database: tuple[Engine, Path]) -> None:
    """The delay passed, or the file was taken, but the biller states the debt at the very total the
    payment was made against: it plainly did not deduct it, and the payment keeps counting."""
    biller = new_biller(database)
    biller.settlement = timedelta(hours=1)
    assert biller.pay(6000, hours(1))[1] == "00"
    biller.deliver(hours(2))
    assert biller.reload(10000, hours(4), hours(4)) == "PROCESADO"  # settled by contract, not applied
    assert biller.pending() == 4000 and biller.pay(10000, hours(4))[1] == "34"
    biller.take(hours(5))  # taken (downloaded and deleted), still not applied
    assert biller.reload(10000, hours(6), hours(6)) == "PROCESADO"
    assert biller.pending() == 4000
    assert biller.reload(4000, hours(7), hours(7)) == "PROCESADO"  # applied at last
    assert biller.pending() == 4000
    assert biller.pay(4000, hours(8))[1] == "00"
    assert biller.reload(4000, hours(9), hours(9)) == "PROCESADO"  # states 40.00 again: not the 100.00 of the 60.00
    assert biller.pending() == 0, "the 40.00 paid against 40.00 counts; the 60.00 (paid against 100.00) does not"


def test_an_n_file_restates_the_debts_it_updates_alike(database: tuple[Engine, Path]) -> None:
    """An A line is a reload of its debt: the same rules (its staged lines find the payments)."""
    biller = new_biller(database)
    biller.settlement = timedelta(hours=1)
    assert biller.pay(6000, hours(1))[1] == "00"
    biller.deliver(hours(2))
    assert biller.reload(10500, hours(2.5), hours(2.5), kind="N") == "PROCESADO"  # not taken, not settled
    assert biller.pending() == 4500
    assert biller.reload(10000, hours(4), hours(4), kind="N") == "PROCESADO"  # settled, the total paid against
    assert biller.pending() == 4000
    assert biller.reload(4000, hours(5), hours(5), kind="N") == "PROCESADO"  # applied
    assert biller.pending() == 4000


def test_a_reversal_the_company_has_not_taken_gives_the_money_back_to_the_balance(
    database: tuple[Engine, Path],
) -> None:
    biller = new_biller(database)
    op, _ = biller.pay(3000, hours(1))
    biller.deliver(hours(2))
    biller.take(hours(2.5))
    assert biller.reverse(op, hours(3)) == "00"
    assert biller.pending() == 10000
    assert biller.reload(7000, hours(4), hours(4)) == "PROCESADO"  # applied the payment, not its reversal
    assert biller.pending() == 10000
    biller.deliver(hours(5))
    assert biller.reload(7000, hours(6), hours(6)) == "PROCESADO"  # the reversal written, not taken
    assert biller.pending() == 10000
    biller.take(hours(6.5))
    assert biller.reload(10000, hours(7), hours(7)) == "PROCESADO"  # now applied both
    assert biller.pending() == 10000


def test_a_reversal_after_a_reload_that_applied_the_payment(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    op, _ = biller.pay(3000, hours(1))
    biller.deliver(hours(2))
    biller.take(hours(2.5))
    assert biller.reload(7000, hours(3), hours(3)) == "PROCESADO"
    assert biller.pending() == 7000
    assert biller.reverse(op, hours(4)) == "00"
    assert biller.pending() == 10000, "the company deducted it; the customer owes it again"


def test_a_reversal_of_a_payment_settled_but_never_applied_gives_nothing_back(database: tuple[Engine, Path]) -> None:
    """The delay passed on the payment's file, but the biller still states the 100.00 it was paid
    against: the reversal has nothing to give back (before the guard: 160.00 payable)."""
    biller = new_biller(database)
    biller.settlement = timedelta(hours=1)
    op, _ = biller.pay(6000, hours(1))
    biller.deliver(hours(2))
    assert biller.reverse(op, hours(4)) == "00"
    assert biller.reload(10000, hours(5), hours(5)) == "PROCESADO"
    assert biller.pending() == 10000 and biller.pay(10001, hours(5))[1] == "34"


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 6000)),
        st.tuples(st.just("reverse"), st.integers(0, 10)),
        st.tuples(st.just("deliver"), st.just(0)),
        st.tuples(st.just("take"), st.just(0)),
        st.tuples(st.just("reload"), st.integers(-180, 9)),  # header minutes from now (tolerance 10)
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Paid:
    op: str
    cents: int
    stated: int  # the debt's total when it was paid
    sent: datetime | None = None  # its P record's file: delivered, taken
    taken: datetime | None = None
    reversed: bool = False
    back_sent: datetime | None = None  # its A record's file
    back_taken: datetime | None = None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, amounts=st.lists(st.integers(0, 20000), min_size=12, max_size=12),
       settle=st.sampled_from([0, 2]))  # fmt: skip
def test_restatement_follows_only_what_the_company_could_have_applied(
    database: tuple[Engine, Path], events: list[tuple[str, int]], amounts: list[int], settle: int
) -> None:
    """Random payments, reversals, deliveries, takes and reloads (headers up to 3 h before and 9 min
    after the load), settlement 0 or 2 h: the pending balance is always the company's amount less
    the payments it could not have applied (or states at the total they were paid against), plus
    the reversals it could not have applied of payments it had."""
    biller = new_biller(database, 10000)
    biller.settlement = timedelta(hours=settle)
    pending, stated = 10000, 10000
    made: list[Paid] = []

    def known(sent: datetime | None, taken: datetime | None, at: datetime) -> bool:
        by_take = taken is not None and taken <= at
        return by_take or (settle > 0 and sent is not None and sent + timedelta(hours=settle) <= at)

    for step, (kind, value) in enumerate(events, 1):
        now = hours(step)
        if kind == "pay":
            if pending <= 0:
                continue
            cents = min(value, pending)
            op, code = biller.pay(cents, now)
            assert code == "00"
            made.append(Paid(op, cents, stated))
            pending -= cents
        elif kind == "reverse":
            standing = [p for p in made if not p.reversed]
            if not standing:
                continue
            victim = standing[value % len(standing)]
            assert biller.reverse(victim.op, now) == "00"
            victim.reversed = True
            pending += victim.cents
        elif kind == "deliver":
            biller.deliver(now)
            for p in made:
                p.sent = p.sent or now
                if p.reversed:
                    p.back_sent = p.back_sent or now
        elif kind == "take":
            biller.take(now)
            for p in made:
                if p.sent is not None:
                    p.taken = p.taken or now
                if p.back_sent is not None:
                    p.back_taken = p.back_taken or now
        else:
            header_at = now + timedelta(minutes=value)
            at = min(header_at - timedelta(minutes=10), now)
            stated = amounts[step - 1] + 1
            assert biller.reload(stated, header_at, now) == "PROCESADO"
            applied = [p for p in made if known(p.sent, p.taken, at) and p.stated != stated]
            unknown = sum(p.cents for p in made if not p.reversed and p not in applied)
            returned = sum(p.cents for p in applied if p.reversed and not known(p.back_sent, p.back_taken, at))
            pending = stated - unknown + returned
        assert biller.pending() == pending, (step, kind, made)
