# ruff: noqa: F811 - the tests take the imported `token` fixture as a parameter
"""Collections API as the mapping tables are read literally (issue 16): the forms the tables
print are accepted, numbers are bounded, a reused TxId cannot fetch another request's answer,
and every refusal is the spec's shape in Spanish, never a 5xx."""

from __future__ import annotations

import copy
import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

import bootstrap
from domain.collections import BOGOTA
from domain.collections.dates import REASON as DATE_REASON
from domain.collections.headers import julian
from tests.e2e.calls import call
from tests.e2e.test_collections_fuzz import (
    COMMON,
    SECRET,
    load,
    token,  # noqa: F401 - the fixture (each test takes it by name)
)

TX_NUMBERS = itertools.count(10_000)
ENGLISH = re.compile(r"\b(Input|should|valid|token is|request body|must|expected|character)\b")


def post(name: str, body: Any, headers: dict[str, str]) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = call(name, "POST", headers=headers, body=raw)
    answer = json.loads(response.get_body())
    assert response.status_code < 500, answer
    return response.status_code, answer


def refused(answer: dict, code: str) -> str:
    detail = answer["responseDetail"]
    assert detail["errorCode"] == code, answer
    assert not ENGLISH.search(detail["errorDesc"]), detail["errorDesc"]
    return str(detail["errorDesc"])


def auth(token: str) -> dict[str, str]:
    return {**COMMON, "Authorization": f"Bearer {token}"}


def agent(token: str, number: int, action: str = "R", process_id: bool = True) -> dict[str, str]:
    tx_id = f"APIF{julian(datetime.now(UTC).astimezone(BOGOTA).date())}32{number:010d}"
    headers = {
        "Accept": "application/json", "X-Invoker-Channel": "13", "X-Invoker-BranchId": "1108",
        "X-Invoker-TerminalId": "T1", "X-Invoker-UserIPAddress": "10.0.0.1", "X-Invoker-ServerIPAddress": "10.0.0.2",
        "X-Invoker-ProcessDate": "2026-11-22", "X-Invoker-TxId": tx_id, "X-Invoker-SessionKey": token[:30],
        "X-Invoker-Country": "CO", "X-Invoker-ProcessId": tx_id[-11:].rjust(12, "0"), "X-Invoker-subChannel": "07",
        "X-Invoker-User": "NEWCBSER", "X-Invoker-Action": action, "X-Invoker-ModifierUser": " ",
        "client_id": "fuzzer", "client_secret": SECRET, "Authorization": f"Bearer {token}",
    }  # fmt: skip
    if not process_id:
        headers.pop("X-Invoker-ProcessId")
    return headers


def at(body: dict, path: str, value: Any) -> dict:
    changed = copy.deepcopy(body)
    node = changed
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = value
    return changed


NUMBERS = {  # route -> (request, a numeric field)
    "collections_profile": ("profile/request.json", "listValidation.0.personInfo.incomeInfo.incomeAmt"),
    "collections_policies": ("policies/recalculo-more-offers.json", "creditAnalysis.0.collection.acctBal.amt"),
    "collections_negotiations": ("negotiations/bm-ppps-table.json", "collection.partyAcctRelRec.amt"),
}
OUT_OF_RANGE = ["NaN", "sNaN", "-sNaN", "Infinity", "-Infinity", "1e30", 1e30, "1e-30", 10**19, "9" * 19]


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=[repr(v) for v in OUT_OF_RANGE])
@pytest.mark.parametrize("route", sorted(NUMBERS))
def test_numbers_that_mean_nothing_are_10007_never_5xx(token: str, route: str, value: Any) -> None:
    request, path = NUMBERS[route]
    status, answer = post(route, at(load(request), path, value), auth(token))
    assert status == 400
    assert "invalido" in refused(answer, "10007")


@pytest.mark.parametrize("value", OUT_OF_RANGE, ids=[repr(v) for v in OUT_OF_RANGE])
def test_the_collection_checks_amount_is_bounded_too(token: str, value: Any) -> None:
    status, answer = post("collections_collection", at(load("collection/request.json"), "trn.totalCurAmt.amt", value),
                          agent(token, 100 + OUT_OF_RANGE.index(value)))  # fmt: skip
    assert status == 400
    assert "trn.totalCurAmt.amt" in refused(answer, "10007")


@pytest.mark.parametrize("value", ["2022-09-22", "20220922", 20220922, "220922", " 20220922 "])
def test_every_date_form_of_the_tables_is_accepted(token: str, value: Any) -> None:
    """`yyyymmdd` ("Numerico": a number too), `230213` (createdDt) and the examples' ISO form."""
    body = load("negotiations/bm-ppps-table.json")
    for path in ("collection.startDt", "collection.endDt", "collection.offer.effDt"):
        body = at(body, path, value)
    status, answer = post("collections_negotiations", body, auth(token))
    assert status == 200, answer
    policies = load("policies/recalculo-more-offers.json")
    for path in ("creditAnalysis.0.collection.validity.startDt", "creditAnalysis.0.collection.validity.endDt"):
        policies = at(policies, path, value)
    status, answer = post("collections_policies", policies, auth(token))
    assert status == 200, answer


