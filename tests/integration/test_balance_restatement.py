"""A reload of a company's debts restates the paid balance from what the company could know
(issue 13): only payments and reversals delivered to it in a payment file before its header's
transmission time (capped at arrival) count as known. A clock running ahead can never restore
a paid balance; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
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
from domain.yapago import LIMA, PagoRequest, ReversaRequest
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.uow import UnitOfWork
from tests.conftest import temporary_database
from usecases.companies import create_company
from usecases.load_debts import load_debts
from usecases.payment_files import generate_payment_files
from usecases.yapago import SetupCache, pago, reversa

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

    def reload(self, cents: int, header_at: datetime, now: datetime, arrived: datetime | None = None) -> str:
        """An R file with the one debt at `cents`, its header at `header_at`, loaded at `now`
        (its modification time `arrived`, if given)."""
        name = f"D{self.code:05d}22112026{next(self.seq):03d}.TXT"
        line = DETAIL.format(dict(
            tipo_actualizacion="N", codigo_cliente="04785124", nombre_cliente="JUAN PEREZ", codigo_producto="001",
            num_documento=DOC, desc_documento="Factura", fecha_vencimiento=date(2026, 12, 10),
            fecha_emision=date(2026, 11, 10), deuda=cents, mora=0, gastos_adm=0, pago_minimo=1, periodo=11,
            anio=2026, cuota=1, moneda_doc="1", dni="", ruc="", identificador_04="", filler="",
        ))  # fmt: skip
        local = header_at.astimezone(LIMA)
        head = HEADER.format(dict(
            nombre_archivo=name, tipo_actualizacion="R", codigo_empresa=self.code, fecha_transmision=local.date(),
            hora_transmision=time(local.hour, local.minute, local.second), numero_registros=1,
            importe_total_soles=cents, importe_total_dolares=0, filler="", mac=0,
        ))  # fmt: skip
        path = f"{self.code:05d}/Deudas/Pending/{name}"
        self.store.write_atomic(path, head + b"\r\n" + line + b"\r\n")
        if arrived is not None:
            os.utime(self.store.root / path, (arrived.timestamp(), arrived.timestamp()))
        (result,) = load_debts(self.engine, self.store, lambda: now, company=self.code)
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
        generate_payment_files(self.engine, self.store, lambda: now, company=self.code)

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT amount_cents + late_fee_cents + admin_fee_cents - paid_cents FROM debts"
                        " WHERE company_code = :c AND document = :d"), {"c": self.code, "d": DOC},
            ).scalar_one()  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Path]]:
    work = tmp_path_factory.mktemp("restate")
    if request.param == "sqlite":
        url = f"sqlite:///{work / 'db.sqlite'}"
        upgrade(url)
        engine = create_engine(url)
        yield engine, work
        engine.dispose()
        return
    with temporary_database(request.getfixturevalue("pg_url")) as url:
        upgrade(url)
        engine = create_engine(url)
        yield engine, work
        engine.dispose()


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
    assert biller.reload(10000, hours(2) + timedelta(minutes=5), hours(2)) == "PROCESADO"
    assert biller.pending() == 7000


def test_delivered_before_the_header_is_known_after_is_not(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    biller.pay(3000, hours(1))
    biller.deliver(hours(2))
    assert biller.reload(10000, hours(1.5), hours(3)) == "PROCESADO"  # made before it was sent the file
    assert biller.pending() == 7000
    assert biller.reload(7000, hours(2.5), hours(3)) == "PROCESADO"  # made after: it deducted the 30.00
    assert biller.pending() == 7000
    # on the exchange before the payment file was (its clock is wrong): it cannot have known
    assert biller.reload(10000, hours(2.5), hours(3), arrived=hours(1.75)) == "PROCESADO"
    assert biller.pending() == 7000


def test_a_reversal_the_company_was_not_sent_gives_the_money_back_to_the_balance(
    database: tuple[Engine, Path],
) -> None:
    biller = new_biller(database)
    op, _ = biller.pay(3000, hours(1))
    biller.deliver(hours(2))
    assert biller.reverse(op, hours(3)) == "00"
    assert biller.pending() == 10000
    assert biller.reload(7000, hours(4), hours(4)) == "PROCESADO"  # knows the payment, not its reversal
    assert biller.pending() == 10000
    biller.deliver(hours(5))
    assert biller.reload(10000, hours(6), hours(6)) == "PROCESADO"  # now knows both
    assert biller.pending() == 10000


def test_a_reversal_after_a_reload_that_knew_the_payment(database: tuple[Engine, Path]) -> None:
    biller = new_biller(database)
    op, _ = biller.pay(3000, hours(1))
    biller.deliver(hours(2))
    assert biller.reload(7000, hours(3), hours(3)) == "PROCESADO"
    assert biller.pending() == 7000
    assert biller.reverse(op, hours(4)) == "00"
    assert biller.pending() == 10000, "the company deducted it; the customer owes it again"


EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 6000)),
        st.tuples(st.just("reverse"), st.integers(0, 10)),
        st.tuples(st.just("deliver"), st.just(0)),
        st.tuples(st.just("reload"), st.integers(-180, 9)),  # header minutes from now (tolerance 10)
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS, amounts=st.lists(st.integers(0, 20000), min_size=12, max_size=12))
def test_restatement_follows_only_what_was_delivered(
    database: tuple[Engine, Path], events: list[tuple[str, int]], amounts: list[int]
) -> None:
    """Random payments, reversals, deliveries and reloads (headers up to 3 h before and 9 min after
    the load): the pending balance is always the company's amount less what it could not know of."""
    biller = new_biller(database, 10000)
    pending = 10000
    # each payment: [cents, P delivered at, reversed, A delivered at]
    made: list[list] = []
    for step, (kind, value) in enumerate(events, 1):
        now = hours(step)
        if kind == "pay":
            if pending <= 0:
                continue
            cents = min(value, pending)
            op, code = biller.pay(cents, now)
            assert code == "00"
            made.append([op, cents, None, False, None])
            pending -= cents
        elif kind == "reverse":
            standing = [p for p in made if not p[3]]
            if not standing:
                continue
            victim = standing[value % len(standing)]
            assert biller.reverse(victim[0], now) == "00"
            victim[3] = True
            pending += victim[1]
        elif kind == "deliver":
            biller.deliver(now)
            for p in made:
                p[2] = p[2] or now
                if p[3]:
                    p[4] = p[4] or now
        else:
            header_at = now + timedelta(minutes=value)
            known = min(header_at, now)
            company_amount = amounts[step - 1] + 1
            assert biller.reload(company_amount, header_at, now) == "PROCESADO"
            unknown = sum(c for _, c, sent, rev, _ in made if not rev and (sent is None or sent > known))
            returned = sum(
                c for _, c, sent, rev, back in made if rev and sent is not None and sent <= known
                and (back is None or back > known)
            )  # fmt: skip
            pending = company_amount - unknown + returned
        assert biller.pending() == pending, (step, kind, made)
