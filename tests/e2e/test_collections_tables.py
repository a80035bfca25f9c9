# ruff: noqa: F811 - the tests take the imported `token` fixture as a parameter
"""Every row of the collections mapping tables, generated from the rules the routes run
(`FIELDS`, `CASES` and the header tables of domain/collections/): for each field, one call per
form its table or example writes (accepted), one per value its form refuses (10007 naming the
field) and, when required, one without it (10002); negotiations per core and tool. The calls
go through the registered functions, as the host calls them."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.collections import BOGOTA
from domain.collections.agreements import QUERY
from domain.collections.collection_check import FIELDS as CHECK_FIELDS
from domain.collections.fields import Code, Form, Rule
from domain.collections.headers import COLLECTION, COMMON, Header, julian
from domain.collections.negotiations import CASES, DEFAULT_REQUIRED, FIELDS, RULES, Case
from domain.collections.policies import FIELDS as POLICY_FIELDS
from domain.collections.profiling import FIELDS as PROFILE_FIELDS
from tests.e2e.calls import call
from tests.e2e.test_collections_fuzz import (
    COMMON as COMMON_HEADERS,
)
from tests.e2e.test_collections_fuzz import (
    SECRET,
    token,  # noqa: F401 - the fixture (each test takes it by name)
)

TX_NUMBERS = itertools.count(200_000)


# -- bodies from the rules ---------------------------------------------------------------------------


def put(body: dict, path: str, value: Any) -> dict:
    """`body` with `path` (dots, [] = the first item) set to `value`; `...` removes it."""
    changed = copy.deepcopy(body)
    node: Any = changed
    parts = path.split(".")
    for part in parts[:-1]:
        key = part.removesuffix("[]")
        if part.endswith("[]"):
            items = node.setdefault(key, [{}])
            node = items[0]
        else:
            node = node.setdefault(key, {})
    if value is ...:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return changed


def built(rules: Iterable[Rule], forms: dict[str, Form] | None = None) -> dict:
    """A body holding each rule's example (the case's own form first: its first accepted value)."""
    body: dict = {}
    for rule in rules:
        form = (forms or {}).get(rule.path)
        value = form.accepted(rule.example)[0][1] if form is not None else rule.example
        body = put(body, rule.path, value)
    return body


def send(name: str, body: Any, headers: dict[str, str], **params: str) -> tuple[int, dict]:
    response = call(name, "POST" if name != "collections_agreement" else "GET", headers=headers,
                    body=json.dumps(body).encode() if body is not None else None, params=params)  # fmt: skip
    answer = json.loads(response.get_body())
    assert response.status_code < 500, answer
    return response.status_code, answer


def expect_refused(status: int, answer: dict, code: str, path: str) -> None:
    detail = answer.get("responseDetail", {})
    assert status == 400 and detail.get("errorCode") == code, (path, answer)
    assert path.split("[]")[0].split(".")[-1] in detail["errorDesc"] or path.split(".")[-1] in detail["errorDesc"], (
        path, detail)  # fmt: skip


def samples(rule: Rule, form: Form) -> Iterator[tuple[str, bool, Any]]:
    """(what, accepted?, value) for every documented form and every refused value of a field."""
    for label, value in form.accepted(rule.example):
        yield label, True, value
    for label, value in form.refused(rule.example):
        yield label, False, value


def headers_for(token: str) -> dict[str, str]:
    return {**COMMON_HEADERS, "Authorization": f"Bearer {token}"}


# -- negotiations, per core and tool -----------------------------------------------------------------

CHOOSERS = ("clientApp.name", "collection.strategyType")  # they pick the table; tested through every case


def case_body(core: str, tool: str, case: Case) -> dict:
    paths = set(case.required) | set(DEFAULT_REQUIRED)
    rules = [rule for rule in FIELDS if rule.path in paths or rule.path.split("[]")[0] in paths]
    body = built(rules, case.forms)
    return put(put(body, "clientApp.name", core), "collection.strategyType", tool)


ROWS = [(core, tool, path) for (core, tool), case in CASES.items()
        for path in sorted({*case.required, *case.forms} - set(CHOOSERS))]  # fmt: skip


@pytest.mark.parametrize(("core", "tool", "path"), ROWS, ids=[f"{c}-{t}-{p}" for c, t, p in ROWS])
def test_each_row_of_each_negotiation_table(token: str, core: str, tool: str, path: str) -> None:
    case = CASES[core, tool]
    body = case_body(core, tool, case)
    status, answer = send("collections_negotiations", body, headers_for(token))
    assert status == 200, answer
    targets = [r for r in FIELDS if r.path == path or r.path.startswith(path + "[]")]
    for rule in targets:
        form = case.forms.get(rule.path, rule.form)
        for label, ok, value in samples(rule, form):
            status, answer = send("collections_negotiations", put(body, rule.path, value), headers_for(token))
            if ok:
                assert status == 200, (rule.path, label, value, answer)
            else:
                expect_refused(status, answer, "10007", rule.path)
    status, answer = send("collections_negotiations", put(body, path, ...), headers_for(token))
    expect_refused(status, answer, "10002", path)
    always = path in DEFAULT_REQUIRED or (path in RULES and RULES[path].required)
    assert always or answer["responseDetail"]["errorDesc"].endswith(f"para {case.title}"), answer


OPTIONAL = [
    rule
    for rule in FIELDS
    if rule.path not in CHOOSERS
    and not any(rule.path in {*c.required, *c.forms} or rule.path.split("[]")[0] in c.required for c in CASES.values())
]


@pytest.mark.parametrize("rule", OPTIONAL, ids=[rule.path for rule in OPTIONAL])
def test_fields_of_the_new_tools_table_and_the_examples(token: str, rule: Rule) -> None:
    """Rows only the "Nuevas Herramientas (Default)" table or the examples have: in any case."""
    body = case_body("BM", "PDIA", CASES["BM", "PDIA"])
    for label, ok, value in samples(rule, rule.form):
        status, answer = send("collections_negotiations", put(body, rule.path, value), headers_for(token))
        if ok:
            assert status == 200, (label, value, answer)
        else:
            expect_refused(status, answer, "10007", rule.path)


@pytest.mark.parametrize("core", ["BM", "SLP", "OTC", "OCR"])
def test_the_cores_and_tools_that_choose_the_table(token: str, core: str) -> None:
    """A core's own tools pass, another core's tool is refused, an unknown core too; a code
    no table has is a new tool of the core, held to its core's fields."""
    for (other, tool), case in CASES.items():
        own = CASES.get((core, tool))
        status, answer = send("collections_negotiations", case_body(core, tool, own or case), headers_for(token))
        if own is not None:
            assert status == 200, (core, tool, answer)
        else:
            expect_refused(status, answer, "10007", "collection.strategyType")
            assert f"{tool} es una herramienta de" in answer["responseDetail"]["errorDesc"], (other, answer)
    body = case_body(core, "PDIA" if core != "OCR" else "PPPL", CASES[core, "PDIA" if core != "OCR" else "PPPL"])
    status, answer = send("collections_negotiations", put(body, "clientApp.name", core.lower() + "X"),
                          headers_for(token))  # fmt: skip
    expect_refused(status, answer, "10007", "clientApp.name")
    status, answer = send("collections_negotiations", put(body, "collection.strategyType", "NUEVA"),
                          headers_for(token))  # fmt: skip
    assert status in (200, 400), answer
    if status == 400:
        assert answer["responseDetail"]["errorCode"] == "10002" and "herramienta nueva" in answer["responseDetail"][
            "errorDesc"]  # fmt: skip


