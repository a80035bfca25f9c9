"""Write every YAPAGO payment and reversal into exactly one payment file per company.

For each company with records not yet in a file: one transaction locks the company,
reserves the next name `P<company 5><DDMMYYYY><seq 3>.TXT` (America/Lima day, sequence
per company and day) and marks every pending payment (P) and reversal (A) as held by that
file. After the commit the file is rendered from SQL alone and written atomically to
`[company]/Pagos/`, then marked uploaded. A crash or an overlapping run at any point ends
the same way: a reserved file that is not marked uploaded is rendered and written again by
the next run, byte for byte the same, and no record can ever join a second file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from adapters.files.port import FileStore
from domain.companies import company_folder
from domain.layouts.payments import PAYMENT
from domain.yapago import LIMA
from sql.payment_file_repository import PaymentFileRepository

log = logging.getLogger(__name__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    total_pen: int
    total_usd: int
    duration_ms: float
    started_at: datetime


def file_name(company: int, day: Any, seq: int) -> str:
    return f"P{company_folder(company)}{day:%d%m%Y}{seq:03d}.TXT"


def file_path(company: int, name: str) -> str:
    return f"{company_folder(company)}/Pagos/{name}"


_WRITE = PAYMENT.tuple_writer(
    ("codigo_cliente", "nombre_cliente", "codigo_producto", "numero_documento", "fecha_vencimiento", "fecha_pago",
     "hora_pago", "importe_pagado", "agencia", "numero_operacion", "canal_pago", "forma_pago", "fecha_contable",
     "estado"),
)  # fmt: skip


_OFFSETS: dict[tuple[int, int, int, int], timedelta] = {}


_DAYS: dict[str, date] = {}


def _day(value: date | str) -> date:
    """A stored date: an object (PostgreSQL) or ISO text (SQLite, few distinct values: cached)."""
    if not isinstance(value, str):
        return value
    found = _DAYS.get(value)
    if found is None:
        found = _DAYS[value] = date.fromisoformat(value)
    return found


def _lima(value: datetime | str) -> datetime:
    """A stored UTC time (ISO text from SQLite, aware from PostgreSQL) as naive America/Lima
    wall time; the zone's offset is looked up once per hour, not once per record."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    key = (value.year, value.month, value.day, value.hour)
    offset = _OFFSETS.get(key)
    if offset is None:
        offset = value.replace(tzinfo=UTC).astimezone(LIMA).utcoffset() or timedelta(0)
        _OFFSETS[key] = offset
    return value + offset


def render_record(row: tuple[Any, ...]) -> str:
    """One DD record from a payment row (RECORD_COLUMNS): the payment, or its reversal when kind is A."""
    (kind, client, name, service, document, due, txn_at, cents, operation, channel, method, booked, created,
     reversal_txn_at, reversal_channel, reversal_booked, reversed_at) = row  # fmt: skip
    if kind == "A":
        when, channel, booked, created = _lima(reversal_txn_at), reversal_channel, reversal_booked, reversed_at
    else:
        when = _lima(txn_at)
    booked = _lima(created).date() if booked is None else _day(booked)
    return _WRITE(
        client, name, service, document, _day(due), when.date(), when.time().replace(microsecond=0), cents, 0,
        operation, channel, method, booked, kind,
    )  # fmt: skip


def render(repo: PaymentFileRepository, file_id: int) -> Iterator[bytes]:
    """The file's bytes, from SQL only: the same every time it is rendered."""
    for batch in repo.record_batches(file_id):
        yield ("\r\n".join(map(render_record, batch)) + "\r\n").encode("ascii")


def _write(engine: Engine, store: FileStore, row: Any, checkpoint: Checkpoint, now: datetime) -> None:
    with engine.connect() as conn:
        store.write_atomic(file_path(row.company_code, row.file_name), render(PaymentFileRepository(conn), row.id))
    checkpoint("uploaded")
    with engine.begin() as conn:
        PaymentFileRepository(conn).mark_uploaded(row.id, now)
    checkpoint("marked")


def _result(row: Any, outcome: str, started: datetime, t0: float) -> PaymentFileResult:
    return PaymentFileResult(
        company=row.company_code, file_name=row.file_name, outcome=outcome, records=row.records,
        total_pen=row.total_pen, total_usd=row.total_usd, duration_ms=(time.perf_counter() - t0) * 1000,
        started_at=started,
    )  # fmt: skip


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
    since = since or EPOCH
    results: list[PaymentFileResult] = []

    def done(result: PaymentFileResult) -> None:
        results.append(result)
        if on_file is not None:
            on_file(result)

    with engine.connect() as conn:
        repo = PaymentFileRepository(conn)
        codes = [c for c in repo.company_codes() if company is None or c == company]
        leftovers = [] if dry_run else repo.not_uploaded(company)
    for row in leftovers:  # reserved by a run that did not finish: write them first, as they are
        started, t0 = clock(), time.perf_counter()
        _write(engine, store, row, checkpoint, clock())
        done(_result(row, RECOVERED, started, t0))
    for code in codes:
        started, t0 = clock(), time.perf_counter()
        if dry_run:
            with engine.connect() as conn:
                pending = PaymentFileRepository(conn).pending_count(code, since)
            if pending:
                done(PaymentFileResult(code, "-", DRY_RUN, pending, 0, 0, 0.0, started))
            continue
        row = _reserve(engine, code, since, clock)
        if row is None:
            continue
        checkpoint("reserved")
        _write(engine, store, row, checkpoint, clock())
        done(_result(row, WRITTEN, started, t0))
    return results


def _reserve(engine: Engine, company: int, since: datetime, clock: Callable[[], datetime]) -> Any:
    """Name the next file and make the pending records its own, or None if there are none."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin() as tx:
        repo = PaymentFileRepository(conn)
        repo.lock_company(company)
        now = clock()
        day = now.astimezone(LIMA).date()
        seq = repo.next_seq(company, day)
        if seq > MAX_SEQ:
            raise PaymentFileError(f"company {company:05d} already has {MAX_SEQ} payment files on {day}")
        file_id = repo.reserve(company, file_name(company, day, seq), day, seq, since, now)
        row = repo.file(file_id)
        if row.records == 0:
            tx.rollback()  # nothing new: no file, and the name stays free
            return None
        return row


def regenerate(engine: Engine, store: FileStore, name: str, company: int | None = None) -> PaymentFileResult:
    """Write a lost or damaged file again, byte for byte, from SQL."""
    started, t0 = datetime.now(UTC), time.perf_counter()
    with engine.connect() as conn:
        row = PaymentFileRepository(conn).file_named(company, name)
        if row is None:
            raise PaymentFileError(f"no payment file named {name}")
        store.write_atomic(file_path(row.company_code, row.file_name), render(PaymentFileRepository(conn), row.id))
    return _result(row, REGENERATED, started, t0)
