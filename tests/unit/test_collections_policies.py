"""Policies: enumerations, viability per cause and exception, and the recalculated installment, exact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.policies import (
    CAUSES,
    CreditAnalysis,
    PolicyRequest,
    PolicyResponse,
    ResponseType,
    check_request,
    decide,
    forgiven,
    installment,
)
from domain.collections.rules import DecisionRules

DATA = Path(__file__).resolve().parents[1] / "testdata" / "collections" / "policies"


def example(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(), parse_float=Decimal)


def collection(body: dict[str, Any], n: int = 0) -> Any:
    return check_request(PolicyRequest.model_validate(body))[n]


def problem(body: dict[str, Any]) -> CollectionsError:
    with pytest.raises(CollectionsError) as caught:
        check_request(PolicyRequest.model_validate(body))
    return caught.value


def test_installment_formula() -> None:
    assert installment(Decimal(1_000_000), Decimal(2), 12, 0) == Decimal("94559.60")
    assert installment(Decimal(1200), Decimal(0), 12, 0) == Decimal("100.00")
    assert installment(Decimal(1000), Decimal(1), 1, 1) == Decimal("1020.10")  # a month of grace capitalizes
    assert installment(Decimal(1000), Decimal(1), 0, 0) is None


@given(st.integers(1, 10**10), st.decimals(0, 10, places=4), st.integers(1, 360))
def test_installments_repay_the_balance(cents: int, rate: Decimal, term: int) -> None:
    """Paying the installment for the whole term leaves the balance within rounding of zero."""
    balance = Decimal(cents) / 100
    pay = installment(balance, rate, term, 0)
    assert pay is not None and pay >= 0
    left = balance
    for _ in range(term):
        left = left * (1 + rate / 100) - pay
    assert abs(left) <= Decimal("0.005") * term * (1 + rate / 100) ** term


def test_primer_momento_example_is_viable_for_every_tool() -> None:
    decision = decide(collection(example("primer-momento")), DecisionRules())
    assert decision.viable and not decision.recalculated and decision.tool == ""
    offer = decision.collection.offer
    assert (offer.flagViability, offer.viabilityLevel, offer.count) == (
        "true",
        "0",
        str(len(DecisionRules().max_days_past_due)),
    )


def test_recalculo_examples() -> None:
    one = decide(collection(example("recalculo-1-offer")), DecisionRules())
    assert one.recalculated and one.installment is None, "no new term: the installment cannot be calculated"
    more = example("recalculo-more-offers")
    cnt = decide(collection(more, 0), DecisionRules())
    # concepts 1,529,675.00 + 6,646.00, nothing forgiven, rate 0, 3 months
    assert (cnt.tool, cnt.installment, cnt.forgiven) == ("CNT", Decimal("512107.00"), Decimal("0.00"))


def test_forgiveness_and_recalculated_plan() -> None:
    body = example("recalculo-more-offers")
    col = body["creditAnalysis"][0]["collection"]
    col["intRateInfo"]["curAmt"][0]["rate"] = Decimal(10)  # forgive 10% of the capital
    col["indebtedness"].update({"rate": Decimal("1.5"), "numAsignInstallments": 12, "periodGrace": 2, "term": 12})
    col["extraordinaryFee"][0]["amt"] = Decimal(1200)
    decision = decide(collection(body), DecisionRules())
    assert decision.forgiven == Decimal("152967.50") == forgiven(collection(body))
    assert decision.installment == installment(Decimal("1536321") - Decimal("152967.50"), Decimal("1.5"), 12, 2)
    answer = decision.collection
    assert answer.curAmt.amt == decision.installment and answer.discount.amt == decision.forgiven
    assert answer.indebtedness.amt == Decimal("100.00") and answer.offer.amt == Decimal("1.5")


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    col = body["creditAnalysis"][0]["collection"]
    for path, value in changes.items():
        node = col
        parts = path.split("__")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return body


@pytest.mark.parametrize(
    ("changes", "cause"),
    [({"partyAcctRelRec__bankAcctStatusCode": "CASTIGADO"}, 0), ({"delinqAging__daysCount": 400}, 1),
     ({"acctBal__amt": Decimal("0.5")}, 2), ({"indebtedness__numAsignInstallments": 400}, 3),
     ({"indebtedness__periodGrace": 30}, 4), ({"discount__amt": 10**8}, 5),
     ({"validity__startDt": "2024-12-01"}, 6)],
)  # fmt: skip
def test_each_cause_of_non_viability(changes: dict[str, Any], cause: int) -> None:
    body = _with(example("recalculo-1-offer"), strategyType="PDIA", **changes)
    decision = decide(collection(body), DecisionRules())
    assert not decision.viable and decision.installment is None
    results = {c.descriptionDesc: c.viabilityResult for c in decision.collection.causalNoViabilitynInfo}
    assert results == {name: "1" if k == cause else "0" for k, name in enumerate(CAUSES)}
    assert (decision.collection.offer.flagViability, decision.collection.offer.count) == ("false", "0")


def test_exceptions_lift_their_cause() -> None:
    body = _with(example("recalculo-1-offer"), strategyType="PDIA", delinqAging__daysCount=400)
    for item in body["creditAnalysis"][0]["collection"]["causalExceptionInfo"]:
        if item["name"] == "EXC_DIAS_MORA":
            item["value"] = "1"
    decision = decide(collection(body), DecisionRules())
    assert decision.viable and decision.collection.offer.viabilityLevel == "1"
    assert (
        decide(collection(body), DecisionRules(max_days_past_due={"PDIA": 500})).collection.offer.viabilityLevel == "0"
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [("intRateInfo__curAmt", [{"desc": "OTRO", "rate": 0, "amt": 0}]), ("insuranceInfo", [{"policyName": "X", "amt": 0}]),
     ("fee__curAmt", [{"desc": "CARGOS_SIP", "amt": 0}]), ("extraordinaryFee", [{"desc": "GAC", "amt": 0}]),
     ("causalExceptionInfo", [{"name": "EXC_OTRA", "value": "0"}]), ("additionalData", [{"name": "FLAG_X", "value": ""}]),
     ("causalNoViabilitynInfo", [{"descriptionDesc": "otra", "viabilityResult": ""}]),
     ("govIssueIdent__govIssueIdentType", "TI"), ("indebtedness__numAsignInstallments", Decimal("2.5")),
     ("acctBal__amt", -1), ("validity__openDt", "22/07/2024"), ("offer__flagViability", "yes")],
)  # fmt: skip
def test_enumerations_and_formats(path: str, value: Any) -> None:
    found = problem(_with(example("recalculo-1-offer"), **{path: value}))
    assert found.code is TRANSFORM and found.detail.startswith("creditAnalysis[0].collection."), found.detail


def test_required() -> None:
    found = problem(_with(example("primer-momento"), transaction={"trnRqUID": None}))
    assert (
        found.code is NULL_INPUT and found.detail == "creditAnalysis[0].collection.transaction.trnRqUID es obligatorio"
    )
    assert problem({"creditAnalysis": []}).code is NULL_INPUT


def test_answer_echoes_what_was_sent_with_the_figures_in_place() -> None:
    body = example("recalculo-1-offer")
    decision = decide(collection(body), DecisionRules())
    answer = PolicyResponse(responseType=ResponseType(value="OK"),
                            creditAnalysis=[CreditAnalysis(collection=decision.collection)]).model_dump(exclude_unset=True)  # fmt: skip
    sent = body["creditAnalysis"][0]["collection"]
    got = answer["creditAnalysis"][0]["collection"]
    assert set(got) == set(sent) and got["curAmt"] == {"amt": None} and got["acctBal"] == sent["acctBal"]
    assert got["extendedDiscount"] == {"flagFindeter": None, "flagWalletFindeter": None}