@pytest.mark.parametrize("value", ["2022-02-30", "22-09-22", "2022/09/22", "2022922", "20221301", True, 2022.5])
def test_a_date_no_form_gives_is_refused_with_one_message(token: str, value: Any) -> None:
    for route, request, path in (
        ("collections_negotiations", "negotiations/bm-ppps-table.json", "collection.startDt"),
        ("collections_policies", "policies/recalculo-more-offers.json", "creditAnalysis.0.collection.validity.endDt"),
    ):
        status, answer = post(route, at(load(request), path, value), auth(token))
        assert status == 400, (route, answer)
        desc = refused(answer, "10007")
        assert path.split(".")[-1] in desc and (DATE_REASON in desc or "debe ser texto" in desc), desc


def test_process_date_header_takes_the_same_forms(token: str) -> None:
    for value, ok in (("2026-11-22", True), ("20261122", True), ("2026-11-31", False)):
        headers = {**auth(token), "X-Invoker-ProcessDate": value}
        status, answer = post("collections_profile", load("profile/request.json"), headers)
        assert (status == 200) is ok, answer


def test_an_account_padded_to_20_with_spaces_is_the_same_account(token: str) -> None:
    """"se deben completar ... a 20 caracteres con espacios a derecha": accepted and echoed."""
    body = load("negotiations/ocr-prerm.json")
    account = body["collection"]["partyAcctRelRec"]["acctId"]
    padded = at(body, "collection.partyAcctRelRec.acctId", account.ljust(20))
    status, answer = post("collections_negotiations", padded, auth(token))
    assert status == 200, answer
    assert answer["collection"]["partyAcctRelRec"]["acctId"] == account.ljust(20)
    for bad in (account.ljust(21), " " + account, account[:3] + " " + account[3:]):
        status, answer = post("collections_negotiations", at(body, "collection.partyAcctRelRec.acctId", bad),
                              auth(token))  # fmt: skip
        assert status == 400 and "acctId" in refused(answer, "10007")


def test_a_number_for_a_string_of_the_tables(token: str) -> None:
    body = load("negotiations/ocr-pppl.json")
    assert body["collection"]["strategyId"] == "05"
    status, answer = post("collections_negotiations", at(body, "collection.strategyId", 5), auth(token))
    assert status == 200, answer
    status, answer = post("collections_negotiations", at(body, "collection.strategyId", 5.5), auth(token))
    assert status == 400 and "strategyId" in refused(answer, "10007")


def test_process_id_is_optional_for_a_read_and_checked_when_sent(token: str) -> None:
    request = load("collection/request.json")
    status, answer = post("collections_collection", request, agent(token, 501, "R", process_id=False))
    assert status == 200, answer
    status, answer = post("collections_collection", request, agent(token, 502, "C", process_id=False))
    assert status == 400 and "X-Invoker-ProcessId" in refused(answer, "10002")
    wrong = {**agent(token, 503, "R"), "X-Invoker-ProcessId": "000000000001"}
    status, answer = post("collections_collection", request, wrong)
    assert status == 400 and "X-Invoker-ProcessId" in refused(answer, "10007")


def test_a_reused_txid_never_answers_another_request(token: str) -> None:
    """A retry (the same request, a new transactionHour) gets the first answer; another
    reference, convenio, amount or action under the same TxId is 10007, and nothing is stored."""
    request = load("collection/request.json")
    status, first = post("collections_collection", request, agent(token, 601))
    assert status == 200, first
    retry = at(request, "trn.transactionHour", "15:38:30")
    status, again = post("collections_collection", retry, agent(token, 601))
    assert status == 200 and again == first
    status, again = post("collections_collection", at(request, "trn.totalCurAmt.amt", "99.00"), agent(token, 601))
    assert status == 200 and again == first, "99 and 99.00 are one amount"
    for other, headers in (
        (at(request, "trn.curAmt.amt", "100"), agent(token, 601)),
        (at(request, "trn.refId", "999999"), agent(token, 601)),
        (at(request, "trn.totalCurAmt.amt", 98), agent(token, 601)),
        (request, agent(token, 601, "C")),
    ):
        status, answer = post("collections_collection", other, headers)
        assert status == 400 and "X-Invoker-TxId" in refused(answer, "10007"), answer
    with bootstrap.engine().connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM collection_checks WHERE tx_id LIKE '%0000000601'"))
        assert stored.scalar() == 1


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"a": NaN}', b'{"a": 1, "a": 2}', b"[]", b"\xff\xfe", b'{"a": "\\u0000"}',
     b'{"a": ' + b"1" * 41 + b"}", b"[" * 40 + b"]" * 40],
)  # fmt: skip
def test_a_body_that_is_no_json_object_is_refused_in_spanish(token: str, raw: bytes) -> None:
    for route in ("collections_negotiations", "collections_profile", "collections_policies"):
        status, answer = post(route, raw, auth(token))
        assert status == 400
        refused(answer, "10007")