# -- profile, policies, collection check ------------------------------------------------------------


def agent(token: str, action: str = "R") -> dict[str, str]:
    tx_id = f"APIF{julian(datetime.now(UTC).astimezone(BOGOTA).date())}32{next(TX_NUMBERS):010d}"
    headers = {h.name: h.example for h in COLLECTION}
    headers.update({"X-Invoker-TxId": tx_id, "X-Invoker-SessionKey": token[:30], "X-Invoker-Action": action,
                    "X-Invoker-ProcessId": tx_id[-11:].rjust(12, "0"), "client_id": "fuzzer", "client_secret": SECRET,
                    "Authorization": f"Bearer {token}"})  # fmt: skip
    return headers


ROUTES = {
    "collections_profile": PROFILE_FIELDS,
    "collections_policies": POLICY_FIELDS,
    "collections_collection": CHECK_FIELDS,
}
BODY_ROWS = [(name, rule) for name, rules in ROUTES.items() for rule in rules]


@pytest.mark.parametrize(("route", "rule"), BODY_ROWS, ids=[f"{n}-{r.path}" for n, r in BODY_ROWS])
def test_each_row_of_the_other_tables(token: str, route: str, rule: Rule) -> None:
    body = built(ROUTES[route])

    def headers() -> dict[str, str]:
        return agent(token) if route == "collections_collection" else headers_for(token)

    status, answer = send(route, body, headers())
    assert status == 200, answer
    for label, ok, value in samples(rule, rule.form):
        status, answer = send(route, put(body, rule.path, value), headers())
        if ok:
            assert status == 200, (label, value, answer)
        else:
            expect_refused(status, answer, "10007", rule.path)
    if rule.required:
        status, answer = send(route, put(body, rule.path, ...), headers())
        expect_refused(status, answer, "10002", rule.path)


