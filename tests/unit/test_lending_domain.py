"""Credit-line QR domain: CLABE check digit, signed QR payloads, OTP checks, the state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.lending import MEXICO, LendingError
from domain.lending.clabe import check_digit, make_clabe, validate_clabe
from domain.lending.otp import check, code_hash, new_code
from domain.lending.qr import QrFields, sign, verify
from domain.lending.states import ALLOWED, State, next_state

KEY = b"k" * 32


def test_known_clabes() -> None:
    assert validate_clabe("002010077777777771") == "002010077777777771"  # Banxico's example
    assert validate_clabe(" 032180000118359719 ") == "032180000118359719"
    with pytest.raises(LendingError, match="check digit 2, expected 1"):
        validate_clabe("002010077777777772")
    with pytest.raises(LendingError, match="18 digits"):
        validate_clabe("00201007777777777")


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_every_clabe_has_exactly_one_check_digit(first17: str) -> None:
    digit = check_digit(first17)
    assert validate_clabe(first17 + str(digit))
    for other in set(range(10)) - {digit}:
        with pytest.raises(LendingError):
            validate_clabe(first17 + str(other))


@given(st.text(max_size=25))
def test_clabe_validation_only_raises_its_own_error(text: str) -> None:
    try:
        validate_clabe(text)
    except LendingError as exc:
        assert exc.code == "clabe_invalida"


def test_make_clabe() -> None:
    assert make_clabe("2", "10", "7777777777") == "002010077777777771"


FIELDS = st.builds(
    lambda cents, minutes, txn, channel, concept, customer: QrFields(
        transaction_id=txn, channel=channel, amount=Decimal(cents) / 100, amount_cents=cents,
        valid_until=datetime(2026, 11, 22, 12, 0, tzinfo=MEXICO) + timedelta(minutes=minutes), concept=concept,
        customer_id=customer,
    ),
    st.integers(1, 10**12), st.integers(0, 10**6), st.text(min_size=1, max_size=36),
    st.sampled_from(["KOF", "PRONTO"]), st.text(max_size=60), st.text(min_size=1, max_size=20),
)  # fmt: skip


@given(FIELDS)
def test_qr_round_trip(fields: QrFields) -> None:
    assert verify(sign(fields, KEY), KEY) == fields


@given(
    FIELDS, st.integers(0, 10**6), st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
)
def test_any_altered_character_is_refused(fields: QrFields, position: int, char: str) -> None:
    payload = sign(fields, KEY)
    index = 5 + position % (len(payload) - 5)
    if payload[index] == char or payload[index] == ".":
        return
    altered = payload[:index] + char + payload[index + 1 :]
    with pytest.raises(LendingError) as caught:
        verify(altered, KEY)
    assert caught.value.code == "qr_invalido"


@given(st.text(max_size=200))
def test_any_text_is_refused_with_the_project_error(text: str) -> None:
    with pytest.raises(LendingError):
        verify(text, KEY)


def test_other_key_is_forged() -> None:
    fields = QrFields("T1", "KOF", Decimal("10.50"), 1050, datetime(2026, 11, 22, tzinfo=MEXICO), "Pedido 1", "C1")
    with pytest.raises(LendingError, match="forged or altered"):
        verify(sign(fields, b"x" * 32), KEY)
    with pytest.raises(LendingError, match="disagree"):
        QrFields("T1", "KOF", Decimal("10.50"), 1051, datetime(2026, 11, 22, tzinfo=MEXICO), "Pedido 1", "C1")


def test_otp() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    code = new_code()
    assert len(code) == 6 and code.isdigit()
    stored = code_hash(code, "salt", KEY)
    assert code not in stored
    later = now + timedelta(minutes=5)
    assert check(code, stored, "salt", KEY, later, 0, 3, now).ok
    assert check("000000" if code != "000000" else "111111", stored, "salt", KEY, later, 0, 3, now).reason == "wrong"
    assert check(code, stored, "salt", KEY, later, 3, 3, now).reason == "too_many_attempts"
    assert check(code, stored, "salt", KEY, now, 0, 3, now).reason == "expired"


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event", sorted({e for _, e in ALLOWED}))
def test_state_machine_allows_only_its_table(state: State, event: str) -> None:
    if (state, event) in ALLOWED:
        assert next_state(state, event) == ALLOWED[state, event]
    else:
        with pytest.raises(LendingError) as caught:
            next_state(state, event)
        assert caught.value.code == "transicion_invalida" and str(state) in caught.value.message


def test_every_state_holding_limit_ends_in_bounded_time_or_by_the_bank() -> None:
    """Issue 29: a state that holds limit expires (and may be released) unless money may have left."""
    from domain.lending.states import EXPIRES, FINAL, HOLDS_LIMIT, MONEY_MAY_MOVE

    assert HOLDS_LIMIT <= EXPIRES | MONEY_MAY_MOVE
    for state in EXPIRES:
        assert next_state(state, "expired") is State.EXPIRED
        assert next_state(state, "released") is State.REJECTED
    for state in MONEY_MAY_MOVE:
        for event in ("expired", "released"):
            with pytest.raises(LendingError):
                next_state(state, event)
    assert not HOLDS_LIMIT & FINAL and not any(state in FINAL for state, _ in ALLOWED)
    assert next_state(State.PENDING_OTP2, "sms_failed") is State.QR_PENDING


LINE = dict(arrangement_id="CA", limit=Decimal(1000), available=Decimal(50), overdue=Decimal(0))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"available": Decimal(1500)}, "more than the limit"),
        ({"available": Decimal(-1)}, "available is"),
        ({"available": Decimal("49.999")}, "more than two decimals"),
        ({"limit": Decimal("NaN")}, "limit is"),
        ({"overdue": Decimal("-5")}, "overdue is"),
        ({"available": 50.0}, "available is"),  # a float is no exact amount
    ],
)
def test_a_line_that_could_lend_too_much_is_refused(change: dict, named: str) -> None:
    from domain.lending.credit import CreditLine, assess

    result = assess(CreditLine(**{**LINE, **change}), Decimal(10), Decimal(0))
    assert (result.approved, result.code) == (False, "linea_no_verificable") and named in result.message
    assert assess(CreditLine(**LINE), Decimal(50), Decimal(0)).approved
    assert assess(CreditLine(**LINE), Decimal("50.01"), Decimal(0)).code == "limite_insuficiente"


@pytest.mark.parametrize("value", [None, True, "100", 1.5, Decimal("NaN"), Decimal("Infinity"), Decimal(-1),
                                   Decimal("0.001"), [], {}])  # fmt: skip
def test_exact_amount_refuses_anything_but_an_exact_number(value: object) -> None:
    from domain.lending.credit import UnreadableCreditLine, exact_amount

    with pytest.raises(UnreadableCreditLine) as caught:
        exact_amount(value, "availableCreditAmount")
    assert caught.value.code == "linea_no_verificable" and "availableCreditAmount" in caught.value.message


def test_exact_amount_takes_integers_and_cents() -> None:
    from domain.lending.credit import exact_amount

    assert exact_amount(0, "x") == 0 and exact_amount(Decimal("950.50"), "x") == Decimal("950.50")
    assert exact_amount(Decimal("15000.0"), "x") == Decimal(15000)