@pytest.mark.parametrize("bad", ["abc.def.ghi", "eyJhbGciOiJIUzI1NiJ9.gA.x", "x" * 500, ""])
def test_a_bad_token_is_401_in_spanish(token: str, bad: str) -> None:
    status, answer = post("collections_profile", load("profile/request.json"), {**auth(token), "Authorization":
                          f"Bearer {bad}"})  # fmt: skip
    assert status == 401
    assert "utf-8" not in refused(answer, "401").lower()


def test_a_wrong_header_secret_is_401_in_spanish(token: str) -> None:
    status, answer = post("collections_profile", load("profile/request.json"), {**auth(token), "client_secret": "no"})
    assert status == 401
    refused(answer, "401")


def test_unknown_paths_and_methods_answer_in_the_spec_shape() -> None:
    response = call("collections_unknown", "DELETE", route_params={"rest": "negotiations"})
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    refused(json.loads(response.get_body()), "405")
    response = call("collections_unknown", "GET", route_params={"rest": "negotiations/nothing"})
    assert response.status_code == 404
    refused(json.loads(response.get_body()), "404")


def rename(body: dict, path: str, new: str) -> dict:
    changed = copy.deepcopy(body)
    node = changed
    *parents, last = path.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[new] = node.pop(last)
    return changed


@pytest.mark.parametrize(
    ("route", "request_file", "path", "table_spelling"),
    [
        ("collections_negotiations", "negotiations/bm-ppps-table.json", "collection.govIssueIdent", "GovIssueIdent"),
        ("collections_profile", "profile/request.json", "listValidation.0.naturalPerson.businessOccupation",
         "businessOcucupation"),
        ("collections_collection", "collection/request.json", "trn.refId", "RefId"),
        ("collections_collection", "collection/request.json", "trn.eanCode", "EANCode"),
        ("collections_collection", "collection/request.json", "trn.refType", "RefType"),
        ("collections_collection", "collection/request.json", "trn.effDt", "EffDt"),
    ],
)  # fmt: skip
def test_the_tables_spellings_are_the_examples_fields(token: str, route: str, request_file: str, path: str,
                                                      table_spelling: str) -> None:  # fmt: skip
    headers = agent(token, 700 + len(table_spelling)) if route == "collections_collection" else auth(token)
    status, answer = post(route, rename(load(request_file), path, table_spelling), headers)
    assert status == 200, answer
    status, answer = post(route, rename(load(request_file), path, table_spelling + "x"), headers)
    assert status == 400 and "no es un campo" in refused(answer, "10007")


def test_policies_take_the_tables_additional_data_spelling(token: str) -> None:
    body = load("policies/recalculo-more-offers.json")
    body = at(body, "creditAnalysis.0.collection.additionalData", [{"name": "FLAG_NUEVO_PLAZO", "value": "1"}])
    status, answer = post("collections_policies", rename(body, "creditAnalysis.0.collection.additionalData",
                                                         "AdditionalData"), auth(token))  # fmt: skip
    assert status == 200, answer


@pytest.mark.parametrize(("value", "ok"), [("Si", True), ("No", True), ("SI", True), ("sí", True), (True, True),
                                           ("Quizas", False), (2, False)])  # fmt: skip
def test_flag_contributor_si_no(token: str, value: Any, ok: bool) -> None:
    body = at(load("profile/request.json"), "listValidation.0.personInfo.incomeInfo.flagContributor", value)
    status, answer = post("collections_profile", body, auth(token))
    assert (status == 200) is ok, answer
    if not ok:
        refused(answer, "10007")


@pytest.mark.parametrize(("value", "ok"), [("true", True), ("false", True), ("VIABLE", True), ("NO VIABLE", True),
                                           ("quizas", False)])  # fmt: skip
def test_flag_viability_as_the_examples_write_it(token: str, value: str, ok: bool) -> None:
    body = at(load("policies/recalculo-more-offers.json"), "creditAnalysis.0.collection.offer.flagViability", value)
    status, answer = post("collections_policies", body, auth(token))
    assert (status == 200) is ok, answer


