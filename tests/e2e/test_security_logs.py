"""No secret in any log, and no body big enough to hurt (issue 14), over the real local host:
every malformed shape of a token request is sent, then the host's own log (access lines
included) and ApiLogs in Azurite are searched for the secret; 40 MB and 101 MB bodies are
refused at once while the host keeps answering others."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.table_log import API_LOGS, partition_key, read_partition
from tests.conftest import ROOT, SIGNING_KEY, stop
from tests.e2e.test_local_host import start_host
from tests.unit.test_masking import MALFORMED, SECRET

LIMIT = 1024 * 1024  # FUNCTIONS_REQUEST_BODY_SIZE_LIMIT of the host under test


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, azurite: str) -> Iterator[tuple[str, Path, str]]:
    work = tmp_path_factory.mktemp("security")
    env = {**os.environ, "SQL_URL": f"sqlite:///{work / 'app.db'}", "SFTP_URL": f"file://{work / 'x'}",
           "LOG_STORAGE_CONNECTION": azurite, "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
           "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": str(LIMIT)}  # fmt: skip
    for args in (["migrate"], ["create-client", "--id", "bank-sec", "--secret", SECRET, "--scopes", "yapago"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, log = start_host(work, env, "--workers", "2", "--no-timers")
    yield f"http://127.0.0.1:{port}/api", log, azurite
    stop(proc)


def test_no_shape_of_a_token_request_leaves_the_secret_in_any_log(host: tuple[str, Path, str]) -> None:
    base, log, azurite = host
    for route in ("auth/token", "yapago/autenticar"):
        for body in MALFORMED:
            for content_type in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
                answer = httpx.post(f"{base}/{route}", content=body, headers={"Content-Type": content_type})
                assert answer.status_code < 500, (body, answer.text)
        httpx.post(f"{base}/{route}?client_secret={SECRET}&client_id=bank-sec")
        httpx.post(f"{base}/{route}", headers={"client_id": "bank-sec", "client_secret": SECRET + "x"})
        basic = base64.b64encode(f"bank-sec:{SECRET}".encode()).decode()
        good = httpx.post(f"{base}/{route}", headers={"Authorization": f"Basic {basic}"})
        assert good.status_code == 200
        token = good.json()["access_token"]
        httpx.post(f"{base}/yapago/consulta?token={token}", headers={"Authorization": f"Bearer {token}"}, json={})
    time.sleep(1.5)  # the sink writes in the background
    host_log = log.read_text()
    assert "POST /api/auth/token HTTP" in host_log, "the access log is there, without its query string"
    assert SECRET not in host_log and token not in host_log
    entities = [
        e for name in ("auth_token", "yapago_autenticar", "yapago_consulta")
        for e in read_partition(azurite, API_LOGS, partition_key(name, datetime.now(UTC)))
    ]  # fmt: skip
    assert len(entities) >= 2 * (3 * len(MALFORMED) + 3)
    for entity in entities:
        text = repr(entity)
        assert SECRET not in text and SECRET[:10] not in text and token not in text, entity


def _raw_post(port: int, path: str, headers: str, body_parts: Iterator[bytes]) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before we finished sending: what we want
        answer = sock.recv(4096)
    return answer, time.monotonic() - started


def test_bodies_over_the_limit_are_refused_at_once(host: tuple[str, Path, str]) -> None:
    base, _log, _ = host
    port = int(base.split(":")[2].split("/")[0])
    # declared: refused on the Content-Length, before a byte of the body is read
    answer, took = _raw_post(port, "/api/auth/token", f"Content-Length: {101 * 1024 * 1024}\r\n", iter([]))
    assert answer.startswith(b"HTTP/1.1 413") and took < 2, (answer, took)
    # chunked: refused as soon as it passes the limit
    chunks = (b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024) for _ in range(80))
    answer, took = _raw_post(port, "/api/auth/token", "Transfer-Encoding: chunked\r\n", chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    # 40 MB while others call: they are answered, the worker survives
    others: list[int] = []

    def ping() -> None:
        for _ in range(20):
            others.append(httpx.get(f"{base}/ping", timeout=10).status_code)

    thread = threading.Thread(target=ping)
    thread.start()
    big = httpx.post(f"{base}/auth/token", content=b"{" + b" " * (40 * 1024 * 1024) + b"}", timeout=60)
    thread.join()
    assert big.status_code == 413 and others == [200] * 20
    assert httpx.get(f"{base}/ping").status_code == 200
    # under the host's limit but over the route's (4 KiB): 413 from the function, nothing parsed or masked
    mid = httpx.post(f"{base}/auth/token", content=b'{"client_secret": "' + b"y" * 100_000 + b'"}')
    assert mid.status_code == 413 and mid.json()["error"] == "payload_too_large"
