"""No file can stop the debt loader (issue 13): one bad byte costs one line; names that are not
UTF-8, links, folders and FIFOs are set aside with a reason and the other files and companies
go on; a line without end is one line error, read in linear time with bounded memory. Over a
local folder and a real sshd; SQLite and PostgreSQL where SQL is involved."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.files.local import LocalFileStore
from adapters.files.port import FileStore
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.uow import UnitOfWork
from tests.conftest import sftp_exchange
from tests.integration.test_debt_golden import DATA
from usecases import load_debts as loader
from usecases.companies import create_company, seed_demo
from usecases.load_debts import load_debts

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
VALID = next((DATA / "valid_r").glob("*.TXT"))


@pytest.fixture(params=["local", "sftp"])
def exchange(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FileStore, Path]]:
    if request.param == "local":
        yield LocalFileStore(tmp_path / "x"), tmp_path / "x"
        return
    store, folder = sftp_exchange(request.getfixturevalue("sshd"))
    yield store, folder
    store.close()


def world(url: str) -> Any:
    upgrade(url)
    engine = create_engine(url)
    seed_demo(lambda: UnitOfWork(engine), NOW)
    create_company(lambda: UnitOfWork(engine), "731", "AGUA SA", ["001:completa:PEN"], ["001:1020:191-0731001-0-01"], NOW)
    return engine


def pending(root: Path, company: str = "00730") -> Path:
    folder = root / company / "Deudas" / "Pending"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def valid_for(company: int) -> tuple[str, bytes]:
    """The golden R file, renamed and re-headed for `company` (same details)."""
    data = VALID.read_bytes()
    name = VALID.name.replace("00730", f"{company:05d}")
    header, rest = data.split(b"\r\n", 1)
    header = header.replace(VALID.name.encode(), name.encode()).replace(b"0000730", f"{company:07d}".encode())
    return name, header + b"\r\n" + rest


def debts(engine: Any, company: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM debts WHERE company_code = :c"), {"c": company}).scalar()


def test_a_utf8_letter_costs_its_line_only(empty_db_url: str, tmp_path: Path) -> None:
    engine = world(empty_db_url)
    data = VALID.read_bytes().replace(b"JUAN PEREZ    ", "JUAN PEÑA     ".encode(), 1)
    assert len(data) == len(VALID.read_bytes()) + 1, "one character, two bytes"
    (pending(tmp_path / "x") / VALID.name).write_bytes(data)
    (result,) = load_debts(engine, LocalFileStore(tmp_path / "x"), lambda: NOW)
    assert (result.outcome, result.lines, result.rejected) == ("PROCESADO", result.lines, 1)
    err = (tmp_path / "x" / "00730" / "Deudas" / "Complete" / (VALID.name + ".ERR")).read_bytes().decode("latin-1")
    assert "000000002|registro,nombre_cliente|" in err and "UTF-8 no ASCII" in err
    assert debts(engine, 730) == result.lines - 1


def test_an_unreadable_amount_is_named_by_the_header_check(empty_db_url: str, tmp_path: Path) -> None:
    engine = world(empty_db_url)
    lines = VALID.read_bytes().split(b"\r\n")
    lines[2] = b"\xff" * 150  # neither 210 bytes nor 210 characters
    (pending(tmp_path / "x") / VALID.name).write_bytes(b"\r\n".join(lines))
    (result,) = load_debts(engine, LocalFileStore(tmp_path / "x"), lambda: NOW)
    assert result.outcome == "RECHAZADO"
    err = (tmp_path / "x" / "00730" / "Deudas" / "Complete" / (VALID.name + ".ERR")).read_bytes().decode("latin-1")
    assert "sin contar 1 linea(s) de importe ilegible: 3" in err


def test_strays_are_set_aside_and_the_rest_goes_on(exchange: tuple[FileStore, Path], tmp_path: Path) -> None:
    store, root = exchange
    engine = world(f"sqlite:///{tmp_path / 'db.sqlite'}")
    first = pending(root)
    os.mkfifo(first / "D0073022112026007.TXT")  # opening it would block for ever
    os.symlink("/etc/passwd", first / "D0073022112026008.TXT")
    (first / "D0073022112026009.TXT").mkdir()
    (first / "D0073022112026009.TXT" / "inside").write_bytes(b"x")
    (first / os.fsdecode(b"D00730\xd1\xe9.TXT")).write_bytes(b"latin-1 name")
    name, data = valid_for(731)
    (pending(root, "00731") / name).write_bytes(data)
    results = load_debts(engine, store, lambda: NOW)
    outcomes = sorted((r.company, r.outcome, r.file_name) for r in results)
    assert outcomes == sorted([
        (730, "APARTADO", "D0073022112026007.TXT"), (730, "APARTADO", "D0073022112026008.TXT"),
        (730, "APARTADO", "D0073022112026009.TXT"), (730, "APARTADO", "D00730%D1%E9.TXT"),
        (731, "PROCESADO", name),
    ]), outcomes  # fmt: skip
    assert debts(engine, 731) > 0, "the next company went on"
    assert not list(first.iterdir()), "nothing left to trip the next run"
    rejected = root / "00730" / "Deudas" / "Rejected"
    reasons = {p.name.split(".TXT")[0]: p.read_text() for p in rejected.iterdir() if p.name.endswith(".ERR")}
    assert "archivo especial" in reasons["D0073022112026007"] and "enlace simbolico" in reasons["D0073022112026008"]
    assert "carpeta" in reasons["D0073022112026009"] and "ASCII" in reasons["D00730%D1%E9"]
    assert Path("/etc/passwd").exists(), "a link is moved, never followed"
    assert load_debts(engine, store, lambda: NOW) == [], "reported once"


def test_a_failing_file_does_not_stop_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = world(f"sqlite:///{tmp_path / 'db.sqlite'}")
    (pending(tmp_path / "x") / VALID.name).write_bytes(VALID.read_bytes())
    name, data = valid_for(731)
    (pending(tmp_path / "x", "00731") / name).write_bytes(data)
    real = loader.load_file

    def flaky(engine: Any, store: Any, clock: Any, company: int, *args: Any, **kwargs: Any) -> Any:
        if company == 730:
            raise OSError("connection reset while reading")
        return real(engine, store, clock, company, *args, **kwargs)

    monkeypatch.setattr(loader, "load_file", flaky)
    results = load_debts(engine, LocalFileStore(tmp_path / "x"), lambda: NOW)
    assert [(r.company, r.outcome) for r in results] == [(730, "FALLIDO"), (731, "PROCESADO")]
    assert "connection reset" in (results[0].detail or "")
    monkeypatch.setattr(loader, "load_file", real)
    assert [(r.company, r.outcome) for r in load_debts(engine, LocalFileStore(tmp_path / "x"), lambda: NOW)] == [
        (730, "PROCESADO")
    ], "tried again on the next run"


class Endless(io.RawIOBase):
    """`size` bytes of one letter without a line break, made as they are read (no memory of its own)."""

    def __init__(self, size: int, head: bytes = b"") -> None:
        self.left, self.head = size, head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        n = min(len(buffer), self.left)
        buffer[:n] = b"X" * n
        self.left -= n
        return n


@pytest.mark.parametrize("megabytes", [8, 64])
def test_a_line_without_end_is_linear_and_bounded(megabytes: int) -> None:
    size = megabytes << 20
    reader = loader._Reader(io.BufferedReader(Endless(size, b"HEADER\r\n"), loader.CHUNK_BYTES), "x", size, None)
    tracemalloc.start()
    started = time.perf_counter()
    blocks = list(reader.blocks())
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert blocks[0] == (1, [b"HEADER"])
    (number, (line,)) = blocks[1]
    assert number == 2 and isinstance(line, loader._Overlong) and line.length == size
    assert len(line) == loader.MAX_LINE_BYTES
    assert peak < 8 << 20, f"peak {peak} bytes"
    assert elapsed < 0.1 * megabytes + 1, f"{elapsed:.2f}s"


def test_a_line_without_end_in_a_file_is_one_line_error(empty_db_url: str, tmp_path: Path) -> None:
    engine = world(empty_db_url)
    lines = VALID.read_bytes().split(b"\r\n")
    lines.insert(3, b"Z" * (3 << 20))  # 3 MB: past a chunk, and past the line bound
    (pending(tmp_path / "x") / VALID.name).write_bytes(b"\r\n".join(lines))
    (result,) = load_debts(engine, LocalFileStore(tmp_path / "x"), lambda: NOW)
    err = (tmp_path / "x" / "00730" / "Deudas" / "Complete" / (VALID.name + ".ERR")).read_bytes()
    assert f"longitud {3 << 20} sin salto de linea".encode() in err
    assert "000000004|registro" in err.decode("latin-1") and result.outcome == "RECHAZADO"  # the count is off by one
    assert len(err) < 200_000, "the error keeps the start of the line, not all of it"


def test_temporary_files_never_sit_in_a_company_folder(exchange: tuple[FileStore, Path]) -> None:
    store, root = exchange
    seen: list[list[str]] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * 1000
            folder = root / "00730" / "Pagos"
            seen.append(sorted(p.name for p in folder.iterdir()) if folder.exists() else [])

    store.write_atomic("00730/Pagos/P0073022112026001.TXT", chunks())
    assert all(names == [] for names in seen), seen
    assert sorted(p.name for p in (root / "00730" / "Pagos").iterdir()) == ["P0073022112026001.TXT"]
    stale = root / ".tmp" / ".P0073022112026002.TXT.tmp-dead"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = root / ".tmp" / ".P0073022112026003.TXT.tmp-live"
    fresh.write_bytes(b"in progress")
    assert store.sweep_temp(datetime.now(UTC).replace(microsecond=0) - loader.STALE_TEMP) == 1
    assert not stale.exists() and fresh.exists()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    work = tmp_path_factory.mktemp("hostile")
    return world(f"sqlite:///{work / 'db.sqlite'}"), work / "x"


NAMES = st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, at=st.integers(0, 10_000), junk=st.binary(max_size=300), cut=st.integers(0, 40))
def test_any_name_and_bytes_end_in_complete_or_rejected(shared: tuple[Any, Path], name: bytes, at: int,
                                                        junk: bytes, cut: int) -> None:  # fmt: skip
    """Whatever the name and whatever bytes land in the file, the run ends, nothing fails, and
    Pending/ is left empty: every file was loaded, rejected or set aside, with its reason."""
    engine, root = shared
    folder = pending(root)
    data = VALID.read_bytes()
    start = 212 + at % (len(data) - 212)  # somewhere in the details
    mutated = data[:start] + junk + data[start + cut :]
    os_name = os.fsdecode(name + b".TXT")
    if os_name.startswith(".") and ".tmp-" in os_name:
        return  # the store's own temporary names are never listed
    (folder / os_name).write_bytes(mutated)
    results = load_debts(engine, LocalFileStore(root), lambda: NOW, company=730)
    assert results and all(r.outcome != "FALLIDO" for r in results), results
    assert not list(folder.iterdir())
