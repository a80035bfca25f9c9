"""The red-team matrix (issue 14), replayed over the real local host on every run: forged and
tampered tokens, every scope against every family of routes, and the bank and channel bindings.
None may get through; each refusal is the status the README's security section promises."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import ROOT, SIGNING_KEY, stop
from tests.e2e.test_local_host import start_host
from tests.e2e.test_yapago_api import pago

SECRET = "red-team-secret-000"
ISSUER = "asbanc-functions"
COLLECTIONS_HEADERS = {"X-Invoker-Channel": "012", "X-Invoker-UserIPAddress": "10.5.43.214",
                       "X-Invoker-ServerIPAddress": "192.168.169.197", "X-Invoker-UserMACAddress": "0E-A5-38-F7-C3-09",
                       "Accept": "application/json"}  # fmt: skip
CONSULTA = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}
ORDER = {"orderId": "RT-1", "channel": "KOF", "customerId": "CUST-001", "amount": "10.00", "concept": "x"}
QR = {"orderId": "RT-1", "channel": "KOF", "customerId": "CUST-001", "amount": "10.00"}
# one route of each family, with the scope it needs
ROUTES: dict[str, tuple[str, str, str, Any]] = {
    "yapago": ("yapago", "POST", "yapago/consulta", CONSULTA),
    "merchant": ("merchant", "POST", "lending/orders", ORDER),
    "lending": ("lending", "POST", "lending/qr-requests", QR),
    "collections": ("collections", "GET", "collections-management/v1/agreement/ics?acctId=5895180000053129617", None),
    "me": ("any", "GET", "auth/me", None),
}
CLIENTS = {
    "rt-yapago": "yapago", "rt-merchant": "merchant", "rt-lending": "lending", "rt-collections": "collections",
}  # fmt: skip


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, azurite: str, mambu: str) -> Iterator[dict[str, Any]]:
    from tests.conftest import MAMBU_KEY

    work = tmp_path_factory.mktemp("redteam")
    env = {**os.environ, "SQL_URL": f"sqlite:///{work / 'app.db'}", "SFTP_URL": f"file://{work / 'x'}",
           "LOG_STORAGE_CONNECTION": azurite, "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
           "MAMBU_BASE_URL": mambu, "MAMBU_API_KEY": MAMBU_KEY, "SMS_OUTBOX_PATH": str(work / "sms.jsonl"),
           "LENDING_SIGNING_KEY": "l" * 40, "TOKEN_GUESSES_PER_SOURCE": "1000"}  # fmt: skip
    commands = [["migrate"], ["seed-demo"], ["import-collections", "data/collections-demo.json"],
                ["create-client", "--id", "rt-bank-1030", "--secret", SECRET, "--scopes", "yapago", "--banks", "1030"],
                ["create-client", "--id", "rt-disabled", "--secret", SECRET, "--scopes", "yapago"]]  # fmt: skip
    for client, scope in CLIENTS.items():
        commands.append(["create-client", "--id", client, "--secret", SECRET, "--scopes", scope, "--channels", "KOF"])
    for args in commands:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, _ = start_host(work, env, "--workers", "2", "--no-timers")
    base = f"http://127.0.0.1:{port}/api"
    tokens = {c: httpx.post(f"{base}/auth/token", headers={"client_id": c, "client_secret": SECRET}).json()[
        "access_token"] for c in [*CLIENTS, "rt-bank-1030", "rt-disabled"]}  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "disable-client", "--id", "rt-disabled"], cwd=ROOT, env=env,
                   check=True, capture_output=True)  # fmt: skip
    yield {"base": base, "tokens": tokens}
    stop(proc)


def send(host: dict[str, Any], family: str, authorization: str | None, client: str | None = None) -> httpx.Response:
    _, method, route, body = ROUTES[family]
    headers = {"Authorization": authorization} if authorization is not None else {}
    if family == "collections":
        headers |= {**COLLECTIONS_HEADERS, "client_id": client or "", "client_secret": SECRET}
    return httpx.request(method, f"{host['base']}/{route}", headers=headers, json=body, timeout=30)


def _claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "sub": "rt-yapago", "scope": "yapago collections lending merchant",
              "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=30)).timestamp()), "jti": "rt", "ver": 1}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def forged(host: dict[str, Any]) -> dict[str, str]:
    real = host["tokens"]["rt-yapago"]
    head, payload, signature = real.split(".")
    widened = _b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "scope": "yapago collections"})
    now = datetime.now(UTC)
    return {
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.",
        "other-key": jwt.encode(_claims(), "k" * 40, algorithm="HS256"),
        "hs512-same-key": jwt.encode(_claims(), SIGNING_KEY, algorithm="HS512"),
        "expired": jwt.encode(_claims(exp=int((now - timedelta(minutes=5)).timestamp()),
                                      iat=int((now - timedelta(minutes=35)).timestamp())), SIGNING_KEY),
        "thirty-years": jwt.encode(_claims(exp=int((now + timedelta(days=365 * 30)).timestamp())), SIGNING_KEY),
        "issued-ahead": jwt.encode(_claims(iat=int((now + timedelta(hours=1)).timestamp()),
                                           exp=int((now + timedelta(hours=1, minutes=30)).timestamp())), SIGNING_KEY),
        "no-exp": jwt.encode(_claims(exp=None), SIGNING_KEY),
        "no-sub": jwt.encode(_claims(sub=None), SIGNING_KEY),
        "no-scope": jwt.encode(_claims(scope=None), SIGNING_KEY),
        "unknown-scope": jwt.encode(_claims(scope="admin"), SIGNING_KEY),
        "other-issuer": jwt.encode(_claims(iss="someone-else"), SIGNING_KEY),
        "scope-widened": f"{head}.{widened}.{signature}",
        "signature-cut": f"{head}.{payload}.",
        "garbage": "not.a.token",
        "disabled-client": host["tokens"]["rt-disabled"],
        "old-version": jwt.encode(_claims(ver=0), SIGNING_KEY),
        "ver-as-text": jwt.encode(_claims(ver="1"), SIGNING_KEY),
    }


FORGERIES = ["alg-none", "other-key", "hs512-same-key", "expired", "thirty-years", "issued-ahead", "no-exp", "no-sub",
             "no-scope", "unknown-scope", "other-issuer", "scope-widened", "signature-cut", "garbage",
             "disabled-client", "old-version", "ver-as-text"]  # fmt: skip


@pytest.mark.parametrize("family", sorted(ROUTES))
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_no_forged_token_gets_through(host: dict[str, Any], family: str) -> None:
    tokens = forged(host)
    for name in FORGERIES:
        answer = send(host, family, f"Bearer {tokens[name]}", "rt-yapago")
        assert answer.status_code == 401, (name, family, answer.text)
    for header in ("", "Bearer", "Bearer  x y", "Basic abc", f"Token {host['tokens']['rt-yapago']}"):
        assert send(host, family, header).status_code == 401, header
    assert send(host, family, None).status_code == 401


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("family", sorted(ROUTES))
def test_scope_matrix(host: dict[str, Any], client: str, family: str) -> None:
    needed = ROUTES[family][0]
    answer = send(host, family, f"Bearer {host['tokens'][client]}", client)
    if needed in ("any", CLIENTS[client]):
        assert answer.status_code not in (401, 403), (client, family, answer.text)
    else:
        assert answer.status_code == 403, (client, family, answer.text)


def test_bindings(host: dict[str, Any]) -> None:
    base, tokens = host["base"], host["tokens"]
    bound = {"Authorization": f"Bearer {tokens['rt-bank-1030']}"}
    for route, body in (("consulta", CONSULTA), ("pago", pago("RTBIND1")), ("reversa", {**CONSULTA, "numeroOperacion":
                        "RTBIND1", "fechaTxn": "22112026", "horaTxn": "100000", "servicio": "001",
                        "numeroDocumento": "F001-00000002"})):  # fmt: skip
        answer = httpx.post(f"{base}/yapago/{route}", headers=bound, json=body)
        assert (answer.status_code, answer.json()["codResp"]) == (403, "23"), (route, answer.text)
    merchant = {"Authorization": f"Bearer {tokens['rt-merchant']}"}
    for route, body in (("orders", {**ORDER, "channel": "PRONTO"}), ("scans", {"channel": "PRONTO", "payload": "x"})):
        answer = httpx.post(f"{base}/lending/{route}", headers=merchant, json=body)
        assert (answer.status_code, answer.json()["error"]) == (403, "canal_no_autorizado"), (route, answer.text)
    other = httpx.get(f"{base}/{ROUTES['collections'][2]}", headers={
        "Authorization": f"Bearer {tokens['rt-collections']}", **COLLECTIONS_HEADERS, "client_id": "rt-yapago",
        "client_secret": SECRET})  # fmt: skip
    assert other.status_code == 401, "another client's credentials in the collections headers"
