"""Load the debt files companies drop on the exchange folders into SQL, each exactly once.

For each company in SQL, `[company]/Deudas/Pending/*.TXT`, oldest first:

1. One transaction per file. It claims the file name (unique per company), checks the
   header, then applies the details: an `R` file deletes the company's debts and inserts
   the new set (readers see the old set or the new one, never neither); an `N` file
   stages its lines and applies them one statement per kind (_apply_changes). The order
   rule is checked in memory while a client's lines come together and set-based over the
   file when a client comes back (_reject_out_of_order): no SQL round trip per line, memory
   flat whatever the order. A bad line is skipped and reported; a bad header, count or
   total rolls the data back and records the file as rejected. Line errors are stored
   with the file, so the result files can be written again from SQL at any time.
2. After the commit: `<name>.OK` and `<name>.ERR` are written to `Complete/`, then the file
   is moved there.

A crash anywhere leaves either no trace in SQL (the transaction never committed: the file
is processed again from scratch) or a committed file whose results and move are finished
by the next run from what SQL holds. A file whose name was already processed and whose
first copy sits in `Complete/` is a new upload under an old name: it is set aside in
`Rejected/`, never applied.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import pickle
import re
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from adapters.files.port import FILE, FOLDER, LINK, STALE_TEMP, FileInfo, FileNotFound, FileStore, printable_name
from domain.companies import company_folder
from domain.debt_lines import (
    MAX_LINE_BYTES,
    MAX_SUSPECTS,
    ROW_AMOUNT,
    ROW_CLIENT,
    ROW_CURRENCY,
    ROW_DOCUMENT,
    ROW_LINE,
    read_amount,
)
from domain.debt_lines import Overlong as _Overlong  # noqa: F401 - tests reach it here
from domain.debt_lines import overlong as cut_line
from domain.debts import (
    MAX_FUTURE_TRANSMISSION,
    DebtHeader,
    LoadSummary,
    check_header,
    future_transmission,
    order_error,
    render_err_line,
    render_ok,
)
from domain.fixedwidth import FieldError
from domain.settlement import DEFAULT_SETTLEMENT, statement_time
from sql.debt_repository import DEBT_COLUMNS, DebtRepository, DebtRow
from sql.tables import services
from usecases.line_worker import judged, use_worker

assert (DEBT_COLUMNS[ROW_CLIENT], DEBT_COLUMNS[ROW_DOCUMENT], DEBT_COLUMNS[ROW_AMOUNT], DEBT_COLUMNS[ROW_CURRENCY],
        DEBT_COLUMNS[ROW_LINE]) == ("client_code", "document", "amount_cents", "currency", "line_no")  # fmt: skip

log = logging.getLogger(__name__)

BATCH_ROWS = 10_000
FEW_SUSPECT_LINES = 20_000  # lines of clients that came back, below which the order check goes by client
BIG_FILE_LINES = 10_000  # an N file this big also refreshes the planner's statistics
CHUNK_BYTES = 1 << 20
PROCESSED, REJECTED, RECOVERED, DUPLICATE = "PROCESADO", "RECHAZADO", "RECUPERADO", "DUPLICADO"
SET_ASIDE, FAILED = "APARTADO", "FALLIDO"  # not a debt file (moved to Rejected/); failed, tried again next run

Checkpoint = Callable[[str], None]
Progress = Callable[[str, int, int], None]  # file name, bytes read, file size


def _no_checkpoint(step: str) -> None:
    return None


def pending_folder(company: int) -> str:
    return f"{company_folder(company)}/Deudas/Pending"


def complete_folder(company: int) -> str:
    return f"{company_folder(company)}/Deudas/Complete"


def rejected_folder(company: int) -> str:
    return f"{company_folder(company)}/Deudas/Rejected"


@dataclass(frozen=True)
class FileResult:
    company: int
    file_name: str
    outcome: str  # PROCESADO, RECHAZADO, RECUPERADO or DUPLICADO
    update_type: str | None
    lines: int
    applied: int
    rejected: int
    applied_total_pen: int
    applied_total_usd: int
    duration_ms: float
    started_at: datetime
    detail: str | None = None  # APARTADO / FALLIDO: why

    @classmethod
    def of(cls, summary: LoadSummary, outcome: str, started: datetime, duration_ms: float) -> FileResult:
        return cls(
            company=summary.company_code, file_name=summary.file_name, outcome=outcome,
            update_type=summary.update_type, lines=summary.lines, applied=summary.applied,
            rejected=summary.rejected, applied_total_pen=summary.applied_total_pen,
            applied_total_usd=summary.applied_total_usd, duration_ms=duration_ms, started_at=started,
        )  # fmt: skip


def load_debts(
    engine: Engine,
    store: FileStore,
    clock: Callable[[], datetime],
    *,
    company: int | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
    progress: Progress | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    max_future: timedelta = MAX_FUTURE_TRANSMISSION,
    line_worker: str = "auto",
    budget: Budget | None = None,
    settlement: timedelta = DEFAULT_SETTLEMENT,
) -> list[FileResult]:
    """Process every pending debt file (of one company, or of all); returns one result per file.

    `max_future`: how far a header's transmission time may be ahead of this clock (domain/debts.py).
    `settlement`: the delay after which a payment file delivered and not taken counts as applied by
    its biller (PAYMENT_FILE_SETTLEMENT_HOURS; 0: only taken files count; domain/settlement.py).
    `line_worker`: judge the lines in a second process (`auto`: big files, two cores or more;
    `on`, `off`; usecases/line_worker.py).
    `budget`: a file is started only when the time left covers it (Budget.allows); the files
    left are then reported as `budget.stopped` and wait, untouched, for the next run.
    """
    results = []
    store.sweep_temp(clock() - STALE_TEMP)
    for code, currencies in sorted(_companies(engine).items()):
        if company is not None and code != company:
            continue
        try:
            entries = store.list(pending_folder(code), everything=True)
        except Exception as exc:
            log.exception("could not list %s", pending_folder(code))
            results.append(_failed(code, pending_folder(code), exc, clock()))
            continue
        for info in entries:
            stray = _stray(info)
            if stray is None and not info.name.upper().endswith(".TXT"):
                continue
            if budget is not None and stray is None and results and not budget.allows(info.size):
                budget.stopped = True  # a commit boundary: this file and the next wait for the next run
                return results
            try:
                if stray is not None:
                    result = _set_aside_stray(store, clock, code, info, stray)
                else:
                    result = load_file(engine, store, clock, code, currencies, info, checkpoint=checkpoint,
                                       progress=progress, max_future=max_future, line_worker=line_worker,
                                       settlement=settlement)  # fmt: skip
            except Exception as exc:
                log.exception("could not process %s", info.path)
                result = _failed(code, printable_name(info.name), exc, clock())
            if result is None:
                continue  # another instance took it meanwhile
            results.append(result)
            if on_file is not None:
                on_file(result)
    return results


@dataclass
class Budget:
    """The time an invocation has left (the host kills it at its function timeout): a file is
    started only when the time left covers a pessimistic estimate of it. The first file of a
    run is always started: a file bigger than any budget still has to be loaded once."""

    deadline: float  # time.monotonic() by which the invocation must have returned
    bytes_per_second: float = 2_000_000.0  # a tenth of what this VM loads: the estimate errs long
    margin_seconds: float = 30.0  # results, the move, the log entity
    stopped: bool = False

    def allows(self, size: int) -> bool:
        return time.monotonic() + size / self.bytes_per_second + self.margin_seconds <= self.deadline


@dataclass(frozen=True)
class PendingWork:
    """A company with files waiting in Pending/: what a work message names."""

    company: int
    oldest: str  # the file its next run starts with (the one a poison message is about)
    size: int
    files: int


def company_of_blob(subject: str, store_url: str) -> int | None:
    """The company whose Pending/ folder an Event Grid blob subject names, within the exchange
    `store_url` (`blob://container[/prefix]`); None for anything else."""
    from urllib.parse import urlsplit

    parts = urlsplit(store_url)
    if parts.scheme != "blob":
        return None
    prefix = f"/blobServices/default/containers/{parts.netloc}/blobs/"
    if not subject.startswith(prefix):
        return None
    path = subject[len(prefix):]
    root = parts.path.strip("/")
    if root:
        if not path.startswith(root + "/"):
            return None
        path = path[len(root) + 1:]
    match = re.fullmatch(r"(\d{5})/Deudas/Pending/[^/]+", path)
    return int(match.group(1)) if match else None


def pending_work(engine: Engine, store: FileStore) -> list[PendingWork]:
    """Every registered company with something in Pending/ (debt files or entries to set aside)."""
    found = []
    for code in sorted(_companies(engine)):
        try:
            entries = store.list(pending_folder(code), everything=True)
        except Exception:  # its run reports the listing's failure in ProcessLogs
            log.exception("could not list %s", pending_folder(code))
            found.append(PendingWork(code, "", 0, 0))
            continue
        waiting = [e for e in entries if _stray(e) is not None or e.name.upper().endswith(".TXT")]
        if waiting:
            found.append(PendingWork(code, printable_name(waiting[0].name), waiting[0].size, len(waiting)))
    return found


def _stray(info: FileInfo) -> str | None:
    """Why an entry of Pending/ is no debt file the loader may open, or None."""
    if info.kind != FILE:
        return {LINK: "enlace simbolico", FOLDER: "carpeta"}.get(info.kind, "archivo especial (FIFO, socket...)")
    if printable_name(info.name) != info.name:
        return "nombre con bytes que no son ASCII imprimible"
    return None


def _set_aside_stray(store: FileStore, clock: Callable[[], datetime], company: int, info: FileInfo,
                     what: str) -> FileResult:  # fmt: skip
    """Into Rejected/ (under a printable name), with an .ERR saying why: reported once, never read."""
    now = clock()
    shown = printable_name(info.name)
    target = f"{rejected_folder(company)}/{shown}.{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    reason = f"{shown} no es un archivo de deudas: {what}; se aparta sin leerlo"
    try:
        store.move(info.path, target)
    except FileNotFound:
        return None  # type: ignore[return-value]  # gone meanwhile
    store.write_atomic(target + ".ERR", f"000000000|nombre_archivo|{reason}|\r\n".encode("ascii"))
    return FileResult(
        company=company, file_name=shown, outcome=SET_ASIDE, update_type=None, lines=0, applied=0, rejected=0,
        applied_total_pen=0, applied_total_usd=0, duration_ms=0.0, started_at=now, detail=reason,
    )  # fmt: skip


def _failed(company: int, name: str, exc: Exception, now: datetime) -> FileResult:
    return FileResult(
        company=company, file_name=name, outcome=FAILED, update_type=None, lines=0, applied=0, rejected=0,
        applied_total_pen=0, applied_total_usd=0, duration_ms=0.0, started_at=now,
        detail=f"{type(exc).__name__}: {exc}"[:500],
    )  # fmt: skip


def _companies(engine: Engine) -> dict[int, dict[str, str]]:
    """Active company code -> {service code: currency code of the file (1 soles, 2 dolares)}: a
    deactivated company's files stay in Pending/, unread (exchange_warnings names them)."""
    found: dict[int, dict[str, str]] = {}
    with engine.connect() as conn:
        for row in conn.execute(sa.text("SELECT code FROM companies WHERE deactivated_at IS NULL")):
            found[row.code] = {}
        for row in conn.execute(sa.select(services.c.company_code, services.c.code, services.c.currency)):
            if row.company_code in found:
                found[row.company_code][row.code] = "1" if row.currency == "PEN" else "2"
    return found


