"""Token service and the guard on every protected route, through the registered functions."""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta

import azure.functions as func
import jwt
import pytest

import bootstrap
from adapters.table_log import API_LOGS, partition_key, read_partition
from blueprints.common import PROTECTED, Call, endpoint
from domain.auth import Scope
from tests.conftest import free_port
from tests.e2e.calls import call, function, json_of
from usecases.clients import register_client, set_client_active

SECRET = "bank-secret-123456"
ALL = "yapago,lending,merchant,collections"


@pytest.fixture
def client(app_env) -> str:  # type: ignore[no-untyped-def]
    register_client(bootstrap.unit_of_work, "bank-1020", SECRET, "yapago", bootstrap.utc_now())
    register_client(bootstrap.unit_of_work, "ops", "ops-secret-123456", ALL, bootstrap.utc_now())
    return "bank-1020"


def token(client_id: str = "bank-1020", secret: str = SECRET) -> str:
    response = call("auth_token", "POST", headers={"client_id": client_id, "client_secret": secret})
    assert response.status_code == 200, response.get_body()
    return json_of(response)["access_token"]


@pytest.mark.parametrize("name", ["auth_token", "yapago_autenticar"])
def test_token_from_headers(client: str, name: str) -> None:
    response = call(name, "POST", headers={"client_id": client, "client_secret": SECRET})
    assert response.status_code == 200
    body = json_of(response)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "yapago"
    assert response.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == client and claims["scope"] == "yapago" and claims["exp"] - claims["iat"] == 3600


def test_token_from_json_form_and_basic(client: str) -> None:
    as_json = call("auth_token", "POST", body={"client_id": client, "client_secret": SECRET})
    assert as_json.status_code == 200
    basic = base64.b64encode(f"{client}:{SECRET}".encode()).decode()
    as_basic = call("auth_token", "POST", headers={"Authorization": f"Basic {basic}"})
    assert as_basic.status_code == 200
    as_form = call(
        "auth_token", "POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=f"client_id={client}&client_secret={SECRET}&scope=yapago".encode(),
    )  # fmt: skip
    assert as_form.status_code == 200 and json_of(as_form)["scope"] == "yapago"


def test_scope_can_be_narrowed_never_widened(client: str) -> None:
    narrowed = call(
        "auth_token", "POST", body={"client_id": "ops", "client_secret": "ops-secret-123456", "scope": "lending"}
    )
    assert json_of(narrowed)["scope"] == "lending"
    widened = call("auth_token", "POST", body={"client_id": client, "client_secret": SECRET, "scope": "lending"})
    assert widened.status_code == 400 and json_of(widened)["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        ({"client_id": "bank-1020", "client_secret": "wrong-secret-000"}, None, 401, "invalid_client"),
        ({"client_id": "nobody", "client_secret": SECRET}, None, 401, "invalid_client"),
        ({}, None, 400, "invalid_request"),
        ({"client_id": "bank-1020"}, None, 400, "invalid_request"),
        ({}, b"{not json", 400, "invalid_request"),
        ({}, b"[1, 2]", 400, "invalid_request"),
        ({}, b'{"client_id": 5, "client_secret": true}', 400, "invalid_request"),
        ({"Authorization": "Basic !!!"}, None, 400, "invalid_request"),
    ],
)
def test_bad_credentials(client: str, headers: dict[str, str], body: bytes | None, status: int, error: str) -> None:
    response = call("auth_token", "POST", headers=headers, body=body)
    assert response.status_code == status
    answer = json_of(response)
    assert answer["error"] == error and answer["message"] and answer["correlationId"]


def test_unknown_client_and_wrong_secret_look_the_same(client: str) -> None:
    wrong = json_of(call("auth_token", "POST", headers={"client_id": client, "client_secret": "wrong-secret-000"}))
    unknown = json_of(call("auth_token", "POST", headers={"client_id": "ghost", "client_secret": "wrong-secret-000"}))
    assert wrong["message"] == unknown["message"]


def test_disabled_client_gets_no_token_and_its_tokens_stop_working(client: str) -> None:
    access = token()
    set_client_active(bootstrap.unit_of_work, client, False, bootstrap.utc_now())
    assert call("auth_token", "POST", headers={"client_id": client, "client_secret": SECRET}).status_code == 401
    refused = call("auth_me", headers={"Authorization": f"Bearer {access}"})
    assert refused.status_code == 401 and "disabled" in json_of(refused)["message"]


def _forged(claims: dict, key: str = "another-key-" + "y" * 40) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def _claims(scope: str, **overrides: object) -> dict:
    now = int(time.time())
    claims = {"iss": "asbanc-functions", "sub": "ops", "scope": scope, "iat": now, "exp": now + 600, "jti": "x"}
    claims.update(overrides)
    return claims


