"""The local host over real sockets: routes, methods, status codes, workers and timers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SIGNING_KEY, free_port, stop, wait_port


@dataclass
class Host:
    base: str
    proc: subprocess.Popen
    log: Path
    timer_out: Path


def start_host(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen, int, Path]:
    """`manage.py serve` on a free port. Hosts of one session share Azurite: each gets work queues
    of its own (DEBT_QUEUE, PAYMENT_QUEUE) unless the test chose one (two instances of one app)."""
    port = free_port()
    for name in ("DEBT_QUEUE", "PAYMENT_QUEUE"):
        if env.get(name) == os.environ.get(name):
            env = {**env, name: f"{name[:-6].lower()}-{uuid.uuid4().hex[:12]}"}
    log = tmp_path / f"host-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), *args],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_port(port, 30, proc)
    except RuntimeError:
        print(log.read_text())
        raise
    return proc, port, log


@pytest.fixture
def sample_host(tmp_path: Path, azurite: str) -> Iterator[Host]:
    out = tmp_path / "ticks.txt"
    env = {**os.environ, "SAMPLE_SCHEDULE": "*/1 * * * * *", "SAMPLE_OUT": str(out), "AzureWebJobsStorage": azurite,
           "SAMPLE_QUEUE": f"sample-{tmp_path.name[-20:].lower().replace('_', '-')}"}  # fmt: skip
    proc, port, log = start_host(tmp_path, env, "--app", "tests.e2e.sample_app", "--workers", "2")
    yield Host(f"http://127.0.0.1:{port}/api", proc, log, out)
    stop(proc)


def test_route_parameters_query_headers(sample_host: Host) -> None:
    r = httpx.get(f"{sample_host.base}/items/42?q=abc&q=ignored", headers={"X-Sample": "hi"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["id"] == "42" and body["method"] == "GET" and body["q"] == "abc" and body["header"] == "hi"
    assert body["url"].endswith("/api/items/42?q=abc&q=ignored")
    assert httpx.delete(f"{sample_host.base}/items/7").json()["method"] == "DELETE"


def test_body_status_and_headers_pass_through(sample_host: Host) -> None:
    payload = bytes(range(256)) * 100
    r = httpx.post(f"{sample_host.base}/echo", content=payload)
    assert r.status_code == 201 and r.headers["x-echo"] == "yes" and r.content == payload


def test_not_found_and_method_not_allowed(sample_host: Host) -> None:
    assert httpx.get(f"{sample_host.base}/items/abc").status_code == 404
    assert httpx.get(f"{sample_host.base}/nothing").status_code == 404
    assert httpx.get(sample_host.base.replace("/api", "/other/pid")).status_code == 404
    r = httpx.post(f"{sample_host.base}/items/1")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
    assert httpx.get(f"{sample_host.base}/echo").status_code == 405


def test_unhandled_exception_is_a_500(sample_host: Host) -> None:
    assert httpx.get(f"{sample_host.base}/boom").status_code == 500
    assert httpx.get(f"{sample_host.base}/pid").status_code == 200  # the worker lives on


def test_two_worker_processes_serve(sample_host: Host) -> None:
    seen: set[str] = set()
    deadline = time.monotonic() + 20
    with ThreadPoolExecutor(8) as pool:
        while len(seen) < 2 and time.monotonic() < deadline:
            seen |= set(pool.map(lambda _: httpx.get(f"{sample_host.base}/pid").text, range(16)))
    assert len(seen) == 2, f"answers came from {seen}"
    assert str(sample_host.proc.pid) not in seen  # the workers are child processes


def test_timer_fires_on_its_schedule_once_per_tick(sample_host: Host) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if sample_host.timer_out.exists() and len(sample_host.timer_out.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    lines = sample_host.timer_out.read_text().splitlines()
    assert len(lines) >= 3
    assert {line.split()[0] for line in lines} == {str(sample_host.proc.pid)}, "timers run once, in the host process"
    log = sample_host.log.read_text()
    assert "Executing 'Functions.tick'" in log and "Executed 'Functions.tick' (Succeeded" in log


def test_bad_schedule_setting_stops_the_host_with_its_name(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SAMPLE_SCHEDULE"}
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", str(free_port()), "--app", "tests.e2e.sample_app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SAMPLE_SCHEDULE" in result.stderr


def test_real_app_token_round_trip(tmp_path: Path, azurite: str) -> None:
    """The function app itself behind the local host: migrate, create a client, get a token, use it."""
    env = {
        **os.environ,
        "SQL_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SFTP_URL": f"file://{tmp_path / 'exchange'}",
        "LOG_STORAGE_CONNECTION": azurite,
        "AzureWebJobsStorage": azurite,
        "JWT_SIGNING_KEY": SIGNING_KEY,
        "MAMBU_BASE_URL": "http://127.0.0.1:9",  # nobody there, whatever else runs on this machine (make run's fake)
    }

    def run(*args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)

    run("migrate")
    run("create-client", "--id", "bank-1020", "--secret", "bank-secret-123456", "--scopes", "yapago")
    proc, port, log = start_host(tmp_path, env, "--workers", "2")
    try:
        base = f"http://127.0.0.1:{port}/api"
        token = httpx.post(
            f"{base}/auth/token", headers={"client_id": "bank-1020", "client_secret": "bank-secret-123456"}
        )
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        me = httpx.get(f"{base}/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert me.status_code == 200 and me.json() == {"client_id": "bank-1020", "scopes": ["yapago"]}
        assert httpx.get(f"{base}/auth/me").status_code == 401
        health = httpx.get(f"{base}/health").json()
        assert health["database"] == "ok" and health["checks"]["database"]["status"] == "ok"
        # no Mambu here: the lending partner is down, the instance is fine
        assert health["status"] == "degraded" and health["checks"]["mambu"]["status"] == "down"
    finally:
        stop(proc)
    assert "bank-secret-123456" not in log.read_text()
