"""Write every YAPAGO payment and reversal into exactly one payment file per company.

Each payment (P) and reversal (A) is rendered into its record when it is booked
(domain/payment_records.py). For each company with records booked since its last file, one
short transaction takes the company's cursor, reserves the next name
`P<company 5><DDMMYYYY><seq 3>.TXT` (America/Lima day, sequence per company and day) and
gives the file the company's record-id range since the previous one. After the commit the
reserved files are rendered from SQL alone, in one pass, written atomically to
`[company]/Pagos/` and marked uploaded with their counts and totals. A crash or an
overlapping run at any point ends the same way: a reserved file that is not marked uploaded
is rendered and written again by the next run, byte for byte the same, and no record can
ever join a second file (the ranges do not overlap).

The biller takes (moves or deletes) a file from Pagos/ once it has applied it. `sweep_taken`
records when a file was first seen gone (`payment_files.taken_at`): from then on the payments
in it count as already in the biller's amounts when a later debt file restates the balances
(domain/settlement.py, sql/debt_repository.py restate_paid).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.engine import Engine

from adapters.files.port import STALE_TEMP, FileStore
from domain.companies import company_folder
from domain.layouts.payments import RECORD_WIDTH
from domain.payment_records import LINE_END
from domain.yapago import LIMA
from sql.payment_file_repository import PaymentFileRepository

log = logging.getLogger(__name__)
RECORD_BYTES = RECORD_WIDTH + len(LINE_END)
MAX_SEQ = 999
WRITTEN, RECOVERED, REGENERATED, DRY_RUN = "ESCRITO", "RECUPERADO", "REGENERADO", "SIMULADO"

Checkpoint = Callable[[str], None]


def _no_checkpoint(step: str) -> None:
    return None


class PaymentFileError(Exception):
    pass


@dataclass(frozen=True)
class PaymentFileResult:
    company: int
    file_name: str
    outcome: str
    records: int
    total_pen: int  # net: payments minus reversals, as the file's totals
    total_usd: int
    duration_ms: float
    started_at: datetime
    reversals: int = 0  # of `records`, the reversals (estado A); the rest are payments
    reversed_pen: int = 0
    reversed_usd: int = 0

    @property
    def payments(self) -> int:
        return self.records - self.reversals

    @property
    def paid_pen(self) -> int:
        return self.total_pen + self.reversed_pen

    @property
    def paid_usd(self) -> int:
        return self.total_usd + self.reversed_usd


def file_name(company: int, day: Any, seq: int) -> str:
    return f"P{company_folder(company)}{day:%d%m%Y}{seq:03d}.TXT"


def file_path(company: int, name: str) -> str:
    return f"{company_folder(company)}/Pagos/{name}"


@dataclass
class _Spool:
    """A file rendered into a local temporary file, with what it holds."""

    data: IO[bytes]
    records: int = 0
    total_pen: int = 0
    total_usd: int = 0
    reversals: int = 0
    reversed_pen: int = 0
    reversed_usd: int = 0


def _spool(repo: PaymentFileRepository, files: list[Any]) -> dict[int, _Spool]:
    """Every given file rendered from SQL into a local temporary file, in one pass over their
    records. The same bytes every time; checked against the record count before any upload."""
    out = {f.id: _Spool(tempfile.TemporaryFile()) for f in files}  # noqa: SIM115 (closed below or by the caller)
    try:
        for file_id, records, pen, usd, reversals, reversed_pen, reversed_usd, text in repo.chunks(files):
            spool = out[file_id]
            spool.data.write(text.encode("ascii"))
            spool.records += int(records)
            spool.total_pen += int(pen)
            spool.total_usd += int(usd)
            spool.reversals += int(reversals)
            spool.reversed_pen += int(reversed_pen)
            spool.reversed_usd += int(reversed_usd)
        for spool in out.values():
            if spool.data.tell() != spool.records * RECORD_BYTES:
                raise PaymentFileError(f"rendered {spool.data.tell()} bytes for {spool.records} records")
            spool.data.seek(0)
    except BaseException:
        for spool in out.values():
            spool.data.close()
        raise
    return out


def _blocks(spool: IO[bytes], size: int = 1 << 20, checkpoint: Checkpoint = _no_checkpoint) -> Iterator[bytes]:
    while block := spool.read(size):
        yield block
        checkpoint("writing")  # the file half written (under the store's temporary name)


def _write_all(
    engine: Engine, store: FileStore, files: list[Any], outcome: str, checkpoint: Checkpoint,
    clock: Callable[[], datetime], done: Callable[[PaymentFileResult], None],
    started: dict[int, tuple[datetime, float]],
) -> None:  # fmt: skip
    """Render the files, write each atomically to its company's Pagos/ folder, mark it uploaded."""
    if not files:
        return
    with engine.connect() as conn:
        spools = _spool(PaymentFileRepository(conn), files)
    try:
        for row in files:
            spool = spools[row.id]
            store.write_atomic(file_path(row.company_code, row.file_name), _blocks(spool.data, checkpoint=checkpoint))
            checkpoint("uploaded")
            with engine.begin() as conn:
                PaymentFileRepository(conn).mark_uploaded(
                    row.id, clock(), spool.records, spool.total_pen, spool.total_usd
                )
            checkpoint("marked")
            done(_result(row, outcome, spool, started[row.id]))
    finally:
        for spool in spools.values():
            spool.data.close()


