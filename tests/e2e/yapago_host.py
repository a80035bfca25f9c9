"""A running local host with demo company 730, the golden debts loaded and a bank client."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, time
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


# Company 733: clients whose codes and identifiers overlap (issue 29). `12345678` is one client's
# code and another's DNI; `20555555555` one's code and another's RUC, each with an F001-00000001
# (the other client's line first: it has the lower id); C0001 and C0002 share a DNI; `777` and
# `0000777` are two codes that differ only in zeros.
SHARED = 733
SHARED_CLIENTS = [  # (client, service, document, cents, dni, ruc)
    ("B0001", "001", "F001-00000001", 5000, "12345678", ""),
    ("B0001", "001", "F001-00000002", 3000, "12345678", ""),
    ("12345678", "002", "F002-00000001", 10000, "", ""),
    ("B0002", "001", "F001-00000001", 4000, "", "20555555555"),
    ("20555555555", "001", "F001-00000001", 6000, "", ""),
    ("C0001", "001", "F001-00000001", 2000, "23456789", ""),
    ("C0002", "001", "F001-00000001", 2500, "23456789", ""),
    ("777", "001", "F001-00000001", 1000, "", ""),
    ("0000777", "001", "F001-00000001", 1100, "", ""),
]


def debt_file(company: int, rows: list[tuple[str, str, str, int, str, str]],
              day: date = date(2026, 11, 22)) -> tuple[str, bytes]:  # fmt: skip
    """An R debt file of `rows` (client, service, document, cents, dni, ruc), minimum 1.00 each,
    transmitted at 06:30 in Lima on `day`."""
    from domain.layouts.debts import DETAIL, HEADER

    lines, pen, usd = [], 0, 0
    for client, service, document, cents, dni, ruc in rows:
        currency = "2" if service in ("002", "004") else "1"
        lines.append(DETAIL.format(dict(
            tipo_actualizacion="N", codigo_cliente=client, nombre_cliente=f"CLIENTE {client}", codigo_producto=service,
            num_documento=document, desc_documento="Factura", fecha_vencimiento=date(2026, 12, 10),
            fecha_emision=date(2026, 11, 10), deuda=cents, mora=0, gastos_adm=0, pago_minimo=100, periodo=11,
            anio=2026, cuota=1, moneda_doc=currency, dni=dni or None, ruc=ruc or None,
        )))  # fmt: skip
        usd, pen = (usd + cents, pen) if currency == "2" else (usd, pen + cents)
    name = f"D{company:05d}{day:%d%m%Y}001.TXT"
    header = HEADER.format(dict(nombre_archivo=name, tipo_actualizacion="R", codigo_empresa=company,
                                fecha_transmision=day, hora_transmision=time(6, 30), numero_registros=len(lines),
                                importe_total_soles=pen, importe_total_dolares=usd, mac=0))  # fmt: skip
    return name, b"\r\n".join([header, *lines]) + b"\r\n"


def add_shared_id_company(host: YapagoHost) -> None:
    """Company 733 with services 001 (soles) and 002 (dollars), both collected by bank 1020, and
    its debts (SHARED_CLIENTS) loaded. Once per host."""
    host.manage("create-company", "--code", str(SHARED), "--name", "DOBLE SA", "--service", "001:completa",
                "--service", "002:completa", "--account", "001:1020:191-0733001-0-01",
                "--account", "002:1020:191-0733002-0-02")  # fmt: skip
    name, data = debt_file(SHARED, SHARED_CLIENTS)
    pending = Path(host.env["SFTP_URL"].removeprefix("file://")) / f"{SHARED:05d}" / "Deudas" / "Pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / name).write_bytes(data)
    assert "1 rejected" not in host.manage("load-debts", "--company", str(SHARED))
