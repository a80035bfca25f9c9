"""Two loader instances on the same folders at once: every file applied once, in order."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from adapters.files.local import LocalFileStore
from sql.engine import create_engine
from tests.integration.test_debt_golden import DATA, golden_engine, rows
from usecases.load_debts import FileResult, load_debts

NOW = datetime(2026, 11, 22, 13, 30, tzinfo=UTC)


def test_two_loaders_at_once(empty_db_url: str, tmp_path: Path) -> None:
    golden_engine(empty_db_url).dispose()
    store = LocalFileStore(tmp_path / "x")
    for case in ("valid_r", "valid_n"):
        (source,) = (DATA / case).glob("*.TXT")
        store.write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    results: list[list[FileResult]] = []
    errors: list[BaseException] = []

    def run() -> None:
        engine = create_engine(empty_db_url)
        try:
            results.append(load_debts(engine, LocalFileStore(tmp_path / "x"), lambda: NOW))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_engine(empty_db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM debt_files")).scalar() == 2
    assert len(rows(engine)) == 5  # R then N, each applied once
    complete = tmp_path / "x" / "00730" / "Deudas" / "Complete"
    assert sorted(p.name for p in complete.iterdir()) == sorted(
        f"{n}{s}" for n in ("D0073022112026001.TXT", "D0073022112026002.TXT") for s in ("", ".OK", ".ERR")
    )
    outcomes = sorted(r.outcome for run in results for r in run)
    assert outcomes.count("PROCESADO") == 2, outcomes
    engine.dispose()
