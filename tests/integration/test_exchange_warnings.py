"""What the loader will not read is named, not ignored: unknown company folders, a company's
folder without its zeros, and files in Pending/ that are not .TXT; the dispatcher's run says so."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from adapters.files.local import LocalFileStore
from sql.engine import create_engine
from sql.migrate import upgrade
from sql.uow import UnitOfWork
from usecases.companies import create_company
from usecases.exchange_warnings import exchange_warnings

NOW = datetime(2026, 12, 3, 15, tzinfo=UTC)


def test_unknown_folders_and_files_that_are_not_debt_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    engine = create_engine(url)
    for code in ("730", "731"):
        create_company(lambda: UnitOfWork(engine), code, f"EMPRESA {code}", ["001:completa"],
                       [f"001:1020:191-0{code}001-0-01"], NOW)  # fmt: skip
    store = LocalFileStore(tmp_path / "x")
    store.write_atomic("00730/Deudas/Pending/D0073003122026001.TXT", b"x")
    store.write_atomic("00730/Deudas/Pending/d0073003122026002.txt", b"x")  # .txt in any case is a debt file
    store.write_atomic("00730/Deudas/Pending/deudas.xlsx", b"x")
    store.write_atomic("00731/Deudas/Pending/D0073103122026001.TXT.part", b"x")
    store.write_atomic("00999/Deudas/Pending/D0099903122026001.TXT", b"x")
    store.write_atomic("731/Deudas/Pending/D0073103122026001.TXT", b"x")
    store.mkdir("dispersiones/pendientes")  # the app's own folders are no company's
    found = {w.path: w.reason for w in exchange_warnings(engine, store)}
    assert set(found) == {"00730/Deudas/Pending/deudas.xlsx", "00731/Deudas/Pending/D0073103122026001.TXT.part",
                          "00999", "731"}  # fmt: skip
    assert found["00999"].startswith("no company 999 is registered here")
    assert found["731"] == "a company's folder is its code in 5 digits: 00731, not 731"
    assert "D00730DDMMAAAANNN.TXT" in found["00730/Deudas/Pending/deudas.xlsx"]
    assert len(exchange_warnings(engine, store, limit=2)) == 2
    engine.dispose()


def test_the_dispatcher_names_them_in_its_run(app_env: Path) -> None:
    import bootstrap
    from blueprints.debt_loader import dispatch_and_warn
    from usecases.companies import seed_demo

    seed_demo(bootstrap.unit_of_work, NOW)
    bootstrap.file_store().write_atomic("00730/Deudas/Pending/notas.doc", b"x")
    bootstrap.file_store().write_atomic("00999/Deudas/Pending/D0099903122026001.TXT", b"x")
    counts, warnings = dispatch_and_warn()
    assert counts["Companies"] == 0 and counts["Warnings"] == 2 and len(warnings) == 2
    assert "00730/Deudas/Pending/notas.doc: not a .TXT file" in counts["WarningDetail"]
    assert "00999: no company 999 is registered here" in counts["WarningDetail"]


def test_files_set_aside_are_listed_with_the_reason_their_err_gives(tmp_path: Path) -> None:
    from datetime import timedelta

    from usecases.exchange_warnings import set_aside

    url = f"sqlite:///{tmp_path / 's.db'}"
    upgrade(url)
    engine = create_engine(url)
    create_company(lambda: UnitOfWork(engine), "730", "EMPRESA", ["001:completa"], ["001:1020:191-0730001-0-01"], NOW)
    store = LocalFileStore(tmp_path / "x")
    store.write_atomic("00730/Deudas/Rejected/D0073003122026001.TXT.20261203T150000Z", b"x")
    store.write_atomic("00730/Deudas/Rejected/D0073003122026001.TXT.20261203T150000Z.ERR",
                       b"000000000|nombre_archivo|archivo D0073003122026001.TXT ya fue procesado|\r\n")  # fmt: skip
    now = datetime.now(UTC)
    found = set_aside(engine, store, now - timedelta(hours=1), now + timedelta(hours=1))
    assert [(a.company, a.name, a.reason) for a in found] == [
        (730, "D0073003122026001.TXT.20261203T150000Z", "archivo D0073003122026001.TXT ya fue procesado")]
    assert set_aside(engine, store, now + timedelta(hours=1), now + timedelta(hours=2)) == []
    engine.dispose()
