"""An R file replaces a company's debts atomically: a reader never sees the company empty or half loaded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from adapters.files.local import LocalFileStore
from tests.integration.test_debt_golden import golden_engine
from tests.testdata.debts.build_inputs import detail, header
from usecases.load_debts import load_debts

NOW = datetime(2026, 11, 22, 13, 30, tzinfo=UTC)


def r_file(lines: int, prefix: str, name: str) -> bytes:
    body = [
        detail(codigo_cliente=f"{prefix}{i:08d}", num_documento="F001", deuda=100, mora=0, pago_minimo=100)
        for i in range(lines)
    ]
    return b"".join(line + b"\r\n" for line in [header(body, name), *body])


def test_reader_never_sees_an_empty_or_partial_company(empty_db_url: str, tmp_path: Path) -> None:
    engine = golden_engine(empty_db_url)
    store = LocalFileStore(tmp_path / "x")
    n = 100_000
    store.write_atomic("00730/Deudas/Pending/D0073022112026001.TXT", r_file(n, "A", "D0073022112026001.TXT"))
    load_debts(engine, store, lambda: NOW)

    seen: set[int] = set()
    prefixes: set[str] = set()
    reads = [0]
    stop = threading.Event()
    reader_engine = sa.create_engine(empty_db_url) if not empty_db_url.startswith("sqlite") else engine

    def consulta_loop() -> None:
        with reader_engine.connect() as conn:
            while not stop.is_set():
                with conn.begin():
                    count = conn.execute(sa.text("SELECT count(*) FROM debts WHERE company_code = 730")).scalar()
                    first = conn.execute(
                        sa.text("SELECT min(client_code) FROM debts WHERE company_code = 730")
                    ).scalar()
                seen.add(int(count or 0))
                reads[0] += 1
                prefixes.add((first or "-")[0])

    reader = threading.Thread(target=consulta_loop)
    reader.start()
    try:
        store.write_atomic("00730/Deudas/Pending/D0073022112026002.TXT", r_file(n, "B", "D0073022112026002.TXT"))
        (result,) = load_debts(engine, store, lambda: NOW)
    finally:
        stop.set()
        reader.join()
    assert result.applied == n
    assert reads[0] >= 5, "the reader must have run during the load"
    assert seen == {n}, f"a reader saw counts {sorted(seen)[:5]}"
    assert prefixes <= {"A", "B"} and "A" in prefixes
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT min(client_code) FROM debts")).scalar() == "B00000000"
    engine.dispose()
