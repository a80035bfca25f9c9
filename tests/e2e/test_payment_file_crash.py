"""kill -9 the payment-file generator at every step, run again: the same files, each record once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT, Sshd, temporary_database
from tests.integration.test_payment_files import HELD, at, scenario, world
from usecases.payment_files import generate_payment_files

STEPS = ["reserved", "writing", "uploaded", "marked"]


def state(url: str, root: Path) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        files = conn.execute(sa.text("SELECT file_name, records, total_pen, total_usd FROM payment_files")).all()
        held = conn.execute(HELD).all()
    engine.dispose()
    pagos = root / "00730" / "Pagos"
    tree = (
        {p.name: p.read_bytes() for p in sorted(pagos.iterdir())}  # a half-written file would show here
        if pagos.exists()
        else {}
    )
    return {"files": files, "items": held, "tree": tree}


def crash(url: str, sftp_url: str, step: str, extra: dict[str, str] | None = None) -> None:
    env = {**os.environ, "SQL_URL": url, "SFTP_URL": sftp_url, "JWT_SIGNING_KEY": "k" * 40,
           "FIXED_NOW": at(12)().isoformat(), "CRASH_AT": step, **(extra or {})}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "tests.e2e.crash_generator"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == -9, done.stdout + done.stderr


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("clean-payments")
    url = f"sqlite:///{work / 'db.sqlite'}"
    engine, store = world(url, work / "x")
    scenario(engine)
    generate_payment_files(engine, store, at(12))
    engine.dispose()
    return state(url, work / "x")


@pytest.mark.parametrize("step", STEPS)
def test_kill_then_rerun_equals_clean(step: str, tmp_path: Path, clean: dict) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine, store = world(url, tmp_path / "x")
    scenario(engine)
    crash(url, f"file://{tmp_path / 'x'}", step)
    middle = state(url, tmp_path / "x")
    assert middle["items"] == clean["items"], "the reservation committed before the crash"
    if step == "reserved":
        assert middle["tree"] == {}, "killed before the upload"
    if step == "writing":
        assert middle["tree"] == {}, "half written: nothing in the company's folder"
        assert [p.name for p in (tmp_path / "x" / ".tmp").iterdir()], "the half-written file is outside it"
    for _ in range(2):
        generate_payment_files(engine, store, at(13))
        assert state(url, tmp_path / "x") == clean
    engine.dispose()


@pytest.mark.parametrize("step", ["reserved", "writing", "uploaded"])
def test_kill_then_rerun_over_sshd_and_postgres(step: str, sshd: Sshd, pg_url: str, clean: dict) -> None:
    from adapters.files.sftp import SftpFileStore, SftpOptions

    root = sshd.root / uuid.uuid4().hex
    root.mkdir()
    with temporary_database(pg_url) as url:
        engine, _ = world(url, root)
        scenario(engine)
        sftp_url = f"{sshd.url}/{root.name}"
        crash(
            url,
            sftp_url,
            step,
            {"SFTP_KNOWN_HOSTS": str(sshd.known_hosts), "SFTP_PRIVATE_KEY_PATH": str(sshd.user_key)},
        )
        if step == "writing":
            assert not (root / "00730" / "Pagos").exists() or not list((root / "00730" / "Pagos").iterdir())
        store = SftpFileStore(sftp_url, SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key))
        generate_payment_files(engine, store, at(13))
        store.close()
        engine.dispose()
        after = state(url, root)
    assert after["tree"] == clean["tree"] and after["files"] == clean["files"]
    assert [(k, n) for _, k, n in after["items"]] == [(k, n) for _, k, n in clean["items"]]