# -- headers and the agreement's query ---------------------------------------------------------------

HEADER_ROWS = [("collections_profile", h) for h in COMMON] + [
    ("collections_collection", h)
    for h in COLLECTION
    if h.name not in ("X-Invoker-TxId", "X-Invoker-SessionKey", "X-Invoker-ProcessId", "X-Invoker-Action")
]  # fmt: skip  (the derived ones and Action have their own tests: test_collections_conformance/_rules)


@pytest.mark.parametrize(("route", "header"), HEADER_ROWS, ids=[f"{r}-{h.name}" for r, h in HEADER_ROWS])
def test_each_header_of_the_tables(token: str, route: str, header: Header) -> None:
    body = built(ROUTES[route])

    def headers(value: Any = None) -> dict[str, str]:
        base = agent(token) if route == "collections_collection" else headers_for(token)
        if value is ...:
            base.pop(header.name, None)
        elif value is not None:
            base[header.name] = str(value)
        return base

    for label, value in header.form.accepted(header.example):
        status, answer = send(route, body, headers(value))
        assert status == 200, (label, value, answer)
    for _label, value in header.form.refused(header.example):
        status, answer = send(route, body, headers(value))
        expect_refused(status, answer, "10007", header.name)
    if header.required:
        status, answer = send(route, body, headers(...))
        expect_refused(status, answer, "10002", header.name)


@pytest.mark.parametrize("rule", QUERY, ids=[rule.path for rule in QUERY])
def test_each_parameter_of_the_agreement(token: str, rule: Rule) -> None:
    account, holder = {"acctId": "5895180000053129617"}, {"govIssueIdentType": "CC", "identSerialNum": "1234567890"}
    base = account if rule.path == "acctId" else holder
    for label, value in rule.form.accepted(rule.example):
        if value in ("", None):
            continue
        status, answer = send("collections_agreement", None, headers_for(token), **{**base, rule.path: str(value)})
        assert status == 200 or answer["responseDetail"]["errorCode"] == "00502", (label, value, answer)
    for _label, value in rule.form.refused(rule.example):
        if not str(value).strip():
            continue  # a blank parameter is an absent one
        status, answer = send("collections_agreement", None, headers_for(token), **{**base, rule.path: str(value)})
        expect_refused(status, answer, "10007", rule.path)


def test_every_code_form_names_its_options() -> None:
    """A refused code tells the caller which codes the table has (the message is the docs)."""
    for rule in (*FIELDS, *PROFILE_FIELDS, *POLICY_FIELDS, *CHECK_FIELDS):
        if isinstance(rule.form, Code):
            reason = rule.form.check("ZZ9")
            assert reason is not None and next(iter(rule.form.options)) in reason, rule.path
    assert RULES["collection.intRateInfo.intRateType"].form.check(123) == "debe ser 000"