def load_file(
    engine: Engine,
    store: FileStore,
    clock: Callable[[], datetime],
    company: int,
    currencies: Mapping[str, str],
    info: FileInfo,
    *,
    checkpoint: Checkpoint = _no_checkpoint,
    progress: Progress | None = None,
    max_future: timedelta = MAX_FUTURE_TRANSMISSION,
    line_worker: str = "auto",
    settlement: timedelta = DEFAULT_SETTLEMENT,
) -> FileResult | None:
    """Process one pending file; None when another instance processed it meanwhile."""
    started, t0 = clock(), time.perf_counter()
    target = f"{complete_folder(company)}/{info.name}"
    with engine.connect() as conn:
        done = DebtRepository(conn).find_file(company, info.name)
    if done is not None:
        if store.exists(target):
            return _set_aside(engine, store, clock, company, info, done, started, t0)
        return _finish(engine, store, int(done.id), info, target, started, t0)
    try:
        handle = store.open_read(info.path)
    except FileNotFound:
        return None
    with handle:
        try:
            file_id, summary = _apply(engine, handle, info, company, currencies, clock, started, checkpoint, progress,
                                      max_future, lambda: store.open_read(info.path),
                                      use_worker(line_worker, info.size), settlement)  # fmt: skip
        except _TakenByAnother as taken:
            return _finish(engine, store, taken.file_id, info, target, started, t0)
    checkpoint("committed")
    write_results(engine, store, file_id, target)
    checkpoint("results_written")
    store.move(info.path, target)
    checkpoint("moved")
    return _with_reason(engine, file_id, FileResult.of(summary, summary.status, started, _ms(t0)))


