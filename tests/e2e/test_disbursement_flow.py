"""The disbursement loop end to end: purchases approved over HTTP on the local host (its timers
firing every second or two), dispersion files on a real sshd, the bank simulator answering one
success, one retryable and one final rejection, the retry file, the released limit, and the
signed webhooks a local receiver verifies; then the retry rejected again past the maximum."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.layouts.disbursements import DISPERSION_DETAIL
from domain.lending.webhooks import channel_secret
from fakes.webhook_receiver import FakeReceiver
from tests.conftest import MAMBU_KEY, ROOT, SIGNING_KEY, Sshd, serve_in_thread, stop, temporary_database
from tests.e2e.test_lending_api import SECRET, Host
from tests.e2e.test_local_host import start_host

WEBHOOK_KEY = "w" * 40


def wait_for(what: str, check: Callable[[], Any], timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def receiver() -> Iterator[tuple[str, FakeReceiver]]:
    app = FakeReceiver({"KOF": channel_secret(WEBHOOK_KEY.encode(), "KOF", 1)})
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path, sshd: Sshd, azurite: str, mambu: str,
          receiver: tuple) -> Iterator[tuple[Host, dict[str, str], Path, FakeReceiver]]:  # fmt: skip
    if request.param == "sqlite":
        yield from _world(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", sshd, azurite, mambu, receiver)
        return
    with temporary_database(request.getfixturevalue("pg_url")) as url:
        yield from _world(tmp_path, url, sshd, azurite, mambu, receiver)


def _world(tmp: Path, url: str, sshd: Sshd, azurite: str, mambu: str, receiver: tuple) -> Iterator[tuple]:
    folder = uuid.uuid4().hex
    (sshd.root / folder).mkdir()
    env = {**os.environ, "SQL_URL": url, "SFTP_URL": f"{sshd.url}/{folder}", "SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
           "SFTP_PRIVATE_KEY_PATH": str(sshd.user_key), "LOG_STORAGE_CONNECTION": azurite,
           "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY, "MAMBU_BASE_URL": mambu,
           "MAMBU_API_KEY": MAMBU_KEY, "SMS_OUTBOX_PATH": str(tmp / "sms.jsonl"), "LENDING_SIGNING_KEY": "l" * 40,
           "LENDING_WEBHOOK_KEY": WEBHOOK_KEY, "DISBURSEMENT_MAX_RETRIES": "1", "WEBHOOK_RETRY_BASE_SECONDS": "1",
           "DISBURSEMENT_SCHEDULE": "*/2 * * * * *", "DISBURSEMENT_RESPONSES_SCHEDULE": "*/2 * * * * *",
           "WEBHOOK_SCHEDULE": "* * * * * *", "QR_EXPIRATION_SCHEDULE": "0 0 0 1 1 *",
           "DEBT_LOADER_SCHEDULE": "0 0 0 1 1 *", "PAYMENT_FILE_SCHEDULE": "0 0 0 1 1 *"}  # fmt: skip
    for args in (["migrate"], ["seed-demo", "--webhook-base", receiver[0]],
                 ["create-client", "--id", "kof-app", "--secret", SECRET, "--scopes", "merchant", "--channels", "KOF"],
                 ["create-client", "--id", "customer-app", "--secret", SECRET, "--scopes", "lending"]):  # fmt: skip
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, log = start_host(tmp, env, "--workers", "1")
    base = f"http://127.0.0.1:{port}/api"
    tokens = {who: httpx.post(f"{base}/auth/token", headers={"client_id": who, "client_secret": SECRET}).json()[
        "access_token"] for who in ("kof-app", "customer-app")}  # fmt: skip
    try:
        yield Host(base, tmp / "sms.jsonl", tokens), env, sshd.root / folder / "dispersiones", receiver[1]
    finally:
        stop(proc)
        print(log.read_text()[-4000:])


def request_qr(host: Host, amount: str) -> httpx.Response:
    order_id = f"KOF-{uuid.uuid4().hex[:8]}"
    order = {"orderId": order_id, "channel": "KOF", "customerId": "CUST-001", "amount": amount, "concept": "Pedido"}
    assert host.post("kof-app", "orders", order).status_code == 201
    return host.post("customer-app", "qr-requests",
                     {"orderId": order_id, "channel": "KOF", "customerId": "CUST-001", "amount": amount})  # fmt: skip


def approve(host: Host, amount: str) -> str:
    """A purchase driven over HTTP the way the two apps do, up to APPROVED."""
    asked = request_qr(host, amount)
    assert asked.status_code == 201, asked.text
    purchase = asked.json()["purchaseId"]
    issued = host.post("customer-app", f"purchases/{purchase}/otp",
                       {"customerId": "CUST-001", "code": host.code("+525500000001")})  # fmt: skip
    assert host.post("kof-app", "scans", {"channel": "KOF", "payload": issued.json()["qrPayload"]}).status_code == 200
    done = host.post("customer-app", f"purchases/{purchase}/confirm",
                     {"customerId": "CUST-001", "code": host.code("+525500000001")})  # fmt: skip
    assert done.json()["state"] == "APPROVED", done.text
    return purchase


def purchase_of(host: Host, purchase: str) -> dict:
    answer = httpx.get(f"{host.base}/lending/purchases/{purchase}",
                       headers={"Authorization": f"Bearer {host.tokens['customer-app']}"})  # fmt: skip
    return answer.json()


def state_of(host: Host, purchase: str) -> str:
    return purchase_of(host, purchase)["state"]


def bank(env: dict[str, str], *rules: str) -> str:
    done = subprocess.run([sys.executable, "-m", "fakes.bank", *rules], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout


def details(path: Path) -> list[dict]:
    return [DISPERSION_DETAIL.parse(x)[0] for x in path.read_bytes().split(b"\r\n") if x.startswith(b"D")]


def test_approved_purchases_are_disbursed_retried_failed_and_notified(world: tuple) -> None:
    host, env, exchange, receiver = world
    ok, retry, final = approve(host, "4000.00"), approve(host, "3000.00"), approve(host, "2500.00")
    assert request_qr(host, "3000.00").json()["error"] == "limite_insuficiente"  # 9,500 of 10,000 held

    def sent() -> list[str]:  # the timer fires every 2 s: the three may be in one file or more
        return [d["id_transaccion"] for f in (exchange / "pendientes").glob("DISP_*.TXT") for d in details(f)]

    assert sorted(wait_for("the dispersion files on SFTP", lambda: len(sent()) >= 3 and sent())) == sorted(
        [ok, retry, final])  # fmt: skip
    assert "3 lines" in bank(env, "--reject", f"{retry}=02", "--reject", f"{final}=03")
    wait_for("the response applied", lambda: state_of(host, ok) == "DISBURSED")
    assert (state_of(host, retry), state_of(host, final)) == ("DISBURSING", "DISBURSEMENT_FAILED")
    retried = purchase_of(host, retry)
    assert retried["retries"] == 1 and retried["retriedAt"].endswith("-06:00") and "SPEI 02" in retried["reason"]
    (again,) = wait_for("the retry file", lambda: list((exchange / "reintentos").glob("REIN_*.TXT")))
    assert [(d["id_transaccion"], d["intento"]) for d in details(again)] == [(retry, 1)]
    assert (exchange / "respuestas" / "procesados").is_dir() and not list((exchange / "respuestas").glob("*.TXT"))
    # the failed purchase released its 2,500 (and the disbursed one is Mambu's now): 3,000 fits again
    assert request_qr(host, "3000.00").status_code == 201
    events = wait_for("two webhooks", lambda: len(receiver.received) >= 2 and receiver.received)
    assert all(e["valid"] for e in events) and {(e["eventId"], e["body"]["type"]) for e in events} == {
        (f"{ok}.disbursed", "disbursement.succeeded"), (f"{final}.failed", "disbursement.failed")}  # fmt: skip
    # the retry is rejected again: attempt 1 is the maximum, so it fails and is notified
    assert "1 lines" in bank(env, "--reject", f"{retry}=02")
    wait_for("the retry failed", lambda: state_of(host, retry) == "DISBURSEMENT_FAILED")
    wait_for("the third webhook", lambda: len(receiver.received) >= 3)
    time.sleep(1.5)  # a webhook timer run or two more: nothing is sent twice
    assert sorted(e["eventId"] for e in receiver.received) == sorted(
        [f"{ok}.disbursed", f"{final}.failed", f"{retry}.failed"])  # fmt: skip
    last = next(e for e in receiver.received if e["eventId"] == f"{retry}.failed")["body"]
    assert (last["attempt"], last["reasonCode"], last["amount"]) == (1, "02", "3000.00")
