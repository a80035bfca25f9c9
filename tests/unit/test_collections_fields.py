"""The collections field vocabulary (domain/collections/fields.py), without HTTP: every form
of every rule reads its accepted samples and refuses the others, its OpenAPI schema describes
what it accepts, any JSON value gives a reason or passes (never an exception), and the tables
are checked when they are built."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.collections.agreements import QUERY
from domain.collections.collection_check import FIELDS as CHECK_FIELDS
from domain.collections.fields import Code, Form, Number, Rule, request_model, values_at
from domain.collections.headers import COLLECTION, COMMON
from domain.collections.negotiations import CASES
from domain.collections.negotiations import FIELDS as NEGOTIATION_FIELDS
from domain.collections.policies import FIELDS as POLICY_FIELDS
from domain.collections.profiling import FIELDS as PROFILE_FIELDS

RULES = [*NEGOTIATION_FIELDS, *PROFILE_FIELDS, *POLICY_FIELDS, *CHECK_FIELDS, *QUERY]
FORMS: list[tuple[str, Form, Any]] = [(rule.path, rule.form, rule.example) for rule in RULES]
FORMS += [(f"{c} {t} {path}", form, None) for (c, t), case in CASES.items() for path, form in case.forms.items()]
FORMS += [(h.name, h.form, h.example) for h in (*COMMON, *COLLECTION)]


def verdict(form: Form, value: Any) -> str | None:
    """What the route would say of `value` in this field: None accepted, else the reason."""
    try:
        read = TypeAdapter(form.annotation).validate_python(json.loads(json.dumps(value)))
    except ValidationError as exc:
        return exc.errors()[0]["type"]
    return form.check(read)


def _example(name: str, form: Form, example: Any) -> Any:
    if example is not None:
        return example
    assert isinstance(form, Code), name
    return next(iter(form.options))


@pytest.mark.parametrize(("name", "form", "example"), FORMS, ids=[name for name, _, _ in FORMS])
def test_each_form_takes_its_forms_and_refuses_the_rest(name: str, form: Form, example: Any) -> None:
    example = _example(name, form, example)
    for label, value in form.accepted(example):
        assert verdict(form, value) is None, (label, value)
    for label, value in form.refused(example):
        assert verdict(form, value) is not None, (label, value)
    assert form.words, "the docs and the OpenAPI describe every form"


@pytest.mark.parametrize(("name", "form", "example"), FORMS, ids=[name for name, _, _ in FORMS])
def test_each_schema_admits_every_accepted_form(name: str, form: Form, example: Any) -> None:
    """The OpenAPI document does not refuse what the API accepts (a generated client would)."""
    validator = jsonschema_rs.validator_for(form.schema())
    for label, value in form.accepted(_example(name, form, example)):
        assert validator.is_valid(value), (label, value, form.schema())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**25), 10**25) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30) | st.sampled_from(["NaN", "1e30", "  ", "0", "000", "2022-02-30", "20220922", "Si"]),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
    max_leaves=5,
)  # fmt: skip


@settings(max_examples=300)
@given(rule=st.sampled_from(RULES), value=JSON)
def test_any_value_is_a_verdict_never_an_exception(rule: Rule, value: Any) -> None:
    found = verdict(rule.form, value)
    assert found is None or (isinstance(found, str) and found)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1000, max_value=1000))
def test_numbers_follow_their_range_and_places(value: Decimal) -> None:
    form = Number(low=Decimal(0), high=Decimal(100), places=2)
    ok = Decimal(0) <= value <= Decimal(100) and value == value.quantize(Decimal("0.01"))
    assert (form.check(value) is None) is ok


def test_a_table_with_a_field_named_twice_or_as_object_and_field_is_refused() -> None:
    with pytest.raises(ValueError, match="named twice"):
        request_model("X", [Rule("a.b", Number(), 1), Rule("a.b", Number(), 1)], "X")
    with pytest.raises(ValueError, match="a field and an object"):
        request_model("Y", [Rule("a", Number(), 1), Rule("a.b", Number(), 1)], "Y")


def test_the_tables_spelling_is_an_alias_at_its_depth() -> None:
    model = request_model("Z", [Rule("x.govIssueIdent.type", Number(), 1, "x.GovIssueIdent.type"),
                                Rule("items[].name", Number(), 1, "Items[].name")], "Z")  # fmt: skip
    parsed = model.model_validate({"x": {"GovIssueIdent": {"type": 5}}, "Items": [{"name": 1}, {"name": 2}]})
    assert parsed.x.govIssueIdent.type == 5
    assert list(values_at(parsed, "items[].name")) == [("items[0].name", 1), ("items[1].name", 2)]
    with pytest.raises(ValidationError):
        model.model_validate({"x": {"govissueident": {}}})


@pytest.mark.parametrize("rule", RULES, ids=[rule.path for rule in RULES])
def test_every_row_has_an_accepted_and_a_refused_value(rule: Rule) -> None:
    """What the table-driven test sends for each row: never a row it could not test."""
    assert rule.form.accepted(rule.example) and rule.form.refused(rule.example), rule.path
    assert rule.table or rule.example is not None, "a row the tables do not have still shows the example's value"