def _with_reason(engine: Engine, file_id: int, result: FileResult) -> FileResult:
    """A rejected file's result says why (its first problems, as the .ERR has them): ProcessLogs
    and the operator see the reason without opening the company's folder."""
    if result.outcome != "RECHAZADO":
        return result
    with engine.connect() as conn:
        first = list(itertools.islice(DebtRepository(conn).errors(file_id), 3))
    reason = "; ".join(f"linea {e.line_no} {e.field}: {e.reason}" for e in first) or "rechazado"
    return dataclasses.replace(result, detail=reason[:500])


class _TakenByAnother(Exception):
    """While this run waited for the company's lock, another one committed the same file."""

    def __init__(self, file_id: int) -> None:
        self.file_id = file_id


def _finish(
    engine: Engine, store: FileStore, file_id: int, info: FileInfo, target: str, started: datetime, t0: float
) -> FileResult:
    """Committed by an earlier or concurrent run: (re)write the results from SQL and move the file."""
    summary = write_results(engine, store, file_id, target)
    try:
        store.move(info.path, target)
    except FileNotFound:
        pass  # the other run moved it
    return FileResult.of(summary, RECOVERED, started, _ms(t0))


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def write_results(engine: Engine, store: FileStore, file_id: int, target: str) -> LoadSummary:
    """Write `<target>.OK` and `<target>.ERR` from what SQL holds for the file (same bytes every time)."""
    with engine.connect() as conn:
        repo = DebtRepository(conn)
        summary = repo.summary(repo.get_file(file_id))
        store.write_atomic(target + ".ERR", _err_lines(repo, file_id))
    store.write_atomic(target + ".OK", render_ok(summary))
    return summary


