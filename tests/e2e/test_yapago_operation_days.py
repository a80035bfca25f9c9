"""Issue 29, fault 1: a bank's operation is (idBanco, numeroOperacion, fechaTxn).

Banks whose operation numbers restart (per day, per terminal) send a number again on another
day for a new payment; it was answered as a retry, a 00 that booked nothing. Over real HTTP on
the local host, SQLite and PostgreSQL: the number on another day is a new payment, or, where it
cannot be told from a retry sent with a new date, 43; a reversa undoes the one payment it names.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.e2e.test_yapago_api import balances, host, pago, reversa  # noqa: F401 - the fixture
from tests.e2e.test_yapago_concurrency import all_at_once, poster
from tests.e2e.yapago_host import YapagoHost

DOC = "F001-00000002"  # 50.00, minimum 10.00


def op() -> str:
    return f"D{uuid.uuid4().hex[:11]}"


def pending(host: YapagoHost) -> int:  # noqa: F811
    return int(balances(host)[DOC][0].replace(".", ""))


def payments_of(host: YapagoHost, operation: str) -> list[tuple[int, str, int, str]]:  # noqa: F811
    """(id, txn_date, amount_cents, status) of the bank's payments under that number."""
    engine = sa.create_engine(host.env["SQL_URL"])
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, txn_date, amount_cents, status FROM payments"
                    " WHERE bank_code = '1020' AND operation_number = :op ORDER BY txn_date"), {"op": operation}
        ).all()  # fmt: skip
    engine.dispose()
    return [(row.id, str(row.txn_date), row.amount_cents, row.status) for row in rows]


def age(host: YapagoHost, operation: str, minutes: int) -> None:  # noqa: F811
    """The stored answers under that number as if received `minutes` earlier."""
    from sql.tables import api_operations

    engine = sa.create_engine(host.env["SQL_URL"])
    key = (api_operations.c.bank_code == "1020") & (api_operations.c.operation_number == operation)
    with engine.begin() as conn:
        for row in conn.execute(sa.select(api_operations).where(key)).all():
            conn.execute(
                sa.update(api_operations)
                .where(key & (api_operations.c.txn_date == row.txn_date) & (api_operations.c.operation == row.operation))
                .values(created_at=row.created_at - timedelta(minutes=minutes))
            )  # fmt: skip
    engine.dispose()


def ok(answer: Any) -> dict[str, Any]:
    assert (answer.status_code, answer.json()["codResp"]) == (200, "00"), answer.text
    return answer.json()


def test_a_number_used_again_on_another_day_is_a_new_payment(host: YapagoHost) -> None:  # noqa: F811
    """The reproduction: 000777-like number on 05/12 and again on 07/12 was a silent 00."""
    operation, before = op(), pending(host)
    first = ok(host.post("pago", pago(operation, "10.00", fechaTxn="05122026")))
    later = ok(host.post("pago", pago(operation, "10.00", fechaTxn="07122026")))
    assert later["idPago"] != first["idPago"] and later["desResp"] == "Pago registrado"
    assert payments_of(host, operation) == [
        (int(first["idPago"]), "2026-12-05", 1000, "P"), (int(later["idPago"]), "2026-12-07", 1000, "P"),
    ]  # fmt: skip
    assert pending(host) == before - 2000, "both took the balance"
    # each is its own operation: its retries get its own first answer, other data under it is 40
    assert host.post("pago", pago(operation, "10.00", fechaTxn="05122026", horaTxn="235959", idCanal="60")).json() \
        == first  # fmt: skip
    assert host.post("pago", pago(operation, "10.00", fechaTxn="07122026", horaTxn="000001")).json() == later
    conflict = host.post("pago", pago(operation, "10.01", fechaTxn="07122026"))
    assert (conflict.status_code, conflict.json()["codResp"]) == (409, "40")
    assert len(payments_of(host, operation)) == 2 and pending(host) == before - 2000
    for day in ("05122026", "07122026"):
        ok(host.post("reversa", reversa(operation, fechaTxnPago=day)))
    assert pending(host) == before


def test_the_adjacent_day_with_the_same_data_is_refused_while_it_may_be_a_retry(host: YapagoHost) -> None:  # noqa: F811
    operation, before = op(), pending(host)
    first = ok(host.post("pago", pago(operation, "10.00")))  # 22112026
    for day in ("23112026", "21112026"):  # a retry that crossed midnight, or a clock behind
        refused = host.post("pago", pago(operation, "10.00", fechaTxn=day, horaTxn="000105", idCanal="60"))
        assert (refused.status_code, refused.json()["codResp"]) == (409, "43"), refused.text
        assert "22112026" in refused.json()["desResp"] and refused.json()["numeroOperacion"] == operation
    assert len(payments_of(host, operation)) == 1 and pending(host) == before - 1000, "nothing booked"
    assert host.post("pago", pago(operation, "10.00", horaTxn="000105")).json() == first, "the retry as it should be"
    other = ok(host.post("pago", pago(operation, "12.00", fechaTxn="23112026")))  # other data: a new operation
    assert other["idPago"] != first["idPago"] and pending(host) == before - 2200
    age(host, operation, 61)  # past YAPAGO_RETRY_WINDOW_MINUTES (60): no retry waits that long
    late = ok(host.post("pago", pago(operation, "10.00", fechaTxn="21112026")))
    assert [row[1:] for row in payments_of(host, operation)] == [
        ("2026-11-21", 1000, "P"), ("2026-11-22", 1000, "P"), ("2026-11-23", 1200, "P"),
    ]  # fmt: skip
    assert pending(host) == before - 3200
    for day in ("21112026", "22112026", "23112026"):
        ok(host.post("reversa", reversa(operation, fechaTxnPago=day)))
    assert pending(host) == before and late["idPago"] not in (first["idPago"], other["idPago"])


