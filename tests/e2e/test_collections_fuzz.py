"""Hypothesis over the collections routes, called as the Functions host calls them: whatever a
caller sends (the spec's examples with fields replaced, removed or added, nested too, or any
bytes), no 5xx, and every answer validates against its OpenAPI schema (the model it names)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bootstrap
from domain.collections import BOGOTA
from domain.collections.collection_check import CollectionResponse
from domain.collections.errors import ErrorResponse
from domain.collections.headers import julian
from domain.collections.negotiations import NegotiationResponse
from domain.collections.policies import PolicyResponse
from domain.collections.profiling import ProfileResponse
from settings import ROOT
from tests.e2e.calls import call
from tests.e2e.test_yapago_fuzz import ANY_JSON, TEXTY
from usecases.clients import register_client
from usecases.collections import import_collections

DATA = Path(__file__).resolve().parents[1] / "testdata" / "collections"
SECRET = "fuzz-collections-secret"
COMMON = {
    "X-Invoker-Channel": "012", "X-Invoker-UserIPAddress": "10.5.43.214", "X-Invoker-ServerIPAddress": "192.168.169.197",
    "X-Invoker-UserMACAddress": "0E-A5-38-F7-C3-09", "Accept": "application/json", "client_id": "fuzzer",
    "client_secret": SECRET,
}  # fmt: skip


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[str]:
    from sql.migrate import upgrade

    work = tmp_path_factory.mktemp("fuzz-collections")
    saved = {k: os.environ.get(k) for k in ("SQL_URL", "SFTP_URL", "LOG_STORAGE_CONNECTION", "JWT_SIGNING_KEY")}
    os.environ.update(SQL_URL=f"sqlite:///{work / 'app.db'}", SFTP_URL=f"file://{work / 'x'}",
                      LOG_STORAGE_CONNECTION=azurite, JWT_SIGNING_KEY="c" * 40)  # fmt: skip
    bootstrap.reset()
    upgrade(os.environ["SQL_URL"])
    register_client(bootstrap.unit_of_work, "fuzzer", SECRET, "collections", bootstrap.utc_now())
    import_collections(bootstrap.engine(), json.loads((ROOT / "data" / "collections-demo.json").read_text()),
                       bootstrap.utc_now())  # fmt: skip
    answer = call("auth_token", "POST", body={"client_id": "fuzzer", "client_secret": SECRET})
    yield json.loads(answer.get_body())["access_token"]
    bootstrap.log_sink().flush()
    bootstrap.reset()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def mutate(base: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """The value, or at some nested place replaced, removed or extended."""
    if isinstance(base, dict) and base and depth < 4:
        keys = sorted(base)
        return st.builds(
            lambda key, child, drop, extra: {
                **{k: v for k, v in base.items() if k not in drop},
                **({key: child} if key not in drop else {}),
                **extra,
            },
            st.sampled_from(keys),
            st.deferred(lambda: st.one_of(*(mutate(base[k], depth + 1) for k in keys))),
            st.sets(st.sampled_from(keys), max_size=1),
            st.dictionaries(st.text(max_size=6), ANY_JSON, max_size=1),
        )
    if isinstance(base, list) and base and depth < 4:
        return st.lists(mutate(base[0], depth + 1), max_size=3)
    return st.one_of(st.just(base), TEXTY, ANY_JSON, EDGES)


# values the tables' forms invite: non-finite and huge numbers, every date form, padded ids
EDGES = st.sampled_from(["NaN", "sNaN", "Infinity", "-Infinity", "1e30", "1e-30", 10**19, 10**17, "9" * 19, -1, 0,
                         "20220922", 20220922, "220922", "2022-02-30", "   ", "872452983283        ", 5, 5.5])  # fmt: skip


def agent_headers(token: str) -> dict[str, str]:
    tx_id = f"APIF{julian(datetime.now(UTC).astimezone(BOGOTA).date())}320000000042"
    return {
        "Accept": "application/json", "X-Invoker-Channel": "13", "X-Invoker-BranchId": "1108",
        "X-Invoker-TerminalId": "T1", "X-Invoker-UserIPAddress": "10.0.0.1", "X-Invoker-ServerIPAddress": "10.0.0.2",
        "X-Invoker-ProcessDate": "2026-11-22", "X-Invoker-TxId": tx_id, "X-Invoker-SessionKey": token[:30],
        "X-Invoker-Country": "CO", "X-Invoker-ProcessId": tx_id[-11:].rjust(12, "0"), "X-Invoker-subChannel": "07",
        "X-Invoker-User": "NEWCBSER", "X-Invoker-Action": "R", "X-Invoker-ModifierUser": "", "client_id": "fuzzer",
        "client_secret": SECRET,
    }  # fmt: skip


def check(name: str, body: Any, headers: dict[str, str], ok: type) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = call(name, "POST", headers=headers, body=raw)
    assert response.status_code < 500, response.get_body()
    answer = json.loads(response.get_body())
    (ok if response.status_code == 200 else ErrorResponse).model_validate(answer)


def load(path: str) -> Any:
    return json.loads((DATA / path).read_text())


SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROUTES = {
    "collections_negotiations": (load("negotiations/bm-ppps-table.json"), NegotiationResponse),
    "collections_profile": (load("profile/request.json"), ProfileResponse),
    "collections_policies": (load("policies/recalculo-more-offers.json"), PolicyResponse),
}


@SETTINGS
@given(body=mutate(load("negotiations/bm-ppps-table.json")) | mutate(load("negotiations/ocr-prerm.json")))
def test_negotiations_fuzz(token: str, body: Any) -> None:
    check("collections_negotiations", body, {**COMMON, "Authorization": f"Bearer {token}"}, NegotiationResponse)


@SETTINGS
@given(body=mutate(load("profile/request.json")))
def test_profile_fuzz(token: str, body: Any) -> None:
    check("collections_profile", body, {**COMMON, "Authorization": f"Bearer {token}"}, ProfileResponse)


@SETTINGS
@given(body=mutate(load("policies/recalculo-more-offers.json")) | mutate(load("policies/primer-momento.json")))
def test_policies_fuzz(token: str, body: Any) -> None:
    check("collections_policies", body, {**COMMON, "Authorization": f"Bearer {token}"}, PolicyResponse)


@SETTINGS
@given(body=mutate(load("collection/request.json")))
def test_collection_fuzz(token: str, body: Any) -> None:
    check("collections_collection", body, {**agent_headers(token), "Authorization": f"Bearer {token}"},
          CollectionResponse)  # fmt: skip


@SETTINGS
@given(raw=st.binary(max_size=200) | ANY_JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes(token: str, raw: bytes) -> None:
    for name, (_, model) in ROUTES.items():
        check(name, raw, {**COMMON, "Authorization": f"Bearer {token}"}, model)
