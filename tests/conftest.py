"""Real parts for the tests: Azurite, OpenSSH sshd, PostgreSQL and SQLite, started per session."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import bootstrap
from settings import AZURITE_CONNECTION

ROOT = Path(__file__).resolve().parents[1]
SIGNING_KEY = "test-signing-key-" + "x" * 40
AZURITE_KEY = AZURITE_CONNECTION.split("AccountKey=")[1].split(";")[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open in {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()


def azurite_connection(blob: int, queue: int, table: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;"
        f"TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;"
    )


def start_azurite(blob: int, queue: int, table: int) -> subprocess.Popen:
    """Azurite in memory on these ports, listening when this returns."""
    binary = ROOT / "node_modules" / ".bin" / "azurite"
    if not binary.exists():
        pytest.fail("node_modules/.bin/azurite is missing: run `npm install` (make test does)")
    proc = subprocess.Popen(
        [str(binary), "--inMemoryPersistence", "--silent", "--skipApiVersionCheck", "--loose",
         "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--queueHost", "127.0.0.1", "--queuePort", str(queue),
         "--tableHost", "127.0.0.1", "--tablePort", str(table),
         *(["--debug", os.environ["AZURITE_DEBUG_LOG"]] if os.environ.get("AZURITE_DEBUG_LOG") else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for port in (blob, table):
            wait_port(port, 30, proc)
    except RuntimeError:
        stop(proc)
        raise
    return proc


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """Azurite in memory on free ports; yields its connection string."""
    blob, queue, table = free_port(), free_port(), free_port()
    proc = start_azurite(blob, queue, table)
    try:
        yield azurite_connection(blob, queue, table)
    finally:
        stop(proc)


@dataclass(frozen=True)
class Sshd:
    url: str
    port: int
    root: Path
    known_hosts: Path
    fingerprint: str
    user_key: Path
    directory: Path


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH sshd on a loopback port, key login only, with its own host key."""
    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(binary).exists():
        pytest.fail("sshd is missing: install openssh-server (.ci/run does)")
    work = tmp_path_factory.mktemp("sshd")
    host_key, user_key = work / "host_ed25519", work / "user_ed25519"
    _keygen(host_key)
    _keygen(user_key)
    authorized = work / "authorized_keys"
    authorized.write_text((work / "user_ed25519.pub").read_text())
    authorized.chmod(0o600)
    root = work / "exchange"
    root.mkdir()
    port = free_port()
    config = work / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {work / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\nStrictModes no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "UsePAM no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 20, proc)
        public = (work / "host_ed25519.pub").read_text().split()
        known_hosts = work / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
        printed = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(work / "host_ed25519.pub")],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        fingerprint = printed.split()[1]
        url = f"sftp://{getpass.getuser()}@127.0.0.1:{port}{root}"
        yield Sshd(url, port, root, known_hosts, fingerprint, user_key, work)
    finally:
        stop(proc)


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """An ASGI app (a fake receiver) on a free loopback port in this process; its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def sftp_exchange(sshd: Sshd) -> tuple[Any, Path]:
    """A fresh folder behind the real sshd: its SftpFileStore, and the same folder on disk."""
    from adapters.files.sftp import SftpFileStore, SftpOptions

    folder = sshd.root / uuid.uuid4().hex
    folder.mkdir()
    options = SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key)
    return SftpFileStore(f"{sshd.url}/{folder.name}", options), folder


@contextmanager
def temporary_database(base: str) -> Iterator[str]:
    """A new PostgreSQL database next to `base`, dropped (even if in use) on exit."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, dropped at the end."""
    base = os.environ.get("TEST_PG_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("TEST_PG_URL must be set in CI")
        pytest.skip("TEST_PG_URL is not set")
    with temporary_database(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def module_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """A migrated database on each backend shared by a module's tests (each uses companies of its
    own), its engine and a work folder beside it."""
    from sql.engine import create_engine
    from sql.migrate import upgrade

    work = tmp_path_factory.mktemp("db")
    with nullcontext(f"sqlite:///{work / 'db.sqlite'}") if request.param == "sqlite" else temporary_database(
        request.getfixturevalue("pg_url")
    ) as url:
        upgrade(url)
        engine = create_engine(url)
        yield engine, work
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend (PostgreSQL: a fresh schema-less database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with temporary_database(request.getfixturevalue("pg_url")) as url:
        yield url


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, azurite: str) -> Iterator[Path]:
    """Settings for calling the function app in-process: SQLite, file:// exchange, Azurite logs."""
    from sql.migrate import upgrade

    db = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SQL_URL", db)
    monkeypatch.setenv("SFTP_URL", f"file://{tmp_path / 'exchange'}")
    monkeypatch.setenv("LOG_STORAGE_CONNECTION", azurite)
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    monkeypatch.setenv("JWT_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("DEBT_QUEUE", f"debt-{uuid.uuid4().hex[:12]}")  # Azurite is the session's: queues per test
    monkeypatch.setenv("PAYMENT_QUEUE", f"payment-{uuid.uuid4().hex[:12]}")
    bootstrap.reset()
    upgrade(db)
    yield tmp_path
    bootstrap.reset()


MAMBU_KEY = "test-mambu-key"


@pytest.fixture(autouse=True)
def _mambu_as_seeded(request: pytest.FixtureRequest) -> Iterator[None]:
    """The session's fake Mambu is shared, and purchases book drawdowns on it: after a test that
    used it, its demo customers are as seeded again, whatever order the tests run in."""
    yield
    if "mambu" not in request.fixturenames:
        return
    import json

    import httpx

    url = request.getfixturevalue("mambu")
    seed = json.loads((ROOT / "data" / "mambu-demo.json").read_text())["customers"]
    for customer_id, data in seed.items():
        httpx.put(f"{url}/_fake/customers/{customer_id}", json=data, timeout=10)


@pytest.fixture(scope="session")
def mambu() -> Iterator[str]:
    """The local fake Mambu (fakes/mambu.py) on a free port, seeded with data/mambu-demo.json."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fakes.mambu", "--port", str(port), "--api-key", MAMBU_KEY],
                            cwd=ROOT)  # fmt: skip
    wait_port(port, 30, proc)
    yield f"http://127.0.0.1:{port}"
    stop(proc)