def test_every_protected_route_refuses_bad_tokens(client: str) -> None:
    from tests.conftest import SIGNING_KEY

    assert PROTECTED, "no protected route registered"
    for name, scope in PROTECTED.items():
        target = function(name)
        method = str(getattr(target.get_trigger().methods[0], "value", target.get_trigger().methods[0]))
        cases = {
            "no token": ({}, 401),
            "not bearer": ({"Authorization": "Token abc"}, 401),
            "garbage": ({"Authorization": "Bearer abc.def.ghi"}, 401),
            "other key": ({"Authorization": f"Bearer {_forged(_claims(ALL.replace(',', ' ')))}"}, 401),
            "expired": (
                {"Authorization": f"Bearer {_forged(_claims('yapago', iat=1, exp=2), SIGNING_KEY)}"},
                401,
            ),
            "alg none": ({"Authorization": "Bearer " + jwt.encode(_claims("yapago"), None, algorithm="none")}, 401),
        }
        if scope != "any":
            others = " ".join(s.value for s in Scope if s.value != scope)
            cases["without scope"] = ({"Authorization": f"Bearer {_forged(_claims(others), SIGNING_KEY)}"}, 403)
        for case, (headers, status) in cases.items():
            response = call(name, method, headers=headers)
            assert response.status_code == status, f"{name}: {case} -> {response.status_code}"
            body = json_of(response)
            if "codResp" in body:  # YAPAGO routes answer in YAPAGO's shape
                assert body["codResp"] == ("90" if status == 401 else "91") and body["desResp"]
            elif "responseDetail" in body:  # the collections routes, in the spec's shape
                assert body["responseType"]["value"] == "ER"
                assert body["responseDetail"]["errorCode"] == str(status) and body["responseDetail"]["errorDesc"]
            else:
                assert body["error"] in {"invalid_request", "invalid_token", "insufficient_scope"}
            if status == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        valid = {"Authorization": f"Bearer {token('ops', 'ops-secret-123456')}"}
        if name.startswith("collections_"):  # the spec's own client headers come with the token
            valid |= {"client_id": "ops", "client_secret": "ops-secret-123456"}
        ok = call(name, method, headers=valid)
        assert ok.status_code not in (401, 403), f"{name}: a valid token was refused"


def test_the_guard_stops_before_the_handler(client: str) -> None:
    reached: list[str] = []

    @endpoint(Scope.LENDING)
    def guarded(req: func.HttpRequest, call_: Call) -> func.HttpResponse:
        reached.append("yes")
        return func.HttpResponse("ok")

    request = lambda auth: func.HttpRequest("GET", "http://x/api/g", headers=auth, body=b"")  # noqa: E731
    assert guarded(request({})).status_code == 401
    assert guarded(request({"Authorization": f"Bearer {token()}"})).status_code == 403  # yapago only
    assert reached == []
    assert guarded(request({"Authorization": f"Bearer {token('ops', 'ops-secret-123456')}"})).status_code == 200
    assert reached == ["yes"]
    PROTECTED.pop("guarded")


def test_unexpected_errors_are_json_500_with_correlation_id(client: str) -> None:
    @endpoint()
    def broken(req: func.HttpRequest, call_: Call) -> func.HttpResponse:
        raise ZeroDivisionError("secret detail")

    response = broken(func.HttpRequest("GET", "http://x/api/b", headers={"X-Correlation-Id": "abc-12345"}, body=b""))
    assert response.status_code == 500
    body = json_of(response)
    assert body == {"error": "internal_error", "message": body["message"], "correlationId": "abc-12345"}
    assert "secret detail" not in response.get_body().decode()
    assert response.headers["X-Correlation-Id"] == "abc-12345"


def test_every_call_is_logged_masked(client: str, azurite: str) -> None:
    response = call(
        "auth_token", "POST",
        headers={"X-Correlation-Id": "corr-0001-test"},
        body={"client_id": client, "client_secret": SECRET, "dni": "12345678"},
    )  # fmt: skip
    assert response.status_code == 200
    call("auth_token", "POST", headers={"X-Correlation-Id": "corr-0002-test"}, body={"client_id": client})
    bootstrap.log_sink().flush()
    rows = read_partition(azurite, API_LOGS, partition_key("auth_token", datetime.now(UTC)))
    mine = {r["CallerCorrelationId"]: r for r in rows if r.get("CallerCorrelationId", "").startswith("corr-000")}
    ok, bad = mine["corr-0001-test"], mine["corr-0002-test"]
    assert re.fullmatch("[0-9a-f]{32}", ok["CorrelationId"]), "CorrelationId is the trace id; the caller's is kept"
    assert ok["CorrelationId"] != bad["CorrelationId"]
    assert rows.index(bad) < rows.index(ok), "newest first"
    assert ok["Status"] == 200 and bad["Status"] == 400
    assert ok["ClientId"] == client and ok["Method"] == "POST" and ok["Route"] == "/api/auth/token"
    assert ok["Function"] == "auth_token" and ok["DurationMs"] >= 0
    assert json.loads(ok["Request"]) == {"client_id": client, "_omitted": 2}, "the secret is not even masked: dropped"
    assert '"access_token":"***"' in ok["Response"]


def test_table_storage_outage_does_not_fail_the_call(client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    monkeypatch.setenv("LOG_STORAGE_CONNECTION", dead)
    bootstrap.log_sink.cache_clear()
    bootstrap.reset_settings()
    started = time.monotonic()
    response = call("auth_token", "POST", headers={"client_id": client, "client_secret": SECRET})
    assert response.status_code == 200
    assert time.monotonic() - started < 3


def test_missing_signing_key_is_a_clear_500(client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SIGNING_KEY")
    bootstrap.reset()
    response = call("auth_token", "POST", headers={"client_id": client, "client_secret": SECRET})
    assert response.status_code == 500 and json_of(response)["error"] == "configuration_error"


def test_expiry_is_honoured(client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.tokens import TokenError, TokenService
    from tests.conftest import SIGNING_KEY

    service = TokenService(SIGNING_KEY, "asbanc-functions", 60)
    issued = service.issue("bank-1020", frozenset({Scope.YAPAGO}), datetime.now(UTC) - timedelta(seconds=120))
    with pytest.raises(TokenError, match="expired"):
        service.verify(issued.access_token)
