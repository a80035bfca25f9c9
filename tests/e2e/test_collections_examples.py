# ruff: noqa: F811 - the tests take the imported `token` fixture as a parameter
"""Every example request of the collections spec, answered and compared with the spec's
response example field by field: each field where the answer differs must be one of the
documented differences, the table "Spec examples: where the answers differ" of
docs/decisions.md, and each documented difference must still be one (no stale rows)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.collections import BOGOTA
from domain.collections.headers import julian
from tests.conftest import ROOT
from tests.e2e.calls import call
from tests.e2e.test_collections_fuzz import (
    COMMON,
    SECRET,
    load,
    token,  # noqa: F401 - the fixture
)

ABSENT = "(ausente)"
NEGOTIATION_ANSWER = {"collection": {"partyAcctRelRec": {"acctId": "456892344"}, "state": "Received",
                                     "createdDt": "2023-05-10", "desc": "successful transaction"}}  # fmt: skip
# example -> (route, request, the spec's answer to it)
EXAMPLES = {
    **{f"negotiations/{name}": ("collections_negotiations", f"negotiations/{name}.json", NEGOTIATION_ANSWER)
       for name in ("bm-pppl", "bm-pdda", "bm-ppps", "otc-cntl", "ocr-pppl", "ocr-prerm", "otc-prerm", "default")},
    "profile": ("collections_profile", "profile/request.json", load("profile/spec-response.json")),
    "policies/recalculo-1-offer": ("collections_policies", "policies/recalculo-1-offer.json",
                                   load("policies/spec-response.json")),
    "collection": ("collections_collection", "collection/request.json", load("collection/spec-response.json")),
    "agreement/ics": ("collections_agreement", "", load("agreement-ics.json")),
}  # fmt: skip


def leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by its path (`a.b[0].c`); empty objects and lists are leaves."""
    if isinstance(node, dict) and node:
        return {p: v for k, child in node.items() for p, v in leaves(child, f"{prefix}.{k}" if prefix else k).items()}
    if isinstance(node, list) and node:
        return {p: v for n, child in enumerate(node) for p, v in leaves(child, f"{prefix}[{n}]").items()}
    return {prefix: node}


def differences(spec: Any, ours: Any) -> dict[str, tuple[Any, Any]]:
    """path -> (the spec's value, ours) where they differ; numbers compare by value."""
    theirs, mine = leaves(spec), leaves(ours)
    found = {}
    for path in sorted(set(theirs) | set(mine)):
        a, b = theirs.get(path, ABSENT), mine.get(path, ABSENT)
        same = (a == b and type(a) is type(b)) or (isinstance(a, int | float) and isinstance(b, int | float)
                                                 and not isinstance(a, bool) and a == b)  # fmt: skip
        if not same:
            found[path] = (a, b)
    return found


def documented() -> dict[str, set[str]]:
    """example -> the field patterns the decisions table lists ("*" for every field below a path)."""
    text = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    _, _, after = text.partition("## Spec examples: where the answers differ")
    section = after.split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in EXAMPLES:
            rows.setdefault(cells[0], set()).add(cells[1])
    return rows


def covered(path: str, patterns: set[str]) -> str | None:
    for pattern in patterns:
        regex = re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", ".*")
        if re.fullmatch(regex, path):
            return pattern
    return None


def answer(route: str, request: str, token: str) -> dict:
    headers = {**COMMON, "Authorization": f"Bearer {token}"}
    if route == "collections_agreement":
        response = call(route, "GET", headers=headers, params={"acctId": "5895180000053129617"})
    else:
        if route == "collections_collection":
            tx_id = f"APIF{julian(datetime.now(UTC).astimezone(BOGOTA).date())}320000077777"
            headers = {"Accept": "application/json", "X-Invoker-Channel": "13", "X-Invoker-BranchId": "1108",
                       "X-Invoker-TerminalId": "T1", "X-Invoker-UserIPAddress": "10.0.0.1",
                       "X-Invoker-ServerIPAddress": "10.0.0.2", "X-Invoker-ProcessDate": "2026-11-22",
                       "X-Invoker-TxId": tx_id, "X-Invoker-SessionKey": token[:30], "X-Invoker-Country": "CO",
                       "X-Invoker-subChannel": "07", "X-Invoker-User": "NEWCBSER", "X-Invoker-Action": "R",
                       "X-Invoker-ModifierUser": " ", "client_id": "fuzzer", "client_secret": SECRET,
                       "Authorization": f"Bearer {token}"}  # fmt: skip
        raw = (ROOT / "tests" / "testdata" / "collections" / request).read_bytes()
        response = call(route, "POST", headers=headers, body=raw)
    assert response.status_code < 500
    return {"status": response.status_code, **json.loads(response.get_body())}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_example_answers_as_the_spec_shows_but_for_the_documented_differences(token: str, example: str) -> None:
    route, request, spec = EXAMPLES[example]
    ours = answer(route, request, token)
    status = ours.pop("status")
    found = differences(spec, ours)
    listed = documented().get(example, set())
    unexplained = {path: pair for path, pair in found.items() if covered(path, listed) is None}
    assert not unexplained, f"{example} (HTTP {status}) differs from the spec where decisions.md says nothing:\n" + (
        "\n".join(f"| {example} | `{p}` | {a!r} | {b!r} |" for p, (a, b) in unexplained.items()))  # fmt: skip
    stale = {pattern for pattern in listed if not any(covered(p, {pattern}) for p in found)}
    assert not stale, f"{example}: decisions.md lists differences that are gone: {sorted(stale)}"
