"""Benchmark of the YAPAGO API over real HTTP: consulta and pago against a trivial function.

    python bench/yapago_api.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
        [--clients 100000] [--debts-per-client 10] [--connections 16] [--seconds 15] [--workers 2]

Loads N clients x M debts into a fresh PostgreSQL database with the real loader, starts
Azurite (for ApiLogs) and the local host (`manage.py serve`, uvicorn workers) on loopback,
and drives it with wrk (Debian package `wrk`): GET /api/ping (the ceiling), POST
/api/yapago/consulta for random clients, POST /api/yapago/pago of 1.00 on random debts
with unique operation numbers, and GET /api/auth/me (a trivial function through the same
plumbing: token check and one ApiLogs entity). Prints requests/s and p50/p99 latency per route, and the
ratio to the ceiling. Targets (issue 4): with 16 connections on the 2-core machine,
consulta >= 1,000 req/s with p99 <= 25 ms, pago >= 500 req/s, consulta >= half of ping.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ports import free_port, wait_port  # noqa: E402

NAME = "D0073022112026001.TXT"
SECRET = "bench-bank-secret-1"


def debt_file(path: Path, clients: int, per_client: int) -> None:
    """Clients C00000001.. each with `per_client` soles debts of 1000.00, minimum 1.00."""
    from domain.layouts.debts import DETAIL, HEADER

    template = bytearray(
        DETAIL.format(
            dict(
                tipo_actualizacion="N", codigo_cliente="X", nombre_cliente="CLIENTE DE PRUEBA", codigo_producto="001",
                num_documento="F", desc_documento="Factura", fecha_vencimiento=date(2026, 12, 10),
                fecha_emision=date(2026, 11, 10), deuda=100000, mora=0, gastos_adm=0, pago_minimo=100, periodo=11,
                anio=2026, cuota=1, moneda_doc="1",
            )
        )
    )  # fmt: skip
    lines = clients * per_client
    with path.open("wb") as out:
        out.write(
            HEADER.format(
                dict(
                    nombre_archivo=NAME, tipo_actualizacion="R", codigo_empresa=730,
                    fecha_transmision=date(2026, 11, 22), hora_transmision=datetime(2026, 1, 1, 0, 0).time(),
                    numero_registros=lines, importe_total_soles=lines * 100000, importe_total_dolares=0, mac=0,
                )
            )
            + b"\r\n"
        )  # fmt: skip
        for client in range(1, clients + 1):
            for doc in range(per_client):
                template[1:15] = f"C{client:08d}".ljust(14).encode()
                template[48:64] = f"F001-{doc:08d}".ljust(16).encode()
                out.write(bytes(template) + b"\r\n")


LUA_CONSULTA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
request = function()
  local c = math.random(1, CLIENTS)
  return wrk.format(nil, nil, nil, string.format(
    '{"idConsulta":"C%08d","tipoConsulta":0,"idEmpresa":"730","idBanco":"1020","idCanal":"10"}', c))
end
"""

LUA_PAGO = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
local counter = 0
local threads = 0

-- numeroOperacion is at most 12 characters: B + run (3) + thread (1) + counter (7), unique per run
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
request = function()
  counter = counter + 1
  local c = math.random(1, CLIENTS)
  local d = math.random(0, PER_CLIENT - 1)
  return wrk.format(nil, nil, nil, string.format(
    '{"fechaTxn":"22112026","horaTxn":"120000","idCanal":"10","idForma":"01","numeroOperacion":"B%s%01d%07d",'
    .. '"idConsulta":"C%08d","servicio":"001","numeroDocumento":"F001-%08d","importePagado":1.00,"moneda":"1",'
    .. '"idEmpresa":"730","idBanco":"1020"}', RUN, thread_id, counter, c, d))
