"""Hypothesis over the request models: whatever a bank sends, no 5xx, and every answer is
one the OpenAPI document describes (its schema, and the HTTP status of its codResp)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import bootstrap
from adapters.files.local import LocalFileStore
from domain.yapago import CODES, ConsultaResponse, ErrorResponse, OperacionResponse
from tests.e2e.calls import call
from tests.e2e.test_yapago_api import CONSULTA, pago, reversa
from tests.integration.test_debt_golden import DATA
from usecases.clients import register_client
from usecases.companies import seed_demo
from usecases.load_debts import load_debts

STATUS = {c.code: c.status for c in CODES}
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
TEXTY = st.one_of(
    st.text(max_size=25), st.integers(-5, 10**12), st.sampled_from(["", "0", "00730", "1020", "001", "F001-00000002"])
)


def mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The valid body with some fields replaced, removed or added."""
    keys = sorted(base)
    return st.builds(
        lambda replace, drop, extra: {
            **{k: v for k, v in base.items() if k not in drop},
            **replace,
            **extra,
        },
        st.dictionaries(st.sampled_from(keys), st.one_of(TEXTY, ANY_JSON), max_size=3),
        st.sets(st.sampled_from(keys), max_size=2),
        st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=2),
    )


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory, azurite: str) -> str:
    import os

    from sql.migrate import upgrade

    work = tmp_path_factory.mktemp("fuzz")
    saved = {k: os.environ.get(k) for k in ("SQL_URL", "SFTP_URL", "LOG_STORAGE_CONNECTION", "JWT_SIGNING_KEY")}
    os.environ.update(
        SQL_URL=f"sqlite:///{work / 'app.db'}", SFTP_URL=f"file://{work / 'x'}", LOG_STORAGE_CONNECTION=azurite,
        JWT_SIGNING_KEY="f" * 40,
    )  # fmt: skip
    bootstrap.reset()
    upgrade(os.environ["SQL_URL"])
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    register_client(bootstrap.unit_of_work, "bank-fuzz", "bank-fuzz-secret", "yapago", bootstrap.utc_now())
    store = LocalFileStore(work / "x")
    (source,) = (DATA / "valid_r").glob("*.TXT")
    store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    # after the file's transmission (08:30 in Lima): earlier, the loader refuses it as from the future
    (loaded,) = load_debts(bootstrap.engine(), store, lambda: datetime(2026, 11, 22, 14, tzinfo=UTC))
    assert loaded.applied == 4, loaded
    answer = call("auth_token", "POST", body={"client_id": "bank-fuzz", "client_secret": "bank-fuzz-secret"})
    yield json.loads(answer.get_body())["access_token"]
    bootstrap.log_sink().flush()
    bootstrap.reset()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def check(name: str, body: Any, token: str, ok_model: type) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = call(name, "POST", headers={"Authorization": f"Bearer {token}"}, body=raw)
    assert response.status_code < 500, response.get_body()
    answer = json.loads(response.get_body())
    code = answer["codResp"]
    assert STATUS[code] == response.status_code, (code, response.status_code)
    (ok_model if code == "00" else ErrorResponse).model_validate(answer)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(body=mutated(CONSULTA))
def test_consulta_fuzz(token: str, body: dict[str, Any]) -> None:
    check("yapago_consulta", body, token, ConsultaResponse)


@SETTINGS
@example(body={**pago("FUZZ1", "10.00"), "referenciaDeuda": None})  # once a 500: a constraint applied to None
@given(body=mutated(pago("FUZZ1", "10.00")))
def test_pago_fuzz(token: str, body: dict[str, Any]) -> None:
    check("yapago_pago", body, token, OperacionResponse)


@SETTINGS
@given(body=mutated(reversa("FUZZ1")))
def test_reversa_fuzz(token: str, body: dict[str, Any]) -> None:
    check("yapago_reversa", body, token, OperacionResponse)


@SETTINGS
@given(raw=st.binary(max_size=200) | ANY_JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes(token: str, raw: bytes) -> None:
    for name, model in (("yapago_consulta", ConsultaResponse), ("yapago_pago", OperacionResponse)):
        check(name, raw, token, model)