def _err_lines(repo: DebtRepository, file_id: int) -> Iterator[bytes]:
    current: int | None = None
    raw = b""
    problems: list[tuple[str, str]] = []
    for error in repo.errors(file_id):
        if error.line_no != current and problems:
            yield render_err_line(current or 0, problems, raw)
            problems = []
        current, raw = error.line_no, error.raw_line.encode("latin-1")
        problems.append((error.field, error.reason))
    if problems:
        yield render_err_line(current or 0, problems, raw)


def _set_aside(
    engine: Engine,
    store: FileStore,
    clock: Callable[[], datetime],
    company: int,
    info: FileInfo,
    done: Any,
    started: datetime,
    t0: float,
) -> FileResult | None:
    """A new upload under a name already processed: keep it, never apply it."""
    stamp = clock().strftime("%Y%m%dT%H%M%S%fZ")
    target = f"{rejected_folder(company)}/{info.name}.{stamp}"
    reason = f"archivo {info.name} ya fue procesado el {done.finished_at:%Y-%m-%d %H:%M:%S} UTC; no se aplica"
    try:
        store.move(info.path, target)
    except FileNotFound:
        return None  # not a new upload: a concurrent run just finished this file and moved it
    store.write_atomic(target + ".ERR", f"000000000|nombre_archivo|{reason}|\r\n".encode("ascii"))
    return FileResult(
        company=company, file_name=info.name, outcome=DUPLICATE, update_type=None, lines=0, applied=0, rejected=0,
        applied_total_pen=0, applied_total_usd=0, duration_ms=_ms(t0), started_at=started,
    )  # fmt: skip


# -- reading ---------------------------------------------------------------------------------------


