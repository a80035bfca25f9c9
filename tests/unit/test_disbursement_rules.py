"""The rules of the bank's answers and of webhook retries, and the response reader: any bytes
become rows (malformed ones with the field and reason), never an exception."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.layouts.disbursements import RESPONSE, RETURN_REASONS
from domain.lending.responses import (
    AlertKind,
    EarlierAnswer,
    Outcome,
    PaidLine,
    decide,
    inconsistency,
    payment_alert,
    reason_text,
)
from domain.lending.states import HOLDS_LIMIT, State, next_state
from domain.lending.webhooks import RetryPolicy
from usecases.disbursement_responses import read_lines

T0 = datetime(2026, 11, 22, 18, tzinfo=UTC)
ID = "c435ea8d-c408-4cc2-8a01-02b0bf9efae9"


def test_decisions() -> None:
    assert decide("P", "00", 3, 3) is Outcome.DISBURSED
    assert [decide("R", code, 0, 3) for code in ("02", "13", "14", "99")] == [Outcome.RETRY] * 4
    assert {decide("R", code, 0, 3) for code, (_, retry) in RETURN_REASONS.items() if not retry} == {Outcome.FAILED}
    assert decide("R", "02", 2, 3) is Outcome.RETRY and decide("R", "02", 3, 3) is Outcome.FAILED
    assert decide("R", "02", 0, 0) is Outcome.FAILED  # no retries configured
    assert decide("R", "77", 0, 3) is Outcome.FAILED and reason_text("77") == "motivo no catalogado"
    assert inconsistency({"estatus": "P", "codigo_motivo": "02"}) and inconsistency(
        {"estatus": "R", "codigo_motivo": "00"}
    )
    assert inconsistency({"estatus": "R", "codigo_motivo": "03"}) is None


def test_a_rejection_of_a_purchase_reported_paid_is_held() -> None:
    assert decide("R", "02", 0, 3, paid_elsewhere=True) is Outcome.HELD
    assert decide("R", "03", 0, 3, paid_elsewhere=True) is Outcome.HELD, "not failed: the limit stays held"
    assert decide("P", "00", 1, 3, paid_elsewhere=True) is Outcome.DISBURSED
    assert next_state(State.DISBURSING, "held") is State.DISBURSING and State.DISBURSING in HOLDS_LIMIT


def test_every_p_that_is_not_the_one_disbursement_is_an_alert() -> None:
    here, before = PaidLine("RESP_2.TXT", 3, 0, "K2"), PaidLine("RESP_1.TXT", 1, 0, "K1")
    assert payment_alert(here, ID, "DISBURSING", True, None, True, None) is None, "the one disbursement"
    kind, text = payment_alert(here, ID, "DISBURSED", False, before, True, EarlierAnswer("P", "00", "RESP_1.TXT"))
    assert kind is AlertKind.DOUBLE_PAYMENT and "RESP_1.TXT line 1 (attempt 0, tracking key K1)" in text
    assert "tracking keys differ" in text
    same = payment_alert(here, ID, "DISBURSED", False, PaidLine("R", 1, 0, "K2"), True, None)
    assert same is not None and "the same transfer stated again" in same[1]
    assert payment_alert(here, ID, "DISBURSED", True, before, True, None)[0] is AlertKind.DOUBLE_PAYMENT
    late = payment_alert(here, ID, "DISBURSEMENT_FAILED", False, None, True, EarlierAnswer("R", "03", "RESP_1.TXT"))
    assert late[0] is AlertKind.UNEXPECTED_PAYMENT and "limit released" in late[1]
    assert "never sent" in payment_alert(here, ID, "DISBURSING", False, None, False, None)[1]
    assert "no purchase of ours" in payment_alert(here, ID, None, False, None, False, None)[1]


def test_outcomes_are_transitions_and_release_the_limit() -> None:
    assert next_state(State.DISBURSING, "retry") is State.DISBURSING
    assert {next_state(State.DISBURSING, o.value) for o in (Outcome.DISBURSED, Outcome.FAILED)}.isdisjoint(HOLDS_LIMIT)


def test_backoff_doubles_to_the_cap_and_gives_up() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=4), give_up_after=timedelta(minutes=10))
    delays = []
    now = T0
    for attempts in range(1, 10):
        at = policy.next_attempt(T0, attempts, now)
        if at is None:
            break
        delays.append((at - now).total_seconds())
        now = at
    assert delays == [30, 60, 120, 240]  # then 240 more would pass the 10 minutes: given up
    assert policy.next_attempt(T0, 1, T0 + timedelta(minutes=11)) is None


def line(**values: object) -> bytes:
    base = {"id_transaccion": ID, "estatus": "P", "codigo_motivo": "00", "clave_rastreo": "BBVA1",
            "fecha_operacion": date(2026, 11, 22), "intento": 0}  # fmt: skip
    return RESPONSE.format(base | values)


def test_reader_numbers_lines_and_reports_problems() -> None:
    rows = read_lines(line() + b"\r\n" + b"short\n" + line(estatus="R", codigo_motivo="00") + b"\r\n" + line())
    assert [(r["line_no"], r["outcome"]) for r in rows] == [(1, "pending"), (2, "malformed"), (3, "malformed"),
                                                            (4, "duplicate")]  # fmt: skip
    assert "120" in rows[1]["detail"] and "codigo_motivo" in rows[2]["detail"] and "line 1" in rows[3]["detail"]
    assert rows[0] | {"detail": ""} == {"line_no": 1, "purchase_id": ID, "attempt": 0, "status": "P",
                                        "reason_code": "00", "tracking_key": "BBVA1", "outcome": "pending",
                                        "detail": ""}  # fmt: skip
    assert read_lines(b"") == [] and len(read_lines(b"\n")) == 1


@given(st.binary(max_size=600))
def test_any_bytes_become_rows_never_an_exception(data: bytes) -> None:
    rows = read_lines(data)
    assert all(r["outcome"] in {"pending", "malformed", "duplicate"} and len(r["detail"]) <= 300 for r in rows)
    assert [r["line_no"] for r in rows] == list(range(1, len(rows) + 1))


@given(st.lists(st.tuples(st.uuids(), st.sampled_from(["P", "R"]), st.sampled_from(sorted(RETURN_REASONS)),
                          st.integers(0, 99)), max_size=20, unique_by=lambda t: t[0]))  # fmt: skip
def test_written_lines_read_back(items: list) -> None:
    data = b"".join(line(id_transaccion=str(u), estatus=s, codigo_motivo="00" if s == "P" else c, intento=a) + b"\r\n"
                    for u, s, c, a in items)  # fmt: skip
    rows = read_lines(data)
    assert [(r["purchase_id"], r["status"], r["attempt"], r["outcome"]) for r in rows] == [
        (str(u), s, a, "pending") for u, s, _, a in items]  # fmt: skip
