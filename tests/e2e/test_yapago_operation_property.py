"""Issue 29, fault 1 as a property: whatever sequence of pagos a bank sends (numbers reused on
any day, retries with new transport fields, other amounts, minutes or hours apart), every 00 is
one payment row of that number and day with that amount, no row is without its 00, and the
debt's balance moved by exactly the rows. Through the registered function, SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bootstrap
from adapters.files.local import LocalFileStore
from sql.tables import payments
from tests.conftest import temporary_database
from tests.e2e.calls import call
from tests.e2e.yapago_host import debt_file
from usecases.clients import register_client
from usecases.companies import create_company, seed_demo
from usecases.load_debts import load_debts

COMPANY, DOC = 731, "F001-00000001"
START = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
DAYS = ["21112026", "22112026", "23112026", "25112026"]  # adjacent ones, and one two days later
STEP = st.tuples(
    st.sampled_from(DAYS),  # fechaTxn
    st.sampled_from("12"),  # the number (of this example)
    st.sampled_from(["1.00", "2.00"]),  # the data
    st.sampled_from(["10", "60"]),  # idCanal: transport
    st.sampled_from([0, 1, 30, 59, 61, 600]),  # minutes since the previous call
)


class Clock:
    now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[Any]:
    import os

    from sql.migrate import upgrade

    work = tmp_path_factory.mktemp("operation-property")
    names = ("SQL_URL", "SFTP_URL", "LOG_STORAGE_CONNECTION", "JWT_SIGNING_KEY")
    saved = {k: os.environ.get(k) for k in names}
    clock, real_now = Clock(), bootstrap.utc_now
    with ExitStack() as stack:
        url = f"sqlite:///{work / 'app.db'}" if request.param == "sqlite" else stack.enter_context(
            temporary_database(request.getfixturevalue("pg_url")))  # fmt: skip
        os.environ.update(SQL_URL=url, SFTP_URL=f"file://{work / 'x'}", LOG_STORAGE_CONNECTION=azurite,
                          JWT_SIGNING_KEY="p" * 40)  # fmt: skip
        bootstrap.reset()
        upgrade(url)
        seed_demo(bootstrap.unit_of_work, real_now())
        create_company(bootstrap.unit_of_work, str(COMPANY), "AGUA SA", ["001:completa:PEN"],
                       ["001:1020:191-0731001-0-01"], real_now())  # fmt: skip
        register_client(bootstrap.unit_of_work, "bank-prop", "bank-prop-secret", "yapago", real_now())
        name, data = debt_file(COMPANY, [("P1", "001", DOC, 999_999_999_99, "", "")])
        LocalFileStore(work / "x").write_atomic(f"00731/Deudas/Pending/{name}", data)
        (loaded,) = load_debts(bootstrap.engine(), LocalFileStore(work / "x"), lambda: START)
        assert loaded.applied == 1, loaded
        answer = call("auth_token", "POST", body={"client_id": "bank-prop", "client_secret": "bank-prop-secret"})
        bootstrap.utc_now = clock  # the pagos' clock: received minutes or hours apart
        try:
            yield json.loads(answer.get_body())["access_token"], clock
        finally:
            bootstrap.utc_now = real_now
            bootstrap.log_sink().flush()
            bootstrap.reset()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _paid_cents() -> int:
    with bootstrap.engine().connect() as conn:
        return conn.execute(
            sa.text("SELECT paid_cents FROM debts WHERE company_code = :c"), {"c": COMPANY}
        ).scalar_one()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=8))
def test_every_00_is_exactly_one_payment_row(app: Any, steps: list[tuple[str, str, str, str, int]]) -> None:
    token, clock = app
    prefix, before = uuid.uuid4().hex[:8], _paid_cents()
    clock.now = START
    answered = []
    for day, number, amount, channel, minutes in steps:
        clock.now += timedelta(minutes=minutes)
        body = {
            "fechaTxn": day, "horaTxn": "120000", "idCanal": channel, "idForma": "01",
            "numeroOperacion": f"{prefix}{number}", "idConsulta": "P1", "servicio": "001", "numeroDocumento": DOC,
            "importePagado": amount, "moneda": "1", "idEmpresa": str(COMPANY), "idBanco": "1020",
        }  # fmt: skip
        response = call("yapago_pago", "POST", headers={"Authorization": f"Bearer {token}"}, body=body)
        answer = json.loads(response.get_body())
        assert answer["codResp"] in {"00", "40", "43"}, answer
        answered.append((body, answer))
    with bootstrap.engine().connect() as conn:
        rows = {
            row.id: row for row in conn.execute(
                sa.select(payments.c.id, payments.c.operation_number, payments.c.txn_date, payments.c.amount_cents)
                .where((payments.c.bank_code == "1020") & payments.c.operation_number.startswith(prefix)))
        }  # fmt: skip
    paid: dict[tuple[str, str], str] = {}
    for body, answer in answered:
        if answer["codResp"] != "00":
            continue
        row = rows.get(int(answer["idPago"]))
        assert row is not None, ("a 00 without its payment", body, answer)
        day = body["fechaTxn"]
        assert (row.operation_number, row.txn_date.strftime("%d%m%Y"), row.amount_cents) == (
            body["numeroOperacion"], day, int(body["importePagado"].replace(".", "")),
        ), ("a 00 naming another operation's payment", body, answer)  # fmt: skip
        key = (body["numeroOperacion"], day)
        assert paid.setdefault(key, answer["idPago"]) == answer["idPago"], "one payment per operation"
    assert {int(p) for p in paid.values()} == set(rows), "a payment row without its 00"
    assert _paid_cents() - before == sum(row.amount_cents for row in rows.values())
