"""Credit-line QR purchases over real HTTP on the local host, with the fake Mambu and the SMS
outbox, on SQLite and PostgreSQL: the whole flow as the two apps would drive it, scopes,
refusals with their statuses, and the QR image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.sms import read_outbox
from tests.conftest import MAMBU_KEY, ROOT, SIGNING_KEY, stop, temporary_database
from tests.e2e.test_local_host import start_host

SECRET = "lending-secret-value"


@dataclass
class Host:
    base: str
    outbox: Path
    tokens: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)  # the host's settings, for manage.py
    mambu: str = ""

    def post(self, who: str, route: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}/lending/{route}", json=body,
                          headers={"Authorization": f"Bearer {self.tokens[who]}"}, timeout=30)  # fmt: skip

    def code(self, phone: str) -> str:
        return [m for m in read_outbox(self.outbox) if m["to"] == phone][-1]["text"].split(" es ")[1][:6]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, azurite: str,
         mambu: str) -> Iterator[Host]:  # fmt: skip
    tmp = tmp_path_factory.mktemp(f"lending-{request.param}")
    if request.param == "sqlite":
        yield from _host(tmp, f"sqlite:///{tmp / 'db.sqlite'}", azurite, mambu)
        return
    with temporary_database(request.getfixturevalue("pg_url")) as url:
        yield from _host(tmp, url, azurite, mambu)


def _host(tmp: Path, url: str, azurite: str, mambu: str) -> Iterator[Host]:
    env = {**os.environ, "SQL_URL": url, "SFTP_URL": f"file://{tmp / 'x'}", "LOG_STORAGE_CONNECTION": azurite,
           "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY, "MAMBU_BASE_URL": mambu,
           "MAMBU_API_KEY": MAMBU_KEY, "SMS_OUTBOX_PATH": str(tmp / "sms.jsonl"),
           "LENDING_SIGNING_KEY": "l" * 40}  # fmt: skip
    for args in (["migrate"], ["seed-demo"],
                 ["create-client", "--id", "kof-app", "--secret", SECRET, "--scopes", "merchant", "--channels", "KOF"],
                 ["create-client", "--id", "customer-app", "--secret", SECRET, "--scopes", "lending"],
                 ["create-client", "--id", "pronto-app", "--secret", SECRET, "--scopes", "merchant", "--channels",
                  "PRONTO"],
                 ["create-client", "--id", "oxxo-app", "--secret", SECRET, "--scopes", "merchant", "--channels", "OXXO"],
                 ["create-client", "--id", "loose-app", "--secret", SECRET, "--scopes", "merchant"]):  # fmt: skip
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, _ = start_host(tmp, env, "--workers", "2", "--no-timers")
    base = f"http://127.0.0.1:{port}/api"
    tokens = {
        who: httpx.post(f"{base}/auth/token", headers={"client_id": who, "client_secret": SECRET}).json()[
            "access_token"
        ]
        for who in ("kof-app", "customer-app", "pronto-app", "oxxo-app", "loose-app")
    }
    yield Host(base, tmp / "sms.jsonl", tokens, env, mambu)
    stop(proc)


def _order(host: Host, customer: str, amount: str) -> str:
    order_id = f"KOF-{uuid.uuid4().hex[:8]}"
    body = {"orderId": order_id, "channel": "KOF", "customerId": customer, "amount": amount, "concept": "Pedido"}
    assert host.post("kof-app", "orders", body).status_code == 201
    return order_id


def test_the_whole_flow_over_http(host: Host) -> None:
    order_id = _order(host, "CUST-001", "1250.50")
    again = {"orderId": order_id, "channel": "KOF", "customerId": "CUST-001", "amount": "1250.50", "concept": "Pedido"}
    assert host.post("kof-app", "orders", again).status_code == 200, "the same order again is accepted once"
    asked = host.post("customer-app", "qr-requests",
                      {"orderId": order_id, "channel": "KOF", "customerId": "CUST-001", "amount": "1250.50"})  # fmt: skip
    assert asked.status_code == 201 and asked.json()["state"] == "PENDING_OTP1", asked.text
    purchase = asked.json()["purchaseId"]
    issued = host.post("customer-app", f"purchases/{purchase}/otp",
                       {"customerId": "CUST-001", "code": host.code("+525500000001")})  # fmt: skip
    assert issued.status_code == 200 and issued.json()["state"] == "QR_PENDING"
    image = httpx.get(f"{host.base}/lending/purchases/{purchase}/qr?format=png",
                      headers={"Authorization": f"Bearer {host.tokens['customer-app']}"})  # fmt: skip
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    payload = issued.json()["qrPayload"]
    scanned = host.post("kof-app", "scans", {"channel": "KOF", "payload": payload})
    assert scanned.status_code == 200 and scanned.json()["state"] == "PENDING_OTP2"
    done = host.post("customer-app", f"purchases/{purchase}/confirm",
                     {"customerId": "CUST-001", "code": host.code("+525500000001")})  # fmt: skip
    assert done.status_code == 200 and done.json()["state"] == "APPROVED"
    reused = host.post("kof-app", "scans", {"channel": "KOF", "payload": payload})
    assert (reused.status_code, reused.json()["error"]) == (409, "qr_usado")


def test_scopes_and_refusals(host: Host) -> None:
    order_id = _order(host, "CUST-002", "10.00")
    body = {"orderId": order_id, "channel": "KOF", "customerId": "CUST-002", "amount": "10.00"}
    assert host.post("kof-app", "qr-requests", body).status_code == 403, "a distributor cannot ask for a QR"
    late = host.post("customer-app", "qr-requests", body)
    assert (late.status_code, late.json()["error"]) == (422, "deuda_vencida")
    poor = host.post("customer-app", "qr-requests", {**body, "orderId": _order(host, "CUST-003", "500.00"),
                                                     "customerId": "CUST-003", "amount": "500.00"})  # fmt: skip
    assert (poor.status_code, poor.json()["error"]) == (422, "limite_insuficiente")
    forged = host.post("kof-app", "scans", {"channel": "KOF", "payload": "LQR1.e30.AAAA"})
    assert (forged.status_code, forged.json()["error"]) == (400, "qr_invalido")
    wrong = host.post("customer-app", "qr-requests", {**body, "amount": "11.00"})
    assert (wrong.status_code, wrong.json()["error"]) == (409, "monto_distinto")
    bad = host.post("customer-app", "qr-requests", {**body, "amount": "10.001"})
    assert bad.status_code == 400 and "amount" in bad.json()["message"]
    unknown = host.post("oxxo-app", "orders", {"orderId": "X1", "channel": "OXXO", "customerId": "CUST-001",
                                              "amount": "1", "concept": "c"})  # fmt: skip
    assert (unknown.status_code, unknown.json()["error"]) == (404, "canal_desconocido")
    assert json.loads(late.text)["correlationId"]


def test_a_distributor_acts_for_its_own_channel_only(host: Host) -> None:
    """KOF's client cannot register orders or scan QRs as PRONTO, nor take PRONTO's order ids (issue 13)."""
    order_id = f"SHARED-{uuid.uuid4().hex[:8]}"
    order = {"orderId": order_id, "channel": "PRONTO", "customerId": "CUST-001", "amount": "20.00", "concept": "P"}
    squat = host.post("kof-app", "orders", order)
    assert (squat.status_code, squat.json()["error"]) == (403, "canal_no_autorizado"), squat.text
    assert squat.json()["field"] == "channel" and "KOF" in squat.json()["message"]
    loose = host.post("loose-app", "orders", order)
    assert (loose.status_code, loose.json()["error"]) == (403, "canal_no_autorizado"), "an unbound client: none"
    assert host.post("pronto-app", "orders", order).status_code == 201, "the id is still PRONTO's to use"
    same_id = host.post("kof-app", "orders", {**order, "channel": "KOF", "amount": "99.00"})
    assert same_id.status_code == 201, "order ids are scoped by channel"
    asked = host.post("customer-app", "qr-requests",
                      {"orderId": order_id, "channel": "PRONTO", "customerId": "CUST-001", "amount": "20.00"})
    purchase = asked.json()["purchaseId"]
    issued = host.post("customer-app", f"purchases/{purchase}/otp",
                       {"customerId": "CUST-001", "code": host.code("+525500000001")})  # fmt: skip
    payload = issued.json()["qrPayload"]
    as_pronto = host.post("kof-app", "scans", {"channel": "PRONTO", "payload": payload})
    assert (as_pronto.status_code, as_pronto.json()["error"]) == (403, "canal_no_autorizado")
    as_kof = host.post("kof-app", "scans", {"channel": "KOF", "payload": payload})
    assert (as_kof.status_code, as_kof.json()["error"]) == (403, "qr_otro_canal")
    scanned = host.post("pronto-app", "scans", {"channel": "PRONTO", "payload": payload})
    assert scanned.status_code == 200 and scanned.json()["state"] == "PENDING_OTP2"


@pytest.mark.parametrize("purchase", ["%00", "x%27%20OR%201=1", "a" * 300, "%C3%B1", "00000000-0000-0000-0000-00000000000g"])
def test_a_purchase_id_that_is_no_uuid_is_404_never_a_5xx(host: Host, purchase: str) -> None:
    headers = {"Authorization": f"Bearer {host.tokens['customer-app']}"}
    for method, route, body in (("GET", "", None), ("GET", "/qr", None),
                                ("POST", "/otp", {"customerId": "CUST-001", "code": "123456"}),
                                ("POST", "/confirm", {"customerId": "CUST-001", "code": "123456"})):  # fmt: skip
        answer = httpx.request(method, f"{host.base}/lending/purchases/{purchase}{route}", headers=headers, json=body)
        assert (answer.status_code, answer.json()["error"]) == (404, "compra_desconocida"), answer.text


# -- issue 29: credit holds, OTP rounds and Mambu, as the apps see them ---------------------------


def _manage(host: Host, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=host.env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def _new_customer(host: Host, limit: str, available: str) -> tuple[str, str]:
    """A customer of their own (the module's database and the session's fake Mambu are shared)."""
    from fakes.mambu import customer

    who, phone = f"C29-{uuid.uuid4().hex[:8]}", f"+5255{uuid.uuid4().int % 10**8:08d}"
    httpx.put(f"{host.mambu}/_fake/customers/{who}", json=customer(who, limit, available)).raise_for_status()
    assert _manage(host, "create-customer", "--id", who, "--phone", phone).returncode == 0
    return who, phone


def _ask(host: Host, who: str, order_id: str, amount: str) -> httpx.Response:
    return host.post("customer-app", "qr-requests", {"orderId": order_id, "channel": "KOF", "customerId": who,
                                                     "amount": amount})  # fmt: skip


def _order_of(host: Host, who: str, amount: str) -> str:
    order_id = f"KOF-{uuid.uuid4().hex[:8]}"
    body = {"orderId": order_id, "channel": "KOF", "customerId": who, "amount": amount, "concept": "Pedido"}
    assert host.post("kof-app", "orders", body).status_code == 201
    return order_id


def _sent(host: Host, phone: str) -> int:
    return sum(1 for m in read_outbox(host.outbox) if m["to"] == phone)


def test_a_line_mambu_does_not_state_is_503_never_the_whole_limit(host: Host) -> None:
    """Limit 1000, 950 consumed, availableCreditAmount left out: 900 used to be accepted."""
    who, phone = _new_customer(host, "1000", "50")
    httpx.put(f"{host.mambu}/_fake/customers/{who}/arrangement", json={"drop": ["availableCreditAmount"]})
    order_id = _order_of(host, who, "900.00")
    answer = _ask(host, who, order_id, "900.00")
    assert (answer.status_code, answer.json()["error"]) == (503, "linea_no_verificable"), answer.text
    assert "availableCreditAmount is missing" in answer.json()["message"] and _sent(host, phone) == 0
    httpx.put(f"{host.mambu}/_fake/customers/{who}/arrangement", json={"set": {"availableCreditAmount": 50.0}})
    answer = _ask(host, who, order_id, "900.00")
    assert (answer.status_code, answer.json()["error"]) == (422, "limite_insuficiente"), "checked against 50"


def test_an_sms_failure_at_the_scan_is_503_and_the_distributor_scans_again(host: Host) -> None:
    who, phone = _new_customer(host, "1000", "1000")
    asked = _ask(host, who, _order_of(host, who, "100.00"), "100.00")
    purchase = asked.json()["purchaseId"]
    issued = host.post("customer-app", f"purchases/{purchase}/otp", {"customerId": who, "code": host.code(phone)})
    payload = issued.json()["qrPayload"]
    aside = host.outbox.with_name("sms.aside")
    host.outbox.rename(aside)
    host.outbox.mkdir()  # the outbox cannot be written: the SMS is not sent
    try:
        failed = host.post("kof-app", "scans", {"channel": "KOF", "payload": payload})
    finally:
        host.outbox.rmdir()
        aside.rename(host.outbox)
    assert (failed.status_code, failed.json()["error"]) == (503, "sms_no_enviado"), failed.text
    assert "scan it again" in failed.json()["message"] and failed.json()["correlationId"]
    now = httpx.get(f"{host.base}/lending/purchases/{purchase}",
                    headers={"Authorization": f"Bearer {host.tokens['customer-app']}"}).json()  # fmt: skip
    assert now["state"] == "QR_PENDING" and now["expiresAt"] == now["validUntil"]
    again = host.post("kof-app", "scans", {"channel": "KOF", "payload": payload})
    assert again.status_code == 200 and again.json()["state"] == "PENDING_OTP2", again.text
    done = host.post("customer-app", f"purchases/{purchase}/confirm", {"customerId": who, "code": host.code(phone)})
    assert done.status_code == 200 and done.json()["state"] == "APPROVED"


def test_an_abandoned_purchase_ends_by_the_timer_or_an_operator(host: Host) -> None:
    who, phone = _new_customer(host, "1000", "1000")
    order_id = _order_of(host, who, "900.00")
    first = _ask(host, who, order_id, "900.00").json()
    assert first["state"] == "PENDING_OTP1" and first["expiresAt"]
    stuck = _ask(host, who, order_id, "900.00")
    assert (stuck.status_code, stuck.json()["error"]) == (409, "orden_en_uso")
    assert _ask(host, who, _order_of(host, who, "900.00"), "900.00").json()["error"] == "limite_insuficiente"
    listed = _manage(host, "holds", "--customer", who)
    assert first["purchaseId"] in listed.stdout and "PENDING_OTP1" in listed.stdout and "expires" in listed.stdout
    released = _manage(host, "release-purchase", first["purchaseId"], "--reason", "abandoned at OTP 1")
    assert released.returncode == 0 and "REJECTED" in released.stdout, released.stderr
    twice = _manage(host, "release-purchase", first["purchaseId"], "--reason", "again")
    assert twice.returncode == 2 and "transicion_invalida" in twice.stderr
    second = _ask(host, who, order_id, "900.00")
    assert second.status_code == 201, "the order and the limit are free again"
    import sqlalchemy as sa

    from sql.engine import create_engine

    engine = create_engine(host.env["SQL_URL"])  # its deadline passed: what the timer sees five minutes on
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lending_purchases SET expires_at = updated_at WHERE id = :p"),
                     {"p": second.json()["purchaseId"]})  # fmt: skip
    engine.dispose()
    assert _manage(host, "run-timer", "qr_expiration").returncode == 0
    late = host.post("customer-app", f"purchases/{second.json()['purchaseId']}/otp",
                     {"customerId": who, "code": host.code(phone)})  # fmt: skip
    assert (late.status_code, late.json()["error"]) == (422, "otp_expirado")
    assert _ask(host, who, order_id, "900.00").status_code == 201
    unknown = _manage(host, "release-purchase", str(uuid.uuid4()), "--reason", "x")
    assert unknown.returncode == 2 and "compra_desconocida" in unknown.stderr


def test_otp_caps_answer_429_and_send_nothing(host: Host) -> None:
    """Six rounds of wrong codes on one order used to send eight SMS; now two, then 429."""
    who, phone = _new_customer(host, "1000", "1000")
    order_id = _order_of(host, who, "100.00")
    statuses = []
    for _ in range(6):
        asked = _ask(host, who, order_id, "100.00")
        if asked.status_code != 201:
            statuses.append((asked.status_code, asked.json()["error"]))
            continue
        for _ in range(3):
            code = host.code(phone)
            tried = host.post("customer-app", f"purchases/{asked.json()['purchaseId']}/otp",
                              {"customerId": who, "code": "000000" if code != "000000" else "111111"})  # fmt: skip
            statuses.append((tried.status_code, tried.json()["error"]))
            if tried.json()["error"] != "otp_incorrecto":
                break
    assert statuses == [(422, "otp_incorrecto"), (422, "otp_incorrecto"), (422, "otp_agotado"),
                        (422, "otp_incorrecto"), (422, "otp_incorrecto"), (429, "otp_limite_diario"),
                        *[(429, "otp_limite_diario")] * 4]  # fmt: skip
    capped = _ask(host, who, order_id, "100.00")
    assert capped.status_code == 429 and 0 < int(capped.headers["Retry-After"]) <= 86400 + 3600
    assert _sent(host, phone) == 2