@pytest.mark.parametrize(("core", "tool"), [("OTC", "PPPS"), ("BM", "PRERM"), ("OCR", "REDIF"), ("SLP", "PRERM")])
def test_a_tool_of_another_core_is_refused(token: str, core: str, tool: str) -> None:
    body = at(at(load("negotiations/bm-ppps-table.json"), "clientApp.name", core), "collection.strategyType", tool)
    status, answer = post("collections_negotiations", body, auth(token))
    assert status == 400 and f"{tool} es una herramienta de" in refused(answer, "10007")


def test_a_new_tool_still_needs_its_cores_fields(token: str) -> None:
    """"Nuevas Herramientas (Default)": a code no table has goes through its core's rules."""
    body = at(at(load("negotiations/default.json"), "clientApp.name", "BM"), "collection.intRateInfo.intRateType", 0)
    body = at(body, "collection.intRateInfo.additionalData.0.value", "99.44")
    status, answer = post("collections_negotiations", at(body, "collection.strategyType", "NUEVA"), auth(token))
    assert status == 200, answer
    bare = {"clientApp": {"name": "BM"}, "collection": {"strategyType": "NUEVA",
                                                         "partyAcctRelRec": {"acctId": "12345678901234567890"}}}
    status, answer = post("collections_negotiations", bare, auth(token))
    assert status == 400 and "herramienta nueva" in refused(answer, "10002")


@pytest.mark.parametrize(
    ("path", "value", "ok"),
    [
        ("trn.eanCode", "", True), ("trn.eanCode", " " * 13, True), ("trn.eanCode", "7709998000018", True),
        ("trn.eanCode", "7709998000018  ", True), ("trn.eanCode", " 7709998000018", False),
        ("trn.eanCode", "77099A8000018", False), ("trn.eanCode", "1" * 15, False),
        ("trn.effDt", "", True), ("trn.effDt", "        ", True), ("trn.effDt", "20261122", True),
        ("trn.effDt", "2026-11-22  ", True), ("trn.effDt", "20261322", False), ("trn.effDt", "mañana", False),
        ("trn.refType", "", True), ("trn.refType", "01", True), ("trn.refType", "01   ", True),
        ("trn.refType", "0 1", False), ("trn.refType", "X" * 11, False),
    ],
)  # fmt: skip
def test_barcode_fields_are_left_justified_or_spaces(token: str, path: str, value: str, ok: bool) -> None:
    """trn.EANCode and trn.EffDt "en espacios" for a manual capture, else "justificado a la
    izquierda con blancos a la derecha"; trn.RefType a convenio's code."""
    number = next(TX_NUMBERS)  # a TxId of its own per call
    status, answer = post("collections_collection", at(load("collection/request.json"), path, value),
                          agent(token, number))  # fmt: skip
    assert (status == 200) is ok, answer
    if not ok:
        assert path in refused(answer, "10007")


def test_profiling_takes_a_padded_account_too(token: str) -> None:
    body = load("profile/request.json")
    account = "1234567890"
    status, answer = post("collections_profile", at(body, "listValidation.0.partyAcctRelRec.acctId",
                                                    account.ljust(20)), auth(token))  # fmt: skip
    assert status == 200, answer
    assert answer["listValidation"][0]["partyAcctRelRec"]["acctId"] == account.ljust(20)
    status, answer = post("collections_profile", at(body, "listValidation.0.partyAcctRelRec.acctId", " " + account),
                          auth(token))  # fmt: skip
    assert status == 400 and "acctId" in refused(answer, "10007")


def test_a_figure_that_cannot_be_computed_is_10001(token: str) -> None:
    """Each input within its bounds, their result not (100 % a month, capitalized over 999
    months of grace, an exception lifting the grace limit): 10001, the spec's "cannot be
    computed", not a 5xx; nothing is stored."""
    body = load("policies/recalculo-more-offers.json")
    body = at(body, "creditAnalysis.0.collection.indebtedness.rate", 100)
    body = at(body, "creditAnalysis.0.collection.indebtedness.periodGrace", 999)
    body = at(body, "creditAnalysis.0.collection.causalExceptionInfo.7.value", "1")  # EXC_PERIODO_VIGILANCIA
    with bootstrap.engine().connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM collection_policy_decisions")).scalar()
    status, answer = post("collections_policies", body, auth(token))
    assert status == 422
    refused(answer, "10001")
    with bootstrap.engine().connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM collection_policy_decisions")).scalar() == before


def test_modifier_user_may_be_left_out(token: str) -> None:
    """"Enviar espacios": curl drops `-H 'X-Invoker-ModifierUser: '`, and HTTP trims the spaces
    anyway; without the header the check is answered as with it."""
    headers = agent(token, next(TX_NUMBERS))
    headers.pop("X-Invoker-ModifierUser")
    status, answer = post("collections_collection", load("collection/request.json"), headers)
    assert status == 200, answer
