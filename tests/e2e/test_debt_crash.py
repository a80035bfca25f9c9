"""Exactly once across kill -9: crash the loader at every step, run it again, compare with a clean run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.files.port import FileStore
from tests.conftest import ROOT, Sshd, temporary_database
from tests.integration.test_debt_golden import golden_engine
from tests.testdata.debts.build_inputs import detail, header
from usecases.load_debts import load_debts

NOW = datetime(2026, 11, 22, 13, 30, 5, tzinfo=UTC)
NAME = "D0073022112026001.TXT"
STEPS = [
    ("header", 1),
    ("batch", 1),
    ("batch", 2),
    ("before_commit", 1),
    ("committed", 1),
    ("results_written", 1),
    ("moved", 1),
]


def big_file(lines: int = 25_000) -> bytes:
    body = []
    for i in range(lines):
        client = f"C{i // 3:08d}"
        doc = f"F{i % 3:03d}"
        body.append(detail(codigo_cliente=client, num_documento=doc, deuda=1000 + i, mora=0, pago_minimo=1000 + i))
    body.append(detail(codigo_cliente="C00000000", num_documento="F000"))  # one bad line (repeated, later)
    return b"".join(line + b"\r\n" for line in [header(body), *body])


def snapshot(url: str, store_root: Path) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        debts = conn.execute(
            sa.text("SELECT client_code, document, amount_cents, line_no FROM debts ORDER BY client_code, document")
        ).all()
        files = conn.execute(sa.text("SELECT file_name, status, lines, applied, rejected FROM debt_files")).all()
        errors = conn.execute(sa.text("SELECT line_no, field, reason FROM debt_file_errors ORDER BY seq")).all()
    engine.dispose()
    tree = {
        str(p.relative_to(store_root)): p.read_bytes()
        for p in sorted(store_root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
    return {"debts": debts, "files": files, "errors": errors, "tree": tree}


@pytest.fixture(scope="module")
def content() -> bytes:
    return big_file()


def env_for(url: str, sftp_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ, "SQL_URL": url, "SFTP_URL": sftp_url, "JWT_SIGNING_KEY": "k" * 40,
        "FIXED_NOW": NOW.isoformat(), **(extra or {}),
    }  # fmt: skip


def run_crash(env: dict[str, str], step: str, count: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.e2e.crash_loader"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**env, "CRASH_AT": step, "CRASH_COUNT": str(count)},
    )  # fmt: skip


def rerun(url: str, store: FileStore) -> None:
    engine = bootstrap_engine(url)
    load_debts(engine, store, lambda: NOW)
    engine.dispose()


def bootstrap_engine(url: str):  # type: ignore[no-untyped-def]
    from sql.engine import create_engine

    return create_engine(url)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> dict:
    from adapters.files.local import LocalFileStore

    work = tmp_path_factory.mktemp("clean")
    url = f"sqlite:///{work / 'db.sqlite'}"
    golden_engine(url).dispose()
    store = LocalFileStore(work / "x")
    store.write_atomic(f"00730/Deudas/Pending/{NAME}", content)
    rerun(url, store)
    return snapshot(url, work / "x")


def survivors(token: str) -> list[int]:
    """Processes still running with `token` in their environment (a line worker left behind)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if token.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("worker", ["off", "on"])
@pytest.mark.parametrize(("step", "count"), STEPS, ids=[f"{s}-{c}" for s, c in STEPS])
def test_kill_at_each_step_then_rerun_equals_clean_run(
    step: str, count: int, worker: str, tmp_path: Path, content: bytes, clean_run: dict
) -> None:
    """`worker`: the lines judged in a second process (usecases/line_worker.py); killing the
    loader takes it along (its input closes), and the outcome is the same."""
    import uuid

    from adapters.files.local import LocalFileStore

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    golden_engine(url).dispose()
    store = LocalFileStore(tmp_path / "x")
    store.write_atomic(f"00730/Deudas/Pending/{NAME}", content)

    token = f"CRASH_RUN_{uuid.uuid4().hex}"
    crashed = run_crash(env_for(url, f"file://{tmp_path / 'x'}", {"DEBT_LOAD_WORKER": worker, token: "1"}), step,
                        count)  # fmt: skip
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    for _ in range(50):
        if not survivors(token):
            break
        time.sleep(0.1)
    assert survivors(token) == [], "the line worker outlived the loader"
    state = snapshot(url, tmp_path / "x")
    if step in ("header", "batch", "before_commit"):
        assert state["debts"] == [] and state["files"] == [], "nothing may be visible before the commit"
        assert f"00730/Deudas/Pending/{NAME}" in state["tree"]
    else:
        assert state["debts"] == clean_run["debts"], "committed work is complete"

    rerun(url, store)
    assert snapshot(url, tmp_path / "x") == clean_run
    rerun(url, store)  # and a third run changes nothing
    assert snapshot(url, tmp_path / "x") == clean_run


@pytest.mark.parametrize("step", ["batch", "committed", "results_written"])
def test_kill_then_rerun_over_real_sftp_and_postgres(
    step: str, sshd: Sshd, pg_url: str, content: bytes, clean_run: dict
) -> None:
    """The same discipline through sshd and PostgreSQL."""
    import uuid

    from adapters.files.sftp import SftpFileStore, SftpOptions
    from sql.engine import create_engine
    from sql.migrate import upgrade

    with temporary_database(pg_url) as url:
        upgrade(url)
        golden_engine(url).dispose()
        root = sshd.root / uuid.uuid4().hex
        root.mkdir()
        sftp_url = f"{sshd.url}/{root.name}"
        store = SftpFileStore(sftp_url, SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key))
        store.write_atomic(f"00730/Deudas/Pending/{NAME}", content)
        env = env_for(
            url, sftp_url, {"SFTP_KNOWN_HOSTS": str(sshd.known_hosts), "SFTP_PRIVATE_KEY_PATH": str(sshd.user_key)}
        )
        crashed = run_crash(env, step, 1)
        assert crashed.returncode == -9, crashed.stdout + crashed.stderr
        engine = create_engine(url)
        load_debts(engine, store, lambda: NOW)
        engine.dispose()
        store.close()
        assert snapshot(url, root) == clean_run
