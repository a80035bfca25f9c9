"""A running local host with demo company 730, the golden debts loaded and a bank client."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, SIGNING_KEY, stop
from tests.e2e.test_local_host import start_host
from tests.integration.test_debt_golden import DATA

BANK_SECRET = "bank-1020-secret-value"


@dataclass
class YapagoHost:
    base: str
    token: str
    env: dict[str, str]
    proc: subprocess.Popen
    log: Path

    def post(self, route: str, body: dict[str, Any] | bytes, **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else None
        return httpx.post(
            f"{self.base}/yapago/{route}",
            json=None if content is not None else body,
            content=content,
            headers={"Authorization": f"Bearer {self.token}", **headers},
            timeout=30,
        )

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        )
        return done.stdout


def start_yapago_host(tmp_path: Path, sql_url: str, azurite: str, workers: int = 2) -> YapagoHost:
    env = {
        **os.environ, "SQL_URL": sql_url, "SFTP_URL": f"file://{tmp_path / 'x'}", "LOG_STORAGE_CONNECTION": azurite,
        "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
    }  # fmt: skip
    host = YapagoHost("", "", env, None, tmp_path)  # type: ignore[arg-type]
    host.manage("migrate")
    host.manage("seed-demo")
    host.manage("create-client", "--id", "bank-1020", "--secret", BANK_SECRET, "--scopes", "yapago")
    host.manage("create-client", "--id", "bank-1030", "--secret", BANK_SECRET, "--scopes", "yapago", "--banks", "1030")
    host.manage("create-company", "--code", "731", "--name", "AGUA SA", "--service", "001:completa",
                "--account", "001:1020:191-0731001-0-01")  # fmt: skip
    (source,) = (DATA / "valid_r").glob("*.TXT")
    pending = tmp_path / "x" / "00730" / "Deudas" / "Pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / source.name).write_bytes(source.read_bytes())
    host.manage("load-debts")
    proc, port, log = start_host(tmp_path, env, "--workers", str(workers), "--no-timers")
    host.proc, host.log, host.base = proc, log, f"http://127.0.0.1:{port}/api"
    token = httpx.post(f"{host.base}/yapago/autenticar", json={"client_id": "bank-1020", "client_secret": BANK_SECRET})
    host.token = token.json()["access_token"]
    return host


def stop_host(host: YapagoHost) -> None:
    stop(host.proc)