def _result(row: Any, outcome: str, spool: _Spool, started: tuple[datetime, float]) -> PaymentFileResult:
    when, t0 = started
    return PaymentFileResult(
        company=row.company_code, file_name=row.file_name, outcome=outcome, records=spool.records,
        total_pen=spool.total_pen, total_usd=spool.total_usd, duration_ms=(time.perf_counter() - t0) * 1000,
        started_at=when, reversals=spool.reversals, reversed_pen=spool.reversed_pen, reversed_usd=spool.reversed_usd,
    )  # fmt: skip


def companies_with_work(engine: Engine) -> list[int]:
    """Companies with records in no file yet, or a file reserved and not yet written: what a
    work message names (one per company)."""
    with engine.connect() as conn:
        repo = PaymentFileRepository(conn)
        waiting = {row.company_code for row in repo.not_uploaded(None)}
        return [code for code in repo.company_codes() if code in waiting or repo.pending_count(code)]


def generate_payment_files(
    engine: Engine,
    store: FileStore,
    clock: Callable[[], datetime],
    *,
    company: int | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    checkpoint: Checkpoint = _no_checkpoint,
    on_file: Callable[[PaymentFileResult], None] | None = None,
) -> list[PaymentFileResult]:
    results: list[PaymentFileResult] = []
    if not dry_run:
        store.sweep_temp(clock() - STALE_TEMP)  # what a crashed write left (outside every company's folder)

    def done(result: PaymentFileResult) -> None:
        results.append(result)
        if on_file is not None:
            on_file(result)

    with engine.connect() as conn:
        repo = PaymentFileRepository(conn)
        codes = [c for c in repo.company_codes() if company is None or c == company]
        leftovers = [] if dry_run else repo.not_uploaded(company)
        if since is not None:  # a file always takes every pending record of its company
            codes = [c for c in codes if repo.pending_count(c, since)]
    if dry_run:
        with engine.connect() as conn:
            repo = PaymentFileRepository(conn)
            for code in codes:
                if pending := repo.pending_count(code):
                    done(PaymentFileResult(code, "-", DRY_RUN, pending, 0, 0, 0.0, clock()))
        return results
    started = {row.id: (clock(), time.perf_counter()) for row in leftovers}
    # reserved by a run that did not finish: written first, as they are
    _write_all(engine, store, leftovers, RECOVERED, checkpoint, clock, done, started)
    reserved = []
    for code in codes:
        when, t0 = clock(), time.perf_counter()
        row = _reserve(engine, code, clock)
        if row is not None:
            checkpoint("reserved")
            reserved.append(row)
            started[row.id] = (when, t0)
    _write_all(engine, store, reserved, WRITTEN, checkpoint, clock, done, started)
    return results


