"""Property tests of the request reader (domain/json_body.py), the amount grammar
(domain/amounts.py) and the YAPAGO date/time patterns: whatever the input, an answer or a
named refusal, never another exception; and what is valid is read exactly."""

from __future__ import annotations

import json
import re
from datetime import date, time
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.amounts import amount_pattern, parse_amount
from domain.json_body import MAX_DEPTH, BodyError, FieldProblem, depth, parse_object
from domain.yapago import DATE_PATTERN, TIME_PATTERN

LIMIT = 64 * 1024
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | SAFE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SAFE_TEXT, inner, max_size=4),
    max_leaves=20,
)


def true_depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((true_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((true_depth(v) for v in value), default=0)
    return 0


@settings(max_examples=300)
@given(st.dictionaries(SAFE_TEXT, JSON_VALUES, max_size=5))
def test_valid_objects_are_read_as_they_were_written(value: dict) -> None:
    raw = json.dumps(value).encode()
    assert depth(raw) == true_depth(value)
    assert parse_object(raw, LIMIT) == value


@settings(max_examples=500)
@given(st.binary(max_size=300))
@example(b"[" * 5000)
@example(b'{"a": "\\u0000"}')
@example(b'{"a": 1' + b"0" * 5000 + b"}")
@example(b'{"a": "\\ud800"}')
def test_any_bytes_are_an_object_or_a_named_refusal(raw: bytes) -> None:
    try:
        assert isinstance(parse_object(raw, LIMIT), dict)
    except (BodyError, FieldProblem):
        pass


@given(st.integers(MAX_DEPTH + 1, 3000), st.sampled_from(["[]", "{}"]))
def test_nesting_beyond_the_bound_is_refused_before_parsing(levels: int, pair: str) -> None:
    inner = '{"a":' * levels + "1" + "}" * levels if pair == "{}" else "[" * levels + "]" * levels
    with pytest.raises(BodyError, match="deeper"):
        parse_object(('{"x": ' + inner + "}").encode(), 10**7)


@given(st.text(max_size=3).filter(lambda t: re.search(r"[\x00-\x1f\x7f-\x9f]", t) is not None))
def test_control_characters_are_refused_with_the_path(text: str) -> None:
    with pytest.raises(FieldProblem) as refused:
        parse_object(json.dumps({"a": [{"b": text}]}).encode(), LIMIT)
    assert refused.value.path == "a[0].b" and refused.value.kind == "text"


@given(st.integers(0, 10**13 - 1), st.sampled_from(["", ".5", ".05", ".50", ".99"]), st.integers(0, 3))
def test_amounts_of_the_grammar_are_exact(units: int, fraction: str, zeros: int) -> None:
    text = "0" * zeros + str(units) + fraction
    expected = Decimal(str(units) + fraction).quantize(Decimal("0.01"))
    maximum = Decimal("9999999999999.99")
    if expected == 0 or len(text) > 18:
        with pytest.raises(ValueError):
            parse_amount(text, maximum)
        return
    assert parse_amount(text, maximum) == expected
    number = parse_object(f'{{"a": {units}{fraction}}}'.encode(), LIMIT)["a"]  # as a JSON number
    assert parse_amount(number, maximum) == expected


@settings(max_examples=500)
@given(st.text(max_size=20) | st.floats() | st.integers() | st.decimals())
@example("1_000")
@example("١٠٠")
@example("1e2")
@example(float("nan"))
@example(Decimal("sNaN"))
def test_any_amount_input_is_grammar_or_refused(value: object) -> None:
    try:
        amount = parse_amount(value, Decimal("9999999999.99"))
    except ValueError:
        return
    assert Decimal(0) < amount <= Decimal("9999999999.99") and amount == amount.quantize(Decimal("0.01"))


@settings(max_examples=1000)
@given(st.text(alphabet="0123456789.-e+_ ", max_size=20) | st.from_regex(r"\A0*[0-9]{1,12}(\.[0-9]{0,3})?\Z"))
@example("0")
@example("00.00")
@example("0.01")
@example("9999999999.99")
@example("10000000000")
def test_the_documented_pattern_is_the_grammar(text: str) -> None:
    """What the OpenAPI pattern (and maxLength) calls valid, the validator takes, and nothing else."""
    maximum = Decimal("9999999999.99")
    documented = len(text) <= 18 and re.fullmatch(amount_pattern(maximum), text) is not None
    try:
        parse_amount(text, maximum)
        accepted = True
    except ValueError:
        accepted = False
    assert documented == accepted, text


def _is_date(text: str) -> bool:
    try:
        date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        return False
    return int(text[4:]) >= 1000


@settings(max_examples=1000)
@given(st.integers(1, 31), st.integers(1, 12), st.integers(1000, 9999))
@example(29, 2, 2000)
@example(29, 2, 1900)
@example(29, 2, 2024)
@example(29, 2, 2100)
@example(29, 2, 2400)
def test_the_date_pattern_is_the_calendar(day: int, month: int, year: int) -> None:
    text = f"{day:02d}{month:02d}{year:04d}"
    assert bool(re.fullmatch(DATE_PATTERN, text)) == _is_date(text), text


@given(st.from_regex(r"\A[0-9]{8}\Z"))
def test_the_date_pattern_on_any_eight_digits(text: str) -> None:
    assert bool(re.fullmatch(DATE_PATTERN, text)) == _is_date(text), text


@given(st.from_regex(r"\A[0-9]{6}\Z"))
def test_the_time_pattern_is_the_clock(text: str) -> None:
    try:
        time(int(text[:2]), int(text[2:4]), int(text[4:]))
        valid = True
    except ValueError:
        valid = False
    assert bool(re.fullmatch(TIME_PATTERN, text)) == valid, text


def test_a_field_of_the_wrong_form_is_named_with_its_form_not_its_pattern() -> None:
    """29022026 (no 29 February in 2026), 250000: the answer says what the field should look like,
    as the document describes it, never the regular expression behind it."""
    from pydantic import ValidationError

    from domain.yapago import PagoRequest, invalid_request

    body = {"fechaTxn": "29022026", "horaTxn": "250000", "idCanal": "10", "idForma": "01", "numeroOperacion": "1",
            "idConsulta": "1", "servicio": "001", "numeroDocumento": "D", "importePagado": "1", "moneda": "1",
            "idEmpresa": "730", "idBanco": "1020"}  # fmt: skip
    try:
        PagoRequest.model_validate(body)
    except ValidationError as exc:
        answer = invalid_request(exc).body()
    assert answer["codResp"] == "11"
    assert answer["desResp"] == ("fechaTxn: no tiene la forma esperada: DDMMAAAA (hora de Lima); "
                                 "horaTxn: no tiene la forma esperada: HHMMSS, 24 h (hora de Lima)")  # fmt: skip
