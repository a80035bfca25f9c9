"""Negotiation mapping tables and header tables of the collections API, rule by rule."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.headers import COLLECTION, COMMON, check_collection_headers, check_headers, julian
from domain.collections.negotiations import CASES, DEFAULT_REQUIRED, NegotiationRequest, check_negotiation

EXAMPLES = Path(__file__).resolve().parents[1] / "testdata" / "collections" / "negotiations"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(), parse_float=Decimal)


def problem(body: dict[str, Any]) -> CollectionsError:
    with pytest.raises(CollectionsError) as caught:
        check_negotiation(NegotiationRequest.model_validate(body))
    return caught.value


def set_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    node = body
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return body


@pytest.mark.parametrize("name", ["bm-pppl", "bm-pdda", "bm-ppps-table", "otc-cntl", "ocr-pppl", "ocr-prerm",
                                  "otc-prerm"])  # fmt: skip
def test_every_spec_example_passes_its_case(name: str) -> None:
    mark = check_negotiation(NegotiationRequest.model_validate(example(name)))
    assert len(mark.account) == 20 and mark.account.rstrip() == example(name)["collection"]["partyAcctRelRec"]["acctId"]


def test_the_ppps_example_breaks_its_own_table() -> None:
    """The PPPS example sends intRateType 123 ("Valor fijo 000") and percentages with 3 to 5
    decimals ("tres posiciones enteras punto y dos decimales"): refused, the field named
    (docs/decisions.md); bm-ppps-table.json is the example as its table writes it."""
    assert problem(example("bm-ppps")).detail == "collection.intRateInfo.intRateType invalido: debe ser 000"
    fixed_type = set_path(example("bm-ppps"), "collection.intRateInfo.intRateType", "000")
    assert problem(fixed_type).detail == "collection.intRateInfo.additionalData[0].value invalido: a lo sumo 2 decimales"


def test_the_default_example_names_no_real_core() -> None:
    """"BM || SLP || OTC || OCR" names no core; with one named, the example still sends
    intRateType "F" and a percentage of 3 decimals, which its own table refuses."""
    assert problem(example("default")).detail.startswith("clientApp.name invalido")
    assert "intRateType" in problem(set_path(example("default"), "clientApp.name", "BM")).detail
    default = set_path(example("default"), "collection.intRateInfo.intRateType", "000")
    default["collection"]["intRateInfo"]["additionalData"][0]["value"] = Decimal("99.44")
    for core in ("BM", "SLP"):
        body = set_path(default, "clientApp.name", core)
        assert check_negotiation(NegotiationRequest.model_validate(body)).tool == "PDIA"
    # OpenCard fixes the causal code of PDIA (0000): the example's 302 belongs to PPPL
    assert "causalCode" in problem(set_path(default, "clientApp.name", "OTC")).detail
    new_tool = set_path(set_path(default, "clientApp.name", "OCR"), "collection.strategyType", "NUEVA")
    assert check_negotiation(NegotiationRequest.model_validate(new_tool)).tool == "NUEVA"


CASE_EXAMPLE = {"BM": "bm-pppl", "SLP": "bm-pppl", "OTC": "otc-cntl", "OCR": "ocr-pppl"}


def _body_for(core: str, tool: str) -> dict[str, Any]:
    if tool == "PPPS":
        body = example("bm-ppps-table")
    elif tool == "PRERM":
        body = example("ocr-prerm")
    elif tool in ("PDDA", "PPPA"):
        body = example("bm-pdda")
    else:
        body = example(CASE_EXAMPLE[core])
    body = set_path(body, "clientApp.name", core)
    body = set_path(body, "collection.strategyType", tool)
    causal = {"PDIA": "0000", "REDIF": "0000", "CNTL": "303", "PPPL": "302"}.get(tool)
    if core in ("OTC", "OCR") and causal:
        body = set_path(body, "collection.causalCode", causal)
    return body


@pytest.mark.parametrize(("core", "tool", "path"), [(c, t, p) for (c, t), case in CASES.items() for p in case.required])
def test_each_case_requires_its_fields(core: str, tool: str, path: str) -> None:
    body = _body_for(core, tool)
    assert check_negotiation(NegotiationRequest.model_validate(body)).tool == tool
    missing = problem(set_path(body, path, ...))
    assert missing.code is NULL_INPUT and missing.detail.startswith(f"{path} es obligatorio")
    if path not in DEFAULT_REQUIRED:
        assert missing.detail.endswith(f"para {core} {tool}")


BAD_VALUES = [
    ("clientApp.name", "XYZ"), ("collection.strategyId", "02"), ("collection.partyAcctRelRec.acctId", "1" * 21),
    ("collection.partyAcctRelRec.amt", Decimal("12.5")), ("collection.partyAcctRelRec.amt", -1),
    ("collection.partyAcctRelRec.rate", Decimal("0.5")), ("collection.partyAcctRelRec.rate", Decimal("100.01")),
    ("collection.partyAcctRelRec.rate", Decimal("23.123")), ("collection.submitOffice.branchId", "1108"),
    ("collection.numAsignInstallments", 1000), ("collection.periodGrace", 1000), ("collection.indebtedness.rate", 100),
    ("collection.partialPmt", "X"), ("collection.startDt", "2022-13-01"), ("collection.endDt", "ayer"),
    ("collection.govIssueIdent.govIssueIdentType", "PA"), ("collection.govIssueIdent.identSerialNum", "12AB"),
    ("collection.type", "R27"), ("collection.intRateInfo.rate", 100),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value"), BAD_VALUES)
def test_bad_values_are_named(path: str, value: Any) -> None:
    body = set_path(example("bm-ppps-table"), path, value)
    found = problem(body)
    assert found.code is TRANSFORM and found.detail.startswith(path), found.detail


def test_dates_must_be_in_order_and_causal_codes_match_the_tool() -> None:
    late_start = set_path(example("bm-pppl"), "collection.startDt", "2022-09-23")
    assert problem(late_start).detail == "collection.startDt invalido: es posterior a collection.endDt"
    assert problem(set_path(example("otc-cntl"), "collection.causalCode", "302")).detail == (
        "collection.causalCode invalido: debe ser 303 para OTC CNTL"
    )
    redif = set_path(set_path(example("otc-cntl"), "collection.strategyType", "REDIF"), "collection.causalCode", "0000")
    assert check_negotiation(NegotiationRequest.model_validate(redif)).tool == "REDIF"
    # REDIF is OpenCard's OTC tool only: under OCR it is another core's tool, not a new one
    assert "REDIF es una herramienta de OTC, no de OCR" in problem(
        set_path(example("ocr-pppl"), "collection.strategyType", "REDIF")
    ).detail


def test_rate_names_per_tool() -> None:
    ppps = example("bm-ppps-table")
    ppps["collection"]["intRateInfo"]["additionalData"][0]["name"] = "% A CONDONAR POR CAPITAL"
    assert problem(ppps).detail.endswith("para BM PPPS")
    prerm = example("ocr-prerm")
    prerm["collection"]["intRateInfo"]["additionalData"][0]["name"] = "PORCONDONAINTCTE"
    assert problem(prerm).detail.endswith("para OCR PRERM")
    prerm = example("ocr-prerm")
    prerm["collection"]["intRateInfo"]["additionalData"][0]["value"] = Decimal("100.5")
    assert problem(prerm).detail.startswith("collection.intRateInfo.additionalData[0].value invalido")


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.decimals(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
))  # fmt: skip
def test_any_collection_body_gives_a_mark_or_a_named_error(collection: Any) -> None:
    body = {"clientApp": {"name": "BM"}, "collection": collection}
    try:
        request = NegotiationRequest.model_validate(body)
    except ValueError:
        return  # the blueprint answers a pydantic error as 10002/10007
    try:
        check_negotiation(request)
    except CollectionsError as exc:
        assert exc.code in (NULL_INPUT, TRANSFORM) and exc.detail


GOOD = {
    "X-Invoker-Channel": "012", "X-Invoker-UserIPAddress": "10.5.43.214", "X-Invoker-ServerIPAddress": "192.168.169.197",
    "X-Invoker-UserMACAddress": "0E-A5-38-F7-C3-09", "Accept": "application/json",
}  # fmt: skip


@pytest.mark.parametrize("header", [h.name for h in COMMON if h.required])
def test_common_headers_missing(header: str) -> None:
    headers = {k: v for k, v in GOOD.items() if k != header}
    with pytest.raises(CollectionsError) as caught:
        check_headers(headers, COMMON)
    assert caught.value.code is NULL_INPUT and caught.value.detail == f"falta el header {header}"


@pytest.mark.parametrize(
    ("header", "value"),
    [("X-Invoker-Channel", "ABC"), ("X-Invoker-UserIPAddress", "10.5.43"), ("X-Invoker-ServerIPAddress", "host"),
     ("X-Invoker-UserMACAddress", "0E-A5-38-F7-C3"), ("X-Invoker-ProcessDate", "02/05/2023"), ("Accept", "text/xml")],
)  # fmt: skip
def test_common_headers_bad(header: str, value: str) -> None:
    with pytest.raises(CollectionsError) as caught:
        check_headers({**GOOD, header: value}, COMMON)
    assert caught.value.code is TRANSFORM and caught.value.detail.startswith(f"header {header} invalido")


def test_headers_are_case_insensitive() -> None:
    check_headers({k.lower(): v for k, v in GOOD.items()}, COMMON)


TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.payload.signature"
TODAY = date(2024, 3, 27)


def collection_headers(**changes: str) -> dict[str, str]:
    headers = {
        "Accept": "application/json", "X-Invoker-Channel": "13", "X-Invoker-BranchId": "1108",
        "X-Invoker-TerminalId": "T001", "X-Invoker-UserIPAddress": "10.0.0.1", "X-Invoker-ServerIPAddress": "10.0.0.2",
        "X-Invoker-ProcessDate": "2024-03-27", "X-Invoker-TxId": "APIF4087320000000001",
        "X-Invoker-SessionKey": TOKEN[:30], "X-Invoker-Source": "18", "X-Invoker-Country": "CO",
        "X-Invoker-ProcessId": "020000000001", "X-Invoker-subChannel": "07", "X-Invoker-User": "NEWCBSER",
        "X-Invoker-Action": "R", "X-Invoker-ModifierUser": " ",
    }  # fmt: skip
    headers.update(changes)
    return headers


def test_julian_date_and_the_spec_example() -> None:
    assert julian(TODAY) == "4087" and julian(date(2026, 1, 1)) == "6001" and julian(date(2026, 12, 31)) == "6365"
    assert check_collection_headers(collection_headers(), TODAY, TOKEN) == "0000000001"


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [("X-Invoker-Channel", "12", "debe ser 13"), ("X-Invoker-BranchId", "9999", "debe ser 1108"),
     ("X-Invoker-Source", "17", "debe ser 18"), ("X-Invoker-Country", "PE", "debe ser CO"),
     ("X-Invoker-subChannel", "04", "debe ser 07"), ("X-Invoker-User", "OTRO", "debe ser NEWCBSER"),
     ("X-Invoker-Action", "U", "debe ser C o R"), ("X-Invoker-TxId", "APIF408732000000001", "APIF + fecha juliana"),
     ("X-Invoker-TxId", "APIF4086320000000001", "fecha juliana 4086, hoy es 4087"),
     ("X-Invoker-ProcessId", "000000000001", "debe ser 020000000001"),
     ("X-Invoker-SessionKey", "otro-token", "30 primeras posiciones")],
)  # fmt: skip
def test_collection_fixed_and_derived_headers(header: str, value: str, reason: str) -> None:
    with pytest.raises(CollectionsError) as caught:
        check_collection_headers(collection_headers(**{header: value}), TODAY, TOKEN)
    assert caught.value.code is TRANSFORM and header in caught.value.detail and reason in caught.value.detail


@pytest.mark.parametrize("header", [h.name for h in COLLECTION if h.required])
def test_collection_headers_missing(header: str) -> None:
    headers = {k: v for k, v in collection_headers().items() if k != header}
    with pytest.raises(CollectionsError) as caught:
        check_collection_headers(headers, TODAY, TOKEN)
    assert caught.value.code is NULL_INPUT and header in caught.value.detail


def test_internal_errors_of_the_collection_check_are_er500() -> None:
    from datetime import UTC, datetime

    from blueprints.collections import collection_error_body, collections_error_body
    from blueprints.common import ApiError, Call

    call = Call("collections_collection", "corr-1", datetime.now(UTC))
    error = ApiError(500, "internal_error", "boom")
    assert collection_error_body(error, call)["responseType"] == {"value": "ER500"}
    assert collection_error_body(error, call)["responseDetail"]["errorCode"] == "15001"
    assert collections_error_body(error, call)["responseType"] == {"value": "ER"}