def _reserve(engine: Engine, company: int, clock: Callable[[], datetime]) -> Any:
    """Name the next file and give it the company's records booked since its last one, or None."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        repo = PaymentFileRepository(conn)
        after = repo.lock_cursor(company)
        last = repo.last_record_id(company)
        if last <= after:
            return None  # nothing new: no file, and the name stays free
        now = clock()
        day = now.astimezone(LIMA).date()
        seq = repo.next_seq(company, day)
        if seq > MAX_SEQ:
            raise PaymentFileError(f"company {company:05d} already has {MAX_SEQ} payment files on {day}")
        return repo.file(repo.reserve(company, file_name(company, day, seq), day, seq, after, last, now))


@dataclass(frozen=True)
class SweepResult:
    """One company's Pagos/ looked at: the files seen gone now, those still there, or why
    nothing could be concluded."""

    company: int
    taken: tuple[str, ...]
    waiting: int
    seen_at: datetime
    problem: str | None = None


def sweep_taken(engine: Engine, store: FileStore, clock: Callable[[], datetime], *,
                company: int | None = None) -> list[SweepResult]:  # fmt: skip
    """Look in the Pagos/ folder of every company with delivered files not yet seen taken, and
    record the ones gone as taken now. The time recorded is read after the listing came back, so
    it is never before the moment the file was seen gone (the biller took it at that moment or
    earlier: the record errs late, which only makes payments count longer). Idempotent and safe
    to stop anywhere: the files are read from SQL before the listing (a file written after it
    is no candidate), a file already marked keeps its time, and a sweep cut short marks nothing
    or marks what it saw. A listing that fails, or an exchange where the company's folder
    cannot be seen at all (a wrong root, a container not mounted), marks nothing."""
    with engine.connect() as conn:
        candidates = PaymentFileRepository(conn).untaken(company)
    by_company: dict[int, list[Any]] = {}
    for row in candidates:
        by_company.setdefault(row.company_code, []).append(row)
    results = []
    for code, rows in by_company.items():
        folder = company_folder(code)
        try:
            there = {info.name for info in store.list(f"{folder}/Pagos")}
            seen_at = clock()
            gone = [row for row in rows if row.file_name not in there]
            if gone and not there and not store.list(folder, everything=True):
                unseen = f"{folder}/ is not on the exchange {store.url}: nothing marked"
                results.append(SweepResult(code, (), len(rows), seen_at, unseen))
                continue
        except Exception as exc:  # one company's folder does not stop the others
            log.exception("could not list %s/Pagos", folder)
            results.append(SweepResult(code, (), len(rows), clock(), f"{type(exc).__name__}: {exc}"[:500]))
            continue
        if gone:
            with engine.begin() as conn:
                PaymentFileRepository(conn).mark_taken([row.id for row in gone], seen_at)
        results.append(SweepResult(code, tuple(row.file_name for row in gone), len(rows) - len(gone), seen_at))
    return results


def regenerate(engine: Engine, store: FileStore, name: str, company: int | None = None) -> PaymentFileResult:
    """Write a lost or damaged file again, byte for byte, from SQL."""
    started = (datetime.now(UTC), time.perf_counter())
    with engine.connect() as conn:
        repo = PaymentFileRepository(conn)
        row = repo.file_named(company, name)
        if row is None:
            raise PaymentFileError(f"no payment file named {name}")
        (spool,) = _spool(repo, [row]).values()
    with spool.data:
        store.write_atomic(file_path(row.company_code, row.file_name), _blocks(spool.data))
    return _result(row, REGENERATED, spool, started)