def test_a_reversa_undoes_only_the_payment_it_names(host: YapagoHost) -> None:  # noqa: F811
    operation, before = op(), pending(host)
    p1 = ok(host.post("pago", pago(operation, "10.00")))  # day 1: 22112026
    r1 = ok(host.post("reversa", reversa(operation)))  # the only payment under the number: as before
    assert r1["idPago"] == p1["idPago"] and pending(host) == before
    p2 = ok(host.post("pago", pago(operation, "10.00", fechaTxn="24112026")))  # day 2 reuses the number
    assert pending(host) == before - 1000
    # day 1's reversa retried on day 2: it must not undo day 2's payment
    retried = host.post("reversa", reversa(operation, fechaTxn="24112026", horaTxn="090000"))
    assert (retried.status_code, retried.json()["codResp"]) == (400, "11"), retried.text
    assert "fechaTxnPago" in retried.json()["desResp"] and "22112026, 24112026" in retried.json()["desResp"]
    assert payments_of(host, operation)[1][3] == "P" and pending(host) == before - 1000
    assert host.post("reversa", reversa(operation, fechaTxnPago="22112026", horaTxn="090000")).json() == r1
    missing = host.post("reversa", reversa(operation, fechaTxnPago="23112026"))
    assert (missing.status_code, missing.json()["codResp"]) == (404, "41")
    bad = host.post("reversa", reversa(operation, fechaTxnPago="31022026"))
    assert (bad.status_code, bad.json()["codResp"]) == (400, "11") and "fechaTxnPago" in bad.json()["desResp"]
    r2 = ok(host.post("reversa", reversa(operation, fechaTxn="24112026", fechaTxnPago="24112026")))
    assert r2["idPago"] == p2["idPago"] and pending(host) == before
    again = host.post("reversa", reversa(operation, fechaTxn="25112026", idCanal="99", fechaTxnPago="24112026"))
    assert again.json() == r2, "a reversal happens once: its retry gets the first answer"
    after = host.post("pago", pago(operation, "10.00", fechaTxn="24112026"))
    assert (after.status_code, after.json()["codResp"], after.json()["idPago"]) == (409, "42", p2["idPago"])
    assert [row[3] for row in payments_of(host, operation)] == ["A", "A"] and pending(host) == before


def test_two_payments_of_one_number_are_two_lines_of_the_payment_file(host: YapagoHost) -> None:  # noqa: F811
    from domain.layouts.payments import PAYMENT

    host.manage("generate-payments")  # whatever earlier tests left
    operation = op()
    ok(host.post("pago", pago(operation, "11.00", fechaTxn="05122026")))
    ok(host.post("pago", pago(operation, "11.00", fechaTxn="07122026")))
    printed = host.manage("generate-payments")
    assert "2 records: 2 payments PEN 22.00" in printed, printed
    data = (Path(host.env["SFTP_URL"].removeprefix("file://")) / "00730" / "Pagos" / printed.split()[1]).read_bytes()
    records = [PAYMENT.parse(line)[0] for line in data.split(b"\r\n") if line]
    assert [(r["numero_operacion"], r["fecha_pago"], r["estado"], r["importe_pagado"]) for r in records] == [
        (operation, date(2026, 12, 5), "P", 1100), (operation, date(2026, 12, 7), "P", 1100),
    ]  # fmt: skip
    for day in ("05122026", "07122026"):
        ok(host.post("reversa", reversa(operation, fechaTxnPago=day)))


def test_a_retry_with_a_new_date_racing_its_original_is_never_paid_twice(host: YapagoHost) -> None:  # noqa: F811
    """Both at once: they take turns on the debt's row, the second sees the first and answers 43."""
    before = pending(host)
    for _ in range(4):
        operation = op()
        answers = all_at_once([
            poster(host, "pago", pago(operation, "10.00")),
            poster(host, "pago", pago(operation, "10.00", fechaTxn="23112026", horaTxn="000002")),
        ])  # fmt: skip
        assert sorted(a.json()["codResp"] for a in answers) == ["00", "43"], [a.text for a in answers]
        assert len(payments_of(host, operation)) == 1 and pending(host) == before - 1000
        day = next(a.request.content for a in answers if a.json()["codResp"] == "00")
        paid_on = "23112026" if b'"23112026"' in day else "22112026"
        ok(host.post("reversa", reversa(operation, fechaTxn=paid_on)))
        assert pending(host) == before
