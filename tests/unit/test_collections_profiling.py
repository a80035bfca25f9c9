"""Profiling: required fields, enumerations and the payment-capacity calculation, exact."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.profiling import NOT_AUTHORIZED, PROFILED, REQUIRED, ProfileRequest, check_request, profile
from domain.collections.rules import DecisionRules

DATA = Path(__file__).resolve().parents[1] / "testdata" / "collections" / "profile"


def request() -> dict[str, Any]:
    return json.loads((DATA / "request.json").read_text(), parse_float=Decimal)


def item_with(path: str, value: Any) -> dict[str, Any]:
    body = request()
    node = body["listValidation"][0]
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part]
    if value is ...:
        node.pop(parts[-1])
    else:
        node[parts[-1]] = value
    return body


def problem(body: dict[str, Any]) -> CollectionsError:
    with pytest.raises(CollectionsError) as caught:
        check_request(ProfileRequest.model_validate(body))
    return caught.value


def test_the_spec_example_is_profiled_exactly() -> None:
    (item,) = check_request(ProfileRequest.model_validate(request()))
    found = profile(item, DecisionRules())
    # sales 134533 - costs 134533 = 0; 25,000,000 + 0 + 134,533 - 134,533 = 25,000,000; x 0.30
    assert (found.action, found.business_net, found.disposable, found.capacity) == (
        PROFILED,
        Decimal(0),
        Decimal(25_000_000),
        Decimal(7_500_000),
    )


def test_capacity_is_floored_to_whole_pesos_and_never_negative() -> None:
    body = item_with("personInfo.incomeInfo.incomeAmt", 1_000_001)
    (item,) = check_request(ProfileRequest.model_validate(body))
    assert profile(item, DecisionRules()).capacity == Decimal(300_000)  # 300,000.3 down
    body = item_with("personInfo.financialLiabilities.amt", 30_000_000)
    (item,) = check_request(ProfileRequest.model_validate(body))
    found = profile(item, DecisionRules())
    assert found.disposable == Decimal(-4_865_467) and found.capacity == 0
    assert profile(item, DecisionRules(capacity_share=Decimal("0.5"))).capacity == 0


def test_without_consent_nothing_is_calculated() -> None:
    (item,) = check_request(ProfileRequest.model_validate(item_with("compliance.personDataProcessing", False)))
    found = profile(item, DecisionRules())
    assert (found.action, found.capacity) == (NOT_AUTHORIZED, None)
    assert "collection" not in found.result().model_dump(exclude_none=True)


@pytest.mark.parametrize("path", REQUIRED)
def test_required_fields(path: str) -> None:
    found = problem(item_with(path, None))
    assert found.code is NULL_INPUT and found.detail == f"listValidation[0].{path} es obligatorio"


@pytest.mark.parametrize(
    ("path", "value"),
    [("transaccion.operationType", "X"), ("govIssueIdent.govIssueIdentType", "TI"),
     ("naturalPerson.maritalStatusInfo.maritalStatus", "07"), ("naturalPerson.semiPrivatePersonInfo.educationLevel", "06"),
     ("personInfo.role", "03"), ("offer.processStage", "03"), ("offer.indMoment", "03"), ("offer.executionLine", "X"),
     ("naturalPerson.age", 12), ("businessInfo.labourSector", "Otro"), ("businessInfo.labourContractType", "Fijo"),
     ("personInfo.otherIncome.amt", -1), ("govIssueIdent.identSerialNum", "12A")],
)  # fmt: skip
def test_enumerations(path: str, value: Any) -> None:
    found = problem(item_with(path, value))
    assert found.code is TRANSFORM and found.detail.startswith(f"listValidation[0].{path} invalido")


def test_accents_and_letter_codes_are_accepted() -> None:
    body = item_with("businessInfo.labourSector", "Público")
    body["listValidation"][0]["naturalPerson"]["maritalStatusInfo"]["maritalStatus"] = "02"
    assert check_request(ProfileRequest.model_validate(body))


def test_empty_list_and_second_item_errors_are_named() -> None:
    assert problem({"listValidation": []}).code is NULL_INPUT
    body = request()
    second = copy.deepcopy(body["listValidation"][0])
    second["offer"]["indMoment"] = "9"
    body["listValidation"].append(second)
    assert problem(body).detail.startswith("listValidation[1].offer.indMoment invalido")


def test_rules_file_overrides_and_refuses_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"capacity_share": 0.35, "max_days_past_due": {"PDIA": 90}}')
    rules = DecisionRules.load(path)
    assert rules.capacity_share == Decimal("0.35") and rules.max_days_past_due["PDIA"] == 90
    assert rules.max_days_past_due["CNTL"] == DecisionRules().max_days_past_due["CNTL"]
    path.write_text('{"capacity": 1}')
    with pytest.raises(ValueError, match="unknown rule"):
        DecisionRules.load(path)
