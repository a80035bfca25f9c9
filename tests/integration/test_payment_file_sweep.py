"""The sweep of Pagos/ (issue 29): a payment file the biller took (moved or deleted) is recorded as
taken when first seen gone, never earlier; nothing else is. On file://, sshd SFTP and Azurite blob,
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.blob import BlobFileStore
from adapters.files.local import LocalFileStore
from adapters.files.port import FileStore
from adapters.files.sftp import SftpFileStore, SftpOptions
from sql.engine import create_engine, stored_utc
from sql.migrate import upgrade
from sql.tables import payment_files
from sql.uow import UnitOfWork
from tests.conftest import Sshd
from tests.integration.test_debt_golden import DATA
from tests.integration.test_payment_files import pay
from usecases.companies import create_company, seed_demo
from usecases.load_debts import load_debts
from usecases.payment_files import generate_payment_files, sweep_taken

DAY = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)  # 10:00 in Lima, as test_payment_files' `pay`


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


@pytest.fixture(params=["file", "sftp", "blob"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStore]:
    if request.param == "file":
        yield LocalFileStore(tmp_path / "exchange")
    elif request.param == "sftp":
        sshd: Sshd = request.getfixturevalue("sshd")
        sub = sshd.root / uuid.uuid4().hex
        sub.mkdir()
        sftp = SftpFileStore(f"{sshd.url}/{sub.name}",
                             SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key, timeout=5.0))  # fmt: skip
        yield sftp
        sftp.close()
    else:
        blob = BlobFileStore(f"blob://exchange/{uuid.uuid4().hex}", request.getfixturevalue("azurite"))
        blob.ensure_container()
        yield blob


def world(url: str, store: FileStore) -> Engine:
    """Company 730 with the golden R file loaded, and two payment files in its Pagos/."""
    upgrade(url)
    engine = create_engine(url)
    seed_demo(lambda: UnitOfWork(engine), DAY)
    (source,) = (DATA / "valid_r").glob("*.TXT")
    store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    load_debts(engine, store, lambda: DAY)
    pay(engine, "SW1", "10.00", 0)
    generate_payment_files(engine, store, lambda: at(1))
    pay(engine, "SW2", "10.00", 1)
    generate_payment_files(engine, store, lambda: at(2))
    return engine


def taken(engine: Engine) -> dict[str, datetime | None]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(payment_files.c.file_name, payment_files.c.taken_at))
        return {r.file_name: stored_utc(r.taken_at) if r.taken_at else None for r in rows}


def test_moved_or_deleted_files_are_taken_when_first_seen_gone(empty_db_url: str, store: FileStore) -> None:
    engine = world(empty_db_url, store)
    first, second = "P0073022112026001.TXT", "P0073022112026002.TXT"
    (looked,) = sweep_taken(engine, store, lambda: at(3))
    assert (looked.company, looked.taken, looked.waiting, looked.problem) == (730, (), 2, None)
    assert taken(engine) == {first: None, second: None}
    store.move(f"00730/Pagos/{first}", f"00730/Pagos/aplicados/{first}")  # moved to a folder of its own
    (looked,) = sweep_taken(engine, store, lambda: at(4))
    assert (looked.taken, looked.waiting) == ((first,), 1)
    assert taken(engine) == {first: at(4), second: None}
    store.delete(f"00730/Pagos/{second}")
    (looked,) = sweep_taken(engine, store, lambda: at(5))
    assert looked.taken == (second,)
    assert taken(engine) == {first: at(4), second: at(5)}, "a file once seen gone keeps that first time"
    assert sweep_taken(engine, store, lambda: at(6)) == [], "nothing waiting: no folder is listed"
    store.write_atomic(f"00730/Pagos/{first}", b"back")  # put back: it was taken, and stays so
    assert sweep_taken(engine, store, lambda: at(7)) == [] and taken(engine)[first] == at(4)
    engine.dispose()


class Listing:
    """A store whose listing of Pagos/ runs `during` first (what happens meanwhile) or fails."""

    def __init__(self, store: FileStore, during: Any = None, fail: str | None = None) -> None:
        self.store, self.during, self.fail = store, during, fail
        self.url = store.url

    def list(self, folder: str, everything: bool = False) -> list[Any]:
        if self.fail and folder.startswith(self.fail):
            raise OSError("connection reset")
        if self.during is not None and folder.endswith("/Pagos"):
            self.during()
        return self.store.list(folder, everything)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_file_written_while_the_folder_is_listed_is_not_taken(tmp_path: Path) -> None:
    """Candidates are read before the listing: a file written and marked uploaded meanwhile is not
    in it and must not be taken for gone."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = LocalFileStore(tmp_path / "x")
    engine = world(url, store)
    pay(engine, "SW3", "10.00", 2)

    def meanwhile() -> None:
        store.delete("00730/Pagos/P0073022112026001.TXT")
        generate_payment_files(engine, store, lambda: at(2.5))  # P...003 written and marked uploaded

    (looked,) = sweep_taken(engine, Listing(store, meanwhile), lambda: at(3))  # type: ignore[arg-type]
    assert looked.taken == ("P0073022112026001.TXT",) and looked.waiting == 1
    assert taken(engine) == {"P0073022112026001.TXT": at(3), "P0073022112026002.TXT": None,
                             "P0073022112026003.TXT": None}  # fmt: skip
    engine.dispose()


def test_a_listing_that_fails_or_an_exchange_not_there_marks_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = LocalFileStore(tmp_path / "x")
    engine = world(url, store)
    create_company(lambda: UnitOfWork(engine), "731", "AGUA", ["001:completa"], ["001:1020:191-0731001-0-01"], DAY)
    with engine.begin() as conn:  # a file of company 731, already on the exchange
        conn.execute(sa.insert(payment_files).values(
            company_code=731, file_name="P0073122112026001.TXT", file_date=DAY.date(), seq=1, records=0,
            total_pen=0, total_usd=0, created_at=at(1), uploaded_at=at(1), after_record_id=0, last_record_id=0))  # fmt: skip
    store.write_atomic("00731/Pagos/P0073122112026001.TXT", b"")
    store.delete("00730/Pagos/P0073022112026001.TXT")
    failing, fine = sweep_taken(engine, Listing(store, fail="00730"), lambda: at(3))  # type: ignore[arg-type]
    assert (failing.company, failing.taken) == (730, ()) and "connection reset" in (failing.problem or "")
    assert (fine.company, fine.taken, fine.waiting, fine.problem) == (731, (), 1, None), "731 is still looked at"
    assert set(taken(engine).values()) == {None}
    # a root where no company folder is (a wrong SFTP_URL, a container not mounted): every file
    # would look gone; nothing is marked
    results = sweep_taken(engine, LocalFileStore(tmp_path / "elsewhere"), lambda: at(4))
    assert [(r.company, r.taken) for r in results] == [(730, ()), (731, ())]
    assert all("is not on the exchange" in (r.problem or "") for r in results)
    assert set(taken(engine).values()) == {None}
    (looked, _) = sweep_taken(engine, store, lambda: at(5))
    assert looked.taken == ("P0073022112026001.TXT",) and taken(engine)["P0073022112026001.TXT"] == at(5)
    engine.dispose()