end
"""


def wrk(url: str, seconds: int, connections: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def latency(percent: str) -> float:
        match = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)", output)
        value, unit = float(match.group(1)), match.group(2)  # type: ignore[union-attr]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rate, "p50": latency("50"), "p99": latency("99"), "non2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", required=True, help="PostgreSQL URL (a database is created and dropped)")
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--debts-per-client", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="function threads per worker")
    parser.add_argument("--no-table-logs", action="store_true", help="point ApiLogs at nothing (to see their cost)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="bench-yapago-"))
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    ports = [free_port() for _ in range(3)]
    azurite = subprocess.Popen(
        [str(ROOT / "node_modules/.bin/azurite"), "--inMemoryPersistence", "--silent", "--skipApiVersionCheck",
         "--loose", "--blobPort", str(ports[0]), "--queuePort", str(ports[1]), "--tablePort", str(ports[2])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    storage = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{ports[0]}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{ports[2]}/devstoreaccount1;"
    )
    env = {
        **os.environ, "SQL_URL": url, "SFTP_URL": f"file://{work / 'x'}", "LOG_STORAGE_CONNECTION": storage,
        "AzureWebJobsStorage": storage, "JWT_SIGNING_KEY": "b" * 48,
    }  # fmt: skip
    if args.no_table_logs:
        env["LOG_STORAGE_CONNECTION"] = storage.replace(str(ports[2]), str(free_port()))
        env["LOG_RETRY_AFTER_SECONDS"] = "3600"
    server = None
    try:

        def manage(*command: str) -> None:
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)

        manage("migrate")
        manage("seed-demo")
        manage("create-client", "--id", "bench-bank", "--secret", SECRET, "--scopes", "yapago")
        pending = work / "x" / "00730" / "Deudas" / "Pending"
        pending.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        debt_file(pending / NAME, args.clients, args.debts_per_client)
        manage("load-debts")
        total = args.clients * args.debts_per_client
        print(f"loaded {args.clients:,} clients, {total:,} debts in {time.perf_counter() - started:.1f}s")

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", str(args.workers),
             "--threads", str(args.threads), "--no-timers", "--no-queues"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(port)
        base = f"http://127.0.0.1:{port}/api"
        token = httpx.post(f"{base}/yapago/autenticar", json={"client_id": "bench-bank", "client_secret": SECRET})
        token_text = token.json()["access_token"]
        run_id = uuid.uuid4().hex[:3]
        scripts = {}
        for label, lua in (("consulta", LUA_CONSULTA), ("pago", LUA_PAGO)):
            script = work / f"{label}.lua"
            script.write_text(
                lua.replace("TOKEN", token_text).replace("CLIENTS", str(args.clients))
                .replace("PER_CLIENT", str(args.debts_per_client)).replace("RUN", json.dumps(run_id))
            )  # fmt: skip
            scripts[label] = script
        check = httpx.post(
            f"{base}/yapago/consulta",
            headers={"Authorization": f"Bearer {token_text}"},
            json={"idConsulta": "C00000001", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"},
        )
        assert check.json()["codResp"] == "00", check.text
        # warm up: imports, statement caches, connection pools, PostgreSQL's buffer cache
        wrk(f"{base}/ping", 3, args.connections, None)
        wrk(f"{base}/yapago/consulta", 5, args.connections, scripts["consulta"])
        me = work / "me.lua"
        me.write_text(f'wrk.headers["Authorization"] = "Bearer {token_text}"\n')
        results = {
            "ping (ceiling)": wrk(f"{base}/ping", args.seconds, args.connections, None),
            "auth/me": wrk(f"{base}/auth/me", args.seconds, args.connections, me),
            "consulta": wrk(f"{base}/yapago/consulta", args.seconds, args.connections, scripts["consulta"]),
            "pago": wrk(f"{base}/yapago/pago", args.seconds, args.connections, scripts["pago"]),
        }
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            paid = conn.execute(sa.text("SELECT count(*) FROM payments")).scalar()
        engine.dispose()
        ceiling = results["ping (ceiling)"]["rps"]
        print(f"\n{args.connections} connections, {args.seconds}s per route, {args.workers} uvicorn workers x "
              f"{args.threads} threads, "
              f"PostgreSQL, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
        print(f"{'route':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs ceiling':>11}")
        for route, r in results.items():
            print(
                f"{route:<16} {r['rps']:>9,.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['non2xx']:>8} "
                f"{r['rps'] / ceiling:>10.2f}x"
            )
        print(f"payments stored: {paid:,}")
        if results["pago"]["non2xx"] or not paid:  # a refused pago is fast: never report it as throughput
            raise SystemExit(f"pago answered {results['pago']['non2xx']} non-2xx; the figures above are not valid")
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        azurite.terminate()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
