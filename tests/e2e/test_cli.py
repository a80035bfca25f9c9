"""Operator commands as an operator types them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_operator_commands(tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    env = {
        **os.environ,
        "SQL_URL": f"sqlite:///{db}",
        "SFTP_URL": f"file://{tmp_path / 'x'}",
        "JWT_SIGNING_KEY": "k" * 40,
    }
    assert run(env, "migrate").returncode == 0

    created = run(env, "create-company", "--code", "00731", "--name", "Agua SA", "--service", "001:completa",
                  "--service", "002:parcial:USD", "--account", "001:1020:191-0055001-0-01")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "company 00731 Agua SA created; services 001:completa:PEN, 002:parcial:USD" in created.stdout
    for folder in ("Deudas/Pending", "Deudas/Complete", "Deudas/Rejected", "Pagos"):
        assert (tmp_path / "x" / "00731" / folder).is_dir(), folder  # load-debts finds its folder from day one
    assert "D00731<ddmmyyyy><nnn>.TXT in 00731/Deudas/Pending/" in created.stdout

    bad = run(env, "create-company", "--code", "731", "--name", "X", "--service", "007:completa")
    assert bad.returncode == 2 and "service code '007'" in bad.stderr

    client = run(
        env, "create-client", "--id", "bank-1020", "--secret", "s3cret-value-123", "--scopes", "yapago,lending"
    )
    assert client.returncode == 0 and "created with scopes lending,yapago" in client.stdout
    bad_banks = run(env, "create-client", "--id", "bank-1030", "--secret", "s3cret-value-123", "--scopes", "yapago",
                    "--banks", "10x0")  # fmt: skip
    assert bad_banks.returncode == 2 and "bank codes must be 4 digits: 10x0" in bad_banks.stderr
    bad_scope = run(env, "create-client", "--id", "bank-1020", "--secret", "s3cret-value-123", "--scopes", "admin")
    assert bad_scope.returncode == 2 and "unknown scope 'admin'" in bad_scope.stderr

    for _ in range(2):
        seeded = run(env, "seed-demo")
        assert seeded.returncode == 0, seeded.stderr
    assert (tmp_path / "x" / "00730" / "Deudas" / "Pending").is_dir()
    assert (tmp_path / "x" / "dispersiones" / "respuestas").is_dir()

    off = run(env, "deactivate-company", "--code", "730")
    assert off.returncode == 0 and "00730 deactivated" in off.stdout
    assert "DEACTIVATED" in next(line for line in run(env, "companies").stdout.splitlines() if line.startswith("00730"))
    assert run(env, "activate-company", "--code", "00730").returncode == 0
    assert "DEACTIVATED" not in run(env, "companies").stdout
    assert run(env, "deactivate-company", "--code", "999").returncode == 2
    shown = run(env, "companies", "730").stdout
    assert "company     00730 EMPRESA DEMO SAC\nstate       active" in shown, shown
    assert "account     service 001 bank 1020: 191-0730001-0-01" in shown
    assert "00730/Deudas/Pending/" in shown
    assert run(env, "companies", "999").returncode == 2

    assert run(env, "disable-client", "--id", "bank-1020").returncode == 0
    assert run(env, "disable-client", "--id", "ghost").returncode == 2

    lost = run(env, "generate-payments", "--regenerate", "P0073099992026001.TXT")
    assert (lost.returncode, lost.stderr.strip()) == (2, "error: no payment file named P0073099992026001.TXT")
    assert "Traceback" not in lost.stderr
    bad_channels = run(env, "create-client", "--id", "kof-app", "--secret", "s3cret-value-123", "--scopes", "merchant",
                       "--channels", "kof")  # fmt: skip
    assert bad_channels.returncode == 2 and "channels must be 2-10 capital letters: kof" in bad_channels.stderr
    kof = run(env, "create-client", "--id", "kof-app", "--secret", "s3cret-value-123", "--scopes", "merchant",
              "--channels", "KOF")  # fmt: skip
    assert kof.returncode == 0, kof.stderr
    assert "no drawdowns due" in run(env, "book-drawdowns").stdout
    assert run(env, "drawdowns", "--state", "PENDING").returncode == 0

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM companies")).scalar() == 2
        assert conn.execute(sa.text("SELECT count(*) FROM services WHERE company_code = 730")).scalar() == 4
        rows = dict(conn.execute(sa.text("SELECT client_id, active FROM api_clients")).all())
    assert rows == {"bank-1020": 0, "demo-client": 1, "demo-operator": 1, "kof-app": 1}
    assert "s3cret-value-123" not in db.read_bytes().decode("latin-1")

    listing = run(env, "functions")
    assert "auth_token" in listing.stdout and "/api/auth/token" in listing.stdout


def test_bad_setting_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "SQL_URL": "nonsense://", "JWT_SIGNING_KEY": "k" * 40}
    result = run(env, "migrate")
    assert result.returncode == 2 and "SQL_URL" in result.stderr


def test_listings_say_when_empty_and_survive_a_closed_pipe(tmp_path: Path) -> None:
    env = {**os.environ, "SQL_URL": f"sqlite:///{tmp_path / 'ops.db'}", "SFTP_URL": f"file://{tmp_path / 'x'}",
           "JWT_SIGNING_KEY": "k" * 40, "LENDING_WEBHOOK_KEY": "w" * 40}  # fmt: skip
    assert run(env, "migrate").returncode == 0
    empty = run(env, "webhooks", "--state", "FAILED")
    assert (empty.returncode, empty.stdout.strip()) == (0, "no webhook events in state FAILED")
    read, write = os.pipe()
    os.close(read)  # as `| head` does once it has its lines: every write now fails with EPIPE
    piped = subprocess.run([sys.executable, "manage.py", "functions"], cwd=ROOT, env=env, stdout=write,
                           stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
    os.close(write)
    assert piped.returncode == 0 and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr


def test_what_happened_listings(tmp_path: Path) -> None:
    """companies, debt-files, payments [--pending], purchases: what a new operator asks first."""
    import shutil

    from tests.integration.test_debt_golden import DATA

    env = {**os.environ, "SQL_URL": f"sqlite:///{tmp_path / 'ops.db'}", "SFTP_URL": f"file://{tmp_path / 'x'}",
           "JWT_SIGNING_KEY": "k" * 40}  # fmt: skip
    assert run(env, "migrate").returncode == 0
    assert run(env, "companies").stdout.strip() == "no companies (python manage.py create-company ...)"
    assert run(env, "debt-files").stdout.strip() == "no debt files loaded"
    assert run(env, "seed-demo").returncode == 0
    (source,) = (DATA / "valid_r").glob("*.TXT")
    shutil.copy(source, tmp_path / "x" / "00730" / "Deudas" / "Pending" / source.name)
    assert run(env, "load-debts").returncode == 0
    companies = run(env, "companies").stdout
    assert "00730" in companies and "debts=4" in companies and "001:completa:PEN" in companies
    files = run(env, "debt-files", "--company", "730", "--since", "2026-01-01").stdout
    assert source.name in files and "PROCESADO" in files and "applied=4" in files and "PEN 151.00" in files
    assert run(env, "debt-files", "--since", "2999-01-01").stdout.strip() == "no debt files loaded since then"
    bad = run(env, "debt-files", "--since", "2026-01-01T00:00:00")
    assert bad.returncode != 0 and "needs a time zone" in bad.stderr
    assert run(env, "payments", "--pending").stdout.strip() == "no records waiting for a payment file"
    assert run(env, "payments").stdout.strip() == "no payment files"
    from datetime import UTC, datetime

    from domain.yapago import ConsultaRequest, PagoRequest
    from sql.engine import create_engine
    from usecases.yapago import SetupCache, consulta, pago

    engine = create_engine(env["SQL_URL"])
    asked = consulta(engine, SetupCache(engine), ConsultaRequest.model_validate(
        {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}))
    debt = next(d for d in asked.body["deudas"] if d["servicio"] == "001")
    body = {"fechaTxn": "22112026", "horaTxn": "100000", "idCanal": "10", "idForma": "01", "numeroOperacion": "CLI1",
            "idConsulta": "4785124", "servicio": "001", "numeroDocumento": debt["documento"],
            "importePagado": debt["deuda"], "moneda": "1", "idEmpresa": "730", "idBanco": "1020"}  # fmt: skip
    now = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    assert pago(engine, SetupCache(engine), PagoRequest.model_validate(body), lambda: now).body["codResp"] == "00"
    engine.dispose()
    assert run(env, "payments", "--pending").stdout.strip() == "00730 1 records in no payment file yet"
    assert run(env, "payments", "--pending", "--company", "730").stdout.strip() == "00730 1 records in no payment file yet"
    assert (run(env, "payments", "--pending", "--company", "731").stdout.strip()
            == "no records waiting for a payment file of 00731")  # fmt: skip
    assert run(env, "purchases", "--state", "FAILED").stdout.strip() == "no purchases in state FAILED"


def test_secrets_come_from_stdin_or_the_environment_and_clients_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret never needs argv: `--secret -` (or none) reads standard input, `env:NAME` the
    environment; a literal still works, with a warning. `clients` never prints a secret or hash."""
    env = {**os.environ, "SQL_URL": f"sqlite:///{tmp_path / 'c.db'}", "SFTP_URL": f"file://{tmp_path / 'x'}",
           "JWT_SIGNING_KEY": "k" * 40, "LOG_STORAGE_CONNECTION": "", "OPS_SECRET": "from-the-environment-1"}  # fmt: skip
    assert run(env, "migrate").returncode == 0

    def create(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "manage.py", "create-client", *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    piped = create("--id", "ops-ana", "--scopes", "operator", stdin="from-standard-input-1\n")
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    dashed = create("--id", "bank-1020", "--secret", "-", "--scopes", "yapago", "--banks", "1020",
                    stdin="from-standard-input-2\n")  # fmt: skip
    assert dashed.returncode == 0 and dashed.stderr == ""
    from_env = create("--id", "kof-app", "--secret", "env:OPS_SECRET", "--scopes", "merchant", "--channels", "KOF")
    assert from_env.returncode == 0 and from_env.stderr == ""
    missing = create("--id", "x-app", "--secret", "env:NOT_SET_ANYWHERE", "--scopes", "yapago")
    assert missing.returncode == 2 and "NOT_SET_ANYWHERE is not set" in missing.stderr
    literal = create("--id", "lit-app", "--secret", "literal-secret-123", "--scopes", "yapago")
    assert literal.returncode == 0 and "shell's history" in literal.stderr

    import bootstrap  # the secrets are the ones given: each client gets its token
    from tests.e2e.calls import call, json_of

    for key in ("SQL_URL", "SFTP_URL", "JWT_SIGNING_KEY"):
        monkeypatch.setenv(key, env[key])
    bootstrap.reset()
    for client_id, secret in (("ops-ana", "from-standard-input-1"), ("bank-1020", "from-standard-input-2"),
                              ("kof-app", "from-the-environment-1")):  # fmt: skip
        answer = call("auth_token", "POST", headers={"client_id": client_id, "client_secret": secret})
        assert answer.status_code == 200, (client_id, json_of(answer))
    monkeypatch.undo()
    bootstrap.reset()

    listed = run(env, "clients")
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        "bank-1020                active   scopes yapago  banks 1020",
        "kof-app                  active   scopes merchant  channels KOF",
        "lit-app                  active   scopes yapago",
        "ops-ana                  active   scopes operator",
    ]
    assert run(env, "disable-client", "--id", "kof-app").returncode == 0
    shown = run(env, "clients", "kof-app")
    assert "state       DISABLED" in shown.stdout and "credentials version 2" in shown.stdout
    assert "argon" not in shown.stdout.lower() and "from-the-environment" not in shown.stdout
    assert run(env, "clients", "ghost").returncode == 2