class _Reader:
    """Lines of a stream read in large chunks (fast on SFTP), CRLF or LF, hashing as it goes.

    Time is linear and memory bounded whatever the bytes: a line that runs past
    MAX_LINE_BYTES without a line break (a file with none at all) is cut there and the rest of
    it only counted, so it becomes one line error instead of an ever-growing buffer."""

    def __init__(self, handle: BinaryIO, name: str, size: int, progress: Progress | None) -> None:
        self.handle = handle
        self.name = name
        self.size = size
        self.progress = progress
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def blocks(self) -> Iterator[tuple[int, list[bytes]]]:
        """(number of the first line, lines) per chunk read; splitting is done in C, per chunk."""
        line_no = 1
        tail = b""
        overlong: tuple[bytes, int] | None = None  # (kept head, length so far) of a line too long
        last = b""  # its last byte so far (a CR before the LF that ends it is not part of it)
        next_report = CHUNK_BYTES * 8
        while chunk := self.handle.read(CHUNK_BYTES):
            self.sha256.update(chunk)
            self.bytes_read += len(chunk)
            if overlong is not None:
                end = chunk.find(b"\n")
                if end < 0:
                    overlong, last = (overlong[0], overlong[1] + len(chunk)), chunk[-1:]
                    continue
                cr = (chunk[end - 1 : end] if end else last) == b"\r"  # CRLF: the CR is not the line's
                yield line_no, [cut_line(overlong[0], overlong[1] + end - cr)]
                line_no += 1
                overlong, chunk = None, chunk[end + 1 :]
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            body, tail = data[:cut], data[cut:]
            if body:
                lines = _split(body)
                yield line_no, lines
                line_no += len(lines)
            if len(tail) > MAX_LINE_BYTES:
                overlong, last, tail = (tail[:MAX_LINE_BYTES], len(tail)), tail[-1:], b""
            if self.progress is not None and self.bytes_read >= next_report:
                self.progress(self.name, self.bytes_read, self.size)
                next_report += CHUNK_BYTES * 8
        if overlong is not None:
            yield line_no, [cut_line(overlong[0], overlong[1])]
        elif tail:
            yield line_no, [tail[:-1] if tail.endswith(b"\r") else tail]
        if self.progress is not None:
            self.progress(self.name, self.bytes_read, self.size)

    def drain(self) -> None:
        while chunk := self.handle.read(CHUNK_BYTES):
            self.sha256.update(chunk)
            self.bytes_read += len(chunk)


def _split(body: bytes) -> list[bytes]:
    """Lines of a block that ends with a newline; CRLF (as written) or LF."""
    newlines = body.count(b"\n")
    if body.count(b"\r\n") == newlines:
        return body[:-2].split(b"\r\n")
    return [line[:-1] if line.endswith(b"\r") else line for line in body[:-1].split(b"\n")]


