"""The loader on every pairing of database (SQLite, PostgreSQL) and exchange (file://, sshd SFTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.files.local import LocalFileStore
from adapters.files.port import FileStore
from adapters.files.sftp import SftpFileStore, SftpOptions
from tests.integration.test_debt_golden import DATA, clock, golden_engine, rows
from usecases.load_debts import load_debts


@pytest.fixture(params=["file", "sftp"])
def exchange(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FileStore, Path]]:
    if request.param == "file":
        yield LocalFileStore(tmp_path / "x"), tmp_path / "x"
        return
    sshd = request.getfixturevalue("sshd")
    root = sshd.root / uuid.uuid4().hex
    root.mkdir()
    store = SftpFileStore(
        f"{sshd.url}/{root.name}", SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key)
    )
    yield store, root
    store.close()


def test_r_then_n_file(empty_db_url: str, exchange: tuple[FileStore, Path]) -> None:
    store, root = exchange
    engine = golden_engine(empty_db_url)
    for case in ("valid_r", "valid_n"):
        (source,) = (DATA / case).glob("*.TXT")
        store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
        (result,) = load_debts(engine, store, clock)
        assert result.outcome == "PROCESADO"
        complete = root / "00730" / "Deudas" / "Complete"
        assert (complete / f"{source.name}.OK").read_bytes() == (DATA / case / "expected.OK").read_bytes()
        assert (complete / f"{source.name}.ERR").read_bytes() == (DATA / case / "expected.ERR").read_bytes()
    assert [r[0] + "/" + r[3] for r in rows(engine)] == [
        "04785124/F001-00000001", "04785124/F001-00000003", "20100047218/F002-00000100", "A1B2C3/P-77", "NEW001/F001-9",
    ]  # fmt: skip
    # the same name uploaded again is set aside, never applied
    (source,) = (DATA / "valid_r").glob("*.TXT")
    store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    (again,) = load_debts(engine, store, clock)
    assert again.outcome == "DUPLICADO" and len(rows(engine)) == 5
    aside = sorted(p.name for p in (root / "00730" / "Deudas" / "Rejected").iterdir())
    assert len(aside) == 2 and aside[0].startswith(source.name) and aside[1].endswith(".ERR")
    assert not list((root / "00730" / "Deudas" / "Pending").iterdir())
    engine.dispose()