class _ErrorSpool:
    """Line errors on local disk until the commit: memory stays flat even if every line is bad."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self.count = 0
        self.lines = 0

    def add(self, errors: list[FieldError], raw: bytes) -> None:
        text = raw.decode("latin-1")
        for error in errors:
            self.count += 1
            pickle.dump((self.count, error.line, error.field, error.reason, text), self._file)
        self.lines += 1

    def __iter__(self) -> Iterator[tuple[int, int, str, str, str]]:
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)
            except EOFError:
                return

    def close(self) -> None:
        self._file.close()


# -- applying --------------------------------------------------------------------------------------


@dataclass
class _Totals:
    lines: int = 0
    applied: int = 0
    read_pen: int = 0
    read_usd: int = 0
    applied_pen: int = 0
    applied_usd: int = 0
    unread: int = 0  # lines whose amount could not be read at all
    unread_lines: list[int] = dataclasses.field(default_factory=list)

    def unreadable(self, line_no: int) -> None:
        """A line whose currency or amount cannot be read: the header totals say they miss it."""
        self.unread += 1
        if len(self.unread_lines) < 10:
            self.unread_lines.append(line_no)

    def read(self, currency: bytes | str, cents: int) -> None:
        if currency in (b"1", "1"):
            self.read_pen += cents
        elif currency in (b"2", "2"):
            self.read_usd += cents

    def apply(self, currency: str, cents: int, sign: int = 1) -> None:
        self.applied += sign
        if currency == "1":
            self.applied_pen += sign * cents
        else:
            self.applied_usd += sign * cents


def _apply(
    engine: Engine,
    handle: BinaryIO,
    info: FileInfo,
    company: int,
    currencies: Mapping[str, str],
    clock: Callable[[], datetime],
    started: datetime,
    checkpoint: Checkpoint,
    progress: Progress | None,
    max_future: timedelta,
    reopen: Callable[[], BinaryIO],
    worker: bool,
    settlement: timedelta = DEFAULT_SETTLEMENT,
) -> tuple[int, LoadSummary]:
    reader = _Reader(handle, info.name, info.size, progress)
    spool = _ErrorSpool()
    try:
        with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
            repo = DebtRepository(conn)
            repo.lock_company(company)
            taken = repo.find_file(company, info.name)
            if taken is not None:
                raise _TakenByAnother(int(taken.id))
            file_id = repo.start_file(company, info.name, "", started)
            blocks = reader.blocks()
            start, block = next(blocks, (1, []))
            header: DebtHeader | None = None
            first = (1, block[0]) if block else None
            details = itertools.chain([(start + 1, block[1:])], blocks)
            if first is None:
                header_errors = [FieldError(1, "cabecera", "", "archivo vacio: falta la cabecera")]
                first = (1, b"")
            else:
                header, header_errors = check_header(first[1], info.name, company)
                ahead = future_transmission(header, started, max_future) if header is not None else None
                if ahead is not None:
                    header, header_errors = None, [ahead]
            totals = _Totals()
            if header is None:
                spool.add(header_errors, first[1])
                for _, lines in details:  # counted and hashed, not applied
                    totals.lines += len(lines)
                    for raw in lines:
                        amount = read_amount(raw)
                        if amount is not None:
                            totals.read(*amount)
                status = "RECHAZADO"
            else:
                checkpoint("header")
                data = conn.begin_nested()
                # The moment the file states the company's books at: its header less the clock
                # tolerance, capped at its arrival and at now (domain/settlement.py); what it had
                # applied by then is in its amounts (sql/debt_repository.restate_paid).
                known_before = statement_time(header.transmitted_at, info.modified, started, max_future)
                _apply_details(conn, repo, details, header, company, currencies, file_id, spool, totals, checkpoint,
                               known_before, lambda wanted: _lines_of(reopen, wanted), worker, settlement)  # fmt: skip
                mismatches = _header_mismatches(header, totals)
                if mismatches:
                    data.rollback()
                    spool.add(mismatches, first[1])
                    status = "RECHAZADO"
                else:
                    data.commit()
                    status = "PROCESADO"
            reader.drain()
            rejected_whole = status == "RECHAZADO"
            summary = LoadSummary(
                file_name=info.name,
                company_code=company,
                update_type=header.update_type if header else None,
                status=status,
                lines=totals.lines,
                applied=0 if rejected_whole else totals.applied,
                rejected=totals.lines if rejected_whole else totals.lines - totals.applied,
                header_records=header.records if header else None,
                header_total_pen=header.total_pen if header else None,
                header_total_usd=header.total_usd if header else None,
                read_total_pen=totals.read_pen,
                read_total_usd=totals.read_usd,
                applied_total_pen=0 if rejected_whole else totals.applied_pen,
                applied_total_usd=0 if rejected_whole else totals.applied_usd,
                started_at=started,
                finished_at=clock(),
            )
            repo.add_errors(file_id, spool)
            repo.finish_file(file_id, summary, reader.sha256.hexdigest())
            checkpoint("before_commit")
        return file_id, summary
    finally:
        spool.close()


def _apply_changes(
    repo: DebtRepository, spool: _ErrorSpool, totals: _Totals, suspect: bool,
    reread: Callable[[set[int]], dict[int, bytes]], clients: Collection[str] | None,
) -> int:  # fmt: skip
    """An N file's staged lines: the order rule over all of them (if a client came back), then
    the lines that cannot apply (N of a debt that exists, A or D of one that does not) reported,
    then one statement per kind for the rest. Each line's key is unique among the lines left
    (a second line of a client's document breaks the order rule), so no line depends on another.
    Returns the highest debt id before the N lines were inserted (theirs are above it)."""
    problems: list[tuple[int, FieldError]] = []
    if suspect:
        repo.index_changes()
        found = repo.change_order_violations(clients)
        for v in found:
            problem = order_error(v.document, v.previous, v.line_no)
            assert problem is not None
            problems.append((v.line_no, problem))
        repo.drop_changes([v.line_no for v in found])
    refused = repo.refused_changes()
    for line_no, kind in refused:
        reason = "la deuda ya existe" if kind == "N" else "la deuda no existe"
        problems.append((line_no, FieldError(line_no, "tipo_actualizacion", kind, reason)))
    repo.drop_changes([r.line_no for r in refused])
    if problems:
        raws = reread({line_no for line_no, _ in problems})
        for line_no, problem in problems:
            spool.add([problem], raws[line_no])
    since_id = repo.last_debt_id()
    for currency, lines, cents in repo.apply_changes():
        totals.applied += int(lines)
        if currency == "1":
            totals.applied_pen += int(cents or 0)
        else:
            totals.applied_usd += int(cents or 0)
    return since_id  # the staged lines stay until the balances are restated (_apply_details)


def _lines_of(reopen: Callable[[], BinaryIO], wanted: set[int]) -> dict[int, bytes]:
    """The raw lines of these numbers, read again from the start (only a file with lines out of
    order pays for it): the .ERR keeps the original bytes of every rejected line."""
    found: dict[int, bytes] = {}
    with reopen() as handle:
        for start, lines in _Reader(handle, "", 0, None).blocks():
            for line_no in wanted.intersection(range(start, start + len(lines))):
                found[line_no] = lines[line_no - start]
    return found


def _reject_out_of_order(
    repo: DebtRepository, company: int, file_id: int, since_id: int | None, clients: Collection[str] | None,
    reread: Callable[[set[int]], dict[int, bytes]],
    spool: _ErrorSpool, applied: tuple[int, int, int],
) -> tuple[int, int, int]:  # fmt: skip
    """Documents unique and ascending per client, for a file whose clients interleave: one window
    over the rows it stored (each compared with the highest document of the client's earlier
    lines: a rejected line can never raise it), the violators deleted and reported as the line
    check would have. Cost: one sort in SQL, not one query per line; memory: the violators."""
    pen, usd, count = applied
    found = repo.order_violations(company, file_id, since_id, clients)
    if not found:
        return applied
    raws = reread({v.line_no for v in found})
    for v in found:
        problem = order_error(v.document, v.previous, v.line_no)
        assert problem is not None
        spool.add([problem], raws[v.line_no])
        count -= 1
        if v.currency == "1":
            pen -= v.amount_cents
        else:
            usd -= v.amount_cents
    repo.delete_lines(company, file_id, [v.line_no for v in found])
    return pen, usd, count


def _header_mismatches(header: DebtHeader, totals: _Totals) -> list[FieldError]:
    from domain.debts import cents_text

    problems = []
    missing = ""
    if totals.unread:
        shown = ", ".join(str(n) for n in totals.unread_lines) + (", ..." if totals.unread > 10 else "")
        missing = f" (sin contar {totals.unread} linea(s) de importe ilegible: {shown})"
    if header.records != totals.lines:
        problems.append(
            FieldError(1, "numero_registros", str(header.records), f"el detalle tiene {totals.lines} registros")
        )
    if header.total_pen != totals.read_pen:
        problems.append(
            FieldError(1, "importe_total_soles", cents_text(header.total_pen),
                       f"la suma del detalle en soles es {cents_text(totals.read_pen)}{missing}")
        )  # fmt: skip
    if header.total_usd != totals.read_usd:
        problems.append(
            FieldError(1, "importe_total_dolares", cents_text(header.total_usd),
                       f"la suma del detalle en dolares es {cents_text(totals.read_usd)}{missing}")
        )  # fmt: skip
    return problems


def _apply_details(
    conn: Connection,
    repo: DebtRepository,
    blocks: Iterator[tuple[int, list[bytes]]],
    header: DebtHeader,
    company: int,
    currencies: Mapping[str, str],
    file_id: int,
    spool: _ErrorSpool,
    totals: _Totals,
    checkpoint: Checkpoint,
    known_before: datetime,
    reread: Callable[[set[int]], dict[int, bytes]],
    worker: bool,
    settlement: timedelta = DEFAULT_SETTLEMENT,
) -> None:
    """Judge the lines (domain/debt_lines.py; in a worker process for a big file) and store
    what passes, batch by batch, while the next blocks are being judged."""
    replace = header.update_type == "R"
    since_id: int | None = None  # an R file's rows are the ids above this
    if replace:
        repo.delete_company(company)
        since_id = repo.last_debt_id()
    else:
        repo.start_changes()  # an N file's lines are staged, then applied one statement per kind
    staged: list[tuple[Any, ...]] = []
    batch: list[DebtRow] = []
    batch_raw: list[bytes] = []
    conflicts: list[tuple[int, str, str, bytes]] = []  # R lines whose key an earlier line holds

    def insert(rows: list[DebtRow], raws: list[bytes]) -> None:
        """Insert a batch; on a key already there, halve it until the offending lines are alone
        (a few statements per duplicate, whatever the batch size)."""
        try:
            with conn.begin_nested():
                repo.insert_many(rows)
            return
        except sa.exc.IntegrityError:
            if len(rows) > 1:
                half = len(rows) // 2
                insert(rows[:half], raws[:half])
                insert(rows[half:], raws[half:])
                return
        row, raw = rows[0], raws[0]
        totals.apply(row[15], row[8], -1)
        if replace:  # the key came earlier in this file: worded by the order rule, once the file is in
            conflicts.append((row[20], row[1], row[4], raw))
        else:
            spool.add([FieldError(row[20], "num_documento", row[4], "la deuda ya existe")], raw)

    def flush() -> None:
        if not batch:
            return
        insert(batch, batch_raw)
        batch.clear()
        batch_raw.clear()
        checkpoint("batch")

    read_pen = read_usd = applied = applied_pen = applied_usd = 0  # added to `totals` at the end
    suspect = False  # a client came back after other clients: the order is checked set-based
    suspects: set[str] = set()  # those clients (a Bloom filter's false positives included)
    suspect_lines = 0
    for verdicts in judged(blocks, header.update_type, currencies, company, file_id, worker):
        totals.lines += verdicts.lines
        read_pen += verdicts.read_pen
        read_usd += verdicts.read_usd
        for line_no in verdicts.unreadable:
            totals.unreadable(line_no)
        for errors, raw in verdicts.refused:
            spool.add(errors, raw)
        suspect = suspect or verdicts.suspect
        suspects.update(verdicts.suspects)
        suspect_lines += verdicts.suspect_lines
        if replace:
            batch += verdicts.rows
            batch_raw += verdicts.raws
            applied += len(verdicts.rows)
            applied_pen += verdicts.applied_pen
            applied_usd += verdicts.applied_usd
            if len(batch) >= BATCH_ROWS:
                flush()
            continue
        staged += verdicts.rows
        if len(staged) >= BATCH_ROWS:
            repo.stage_changes(staged)
            staged.clear()
            checkpoint("batch")
    flush()
    # A few clients came back (or a false positive of the filter): the check reads their rows by
    # the index; many (an export sorted by anything but the client): every row, in stored order.
    few = suspects if len(suspects) < MAX_SUSPECTS and suspect_lines <= FEW_SUSPECT_LINES else None
    if not replace:
        repo.stage_changes(staged)
        since_id = _apply_changes(repo, spool, totals, suspect, reread, few)
    if suspect and replace:  # (an N file's lines were judged so while staged: _apply_changes)
        applied_pen, applied_usd, applied = _reject_out_of_order(
            repo, company, file_id, since_id, few, reread, spool, (applied_pen, applied_usd, applied)
        )
    for line_no, client, document, raw in conflicts:  # as the line check words it: repeated, or below
        problem = order_error(document, repo.max_document_before(company, client, file_id, line_no), line_no)
        assert problem is not None, (line_no, document)
        spool.add([problem], raw)
    repo.build_lookup(company, file_id, since_id, fresh=replace)
    repo.restate_paid(company, file_id, known_before, settlement, staged=not replace)
    if not replace:
        repo.end_changes()
    if replace or totals.lines >= BIG_FILE_LINES:
        repo.refresh_statistics()
    totals.read_pen += read_pen
    totals.read_usd += read_usd
    totals.applied += applied
    totals.applied_pen += applied_pen
    totals.applied_usd += applied_usd
