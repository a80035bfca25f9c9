"""Dispersion files to the bank (spec steps 23-27): every approved purchase goes into exactly
one file in `dispersiones/pendientes/`, whatever crashes or overlapping runs happen.

Same discipline as the payment files: one transaction reserves the file name and records
the attempts it holds (`lending_dispatches`, unique per purchase and attempt) while moving the
purchases APPROVED -> DISBURSING; after the commit the file is rendered from SQL alone,
written atomically and marked uploaded. A reserved file that is not marked uploaded is
written again, byte for byte, by the next run.
"""

from __future__ import annotations

import functools
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.port import STALE_TEMP, FileStore
from domain.layouts.disbursements import DISPERSION_DETAIL, DISPERSION_HEADER, DISPERSION_TRAILER
from domain.lending import MEXICO
from domain.lending.clabe import validate_clabe
from domain.lending.states import State, next_state
from sql.engine import refresh_statistics
from sql.locks import hold_run_lock
from sql.tables import (
    lending_channels,
    lending_disbursement_files,
    lending_dispatches,
    lending_events,
    lending_purchases,
)

PENDING_FOLDER = "dispersiones/pendientes"
RETRY_FOLDER = "dispersiones/reintentos"
_BANK_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-")  # NAME_CHARSET, upper case
BULK = 1_000  # purchases from which the planner is given fresh statistics first
FIELD = 40  # beneficiary name and concept width in the layout
Checkpoint = Callable[[str], None]


@dataclass(frozen=True)
class DispatchResult:
    file_name: str
    records: int
    total_cents: int
    recovered: bool


def bank_text(value: str) -> str:
    """ASCII for the bank: accents folded (Ñ -> N), anything else outside the field's set a
    space, cut to the field's 40 characters (the beneficiary and concept are informative)."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").upper()
    allowed = _BANK_CHARACTERS
    return " ".join("".join(c if c in allowed else " " for c in folded).split())[:FIELD] or "SIN DATO"


def _name(prefix: str, now: datetime, seq: int) -> str:
    local = now.astimezone(MEXICO)
    return f"{prefix}_{local:%Y%m%d_%H%M%S}_{seq:03d}.TXT"


def folder(kind: str) -> str:
    return PENDING_FOLDER if kind == "D" else RETRY_FOLDER


_DETAIL_COLUMNS = ("id_transaccion", "clabe_destino", "nombre_beneficiario", "importe", "moneda", "referencia",
                   "concepto", "fecha_valor", "intento")  # fmt: skip
_DETAIL = DISPERSION_DETAIL.tuple_writer(_DETAIL_COLUMNS)  # the compiled writer: same checks, ~10x faster
_clabe = functools.lru_cache(maxsize=256)(validate_clabe)  # a few channels' CLABEs, checked once per run


@functools.lru_cache(maxsize=256)
def _name_of(channel_name: str) -> str:
    return bank_text(channel_name)


def render(conn: sa.Connection, file_row: Any) -> Iterator[bytes]:
    """The file's bytes from SQL only: the same every time."""
    created = file_row.created_at if file_row.created_at.tzinfo else file_row.created_at.replace(tzinfo=UTC)
    local = created.astimezone(MEXICO)
    yield DISPERSION_HEADER.format({
        "tipo_registro": "H", "nombre_archivo": file_row.file_name, "fecha_generacion": local.date(),
        "hora_generacion": local.time().replace(microsecond=0), "tipo_archivo": file_row.kind, "filler": "",
    }) + b"\r\n"  # fmt: skip
    rows = conn.execute(
        sa.select(lending_dispatches.c.id, lending_dispatches.c.attempt, lending_purchases.c.id.label("purchase"),
                  lending_purchases.c.clabe, lending_purchases.c.amount_cents, lending_purchases.c.concept,
                  lending_channels.c.name)
        .join(lending_purchases, lending_purchases.c.id == lending_dispatches.c.purchase_id)
        .join(lending_channels, lending_channels.c.channel == lending_purchases.c.channel)
        .where(lending_dispatches.c.file_id == file_row.id)
        .order_by(lending_dispatches.c.id)
    )  # fmt: skip
    count = total = 0
    day = local.date()
    for row in rows:
        line = _DETAIL(row.purchase, _clabe(row.clabe), _name_of(row.name), row.amount_cents, "MXN",
                       row.id % 10_000_000, bank_text(row.concept), day, row.attempt)  # fmt: skip
        yield (line + "\r\n").encode("ascii")
        count += 1
        total += row.amount_cents
    yield DISPERSION_TRAILER.format({"tipo_registro": "T", "numero_registros": count, "importe_total": total,
                                     "filler": ""}) + b"\r\n"  # fmt: skip


def insert_file(conn: sa.Connection, kind: str, now: datetime) -> tuple[int, str]:
    file_id = conn.execute(sa.insert(lending_disbursement_files).values(
        file_name=f"reserving-{uuid.uuid4().hex[:24]}", kind=kind, records=0, total_cents=0, created_at=now,
    )).inserted_primary_key[0]  # fmt: skip
    # the sequence is the file id (mod 1000): two runs in the same second never share a name
    name = _name("DISP" if kind == "D" else "REIN", now, int(file_id) % 1000)
    conn.execute(sa.update(lending_disbursement_files).where(lending_disbursement_files.c.id == file_id)
                 .values(file_name=name))  # fmt: skip
    return int(file_id), name


def close_file(conn: sa.Connection, file_id: int) -> Any:
    """Store the file's count and total (the trailer's) and return its row."""
    totals = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(lending_purchases.c.amount_cents), 0))
        .select_from(lending_dispatches.join(lending_purchases,
                                             lending_purchases.c.id == lending_dispatches.c.purchase_id))
        .where(lending_dispatches.c.file_id == file_id)
    ).one()  # fmt: skip
    conn.execute(sa.update(lending_disbursement_files).where(lending_disbursement_files.c.id == file_id)
                 .values(records=totals[0], total_cents=totals[1]))  # fmt: skip
    return conn.execute(sa.select(lending_disbursement_files).where(lending_disbursement_files.c.id == file_id)).one()


def _reserve(engine: Engine, now: datetime) -> Any:
    """A file holding every approved purchase, or None when there is none. Set-based (one
    statement per step, whatever the count) under the run's lock, so overlapping runs take turns."""
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin() as tx:
        hold_run_lock(conn, "disbursement_dispatch")
        file_id, name = insert_file(conn, "D", now)
        stamp = sa.literal(now, sa.DateTime(timezone=True))
        approved = (
            sa.select(lending_purchases.c.id, sa.literal(0), sa.literal(file_id, sa.BigInteger), stamp)
            .where(lending_purchases.c.state == State.APPROVED.value)
            .order_by(lending_purchases.c.updated_at, lending_purchases.c.id)
        )
        conn.execute(sa.insert(lending_dispatches).from_select(
            ["purchase_id", "attempt", "file_id", "created_at"], approved))  # fmt: skip
        in_file = sa.select(lending_dispatches.c.purchase_id).where(lending_dispatches.c.file_id == file_id)
        moved = conn.execute(sa.select(sa.func.count()).select_from(in_file.subquery())).scalar()
        if not moved:  # (the rowcount of INSERT .. SELECT is not portable)
            tx.rollback()
            return None
        if moved >= BULK:
            refresh_statistics(conn, lending_dispatches, lending_purchases)
        conn.execute(
            sa.update(lending_purchases)
            .where(lending_purchases.c.state == State.APPROVED.value, lending_purchases.c.id.in_(in_file))
            .values(state=next_state(State.APPROVED, "disbursing").value, updated_at=now, reason="in a dispersion file")
        )
        conn.execute(sa.insert(lending_events).from_select(
            ["purchase_id", "from_state", "event", "to_state", "detail", "created_at"],
            sa.select(lending_dispatches.c.purchase_id, sa.literal(State.APPROVED.value), sa.literal("disbursing"),
                      sa.literal(State.DISBURSING.value), sa.literal(f"file {name}"), stamp)
            .where(lending_dispatches.c.file_id == file_id)))  # fmt: skip
        return close_file(conn, file_id)


def write_file(engine: Engine, store: FileStore, row: Any, checkpoint: Checkpoint,
               clock: Callable[[], datetime]) -> None:  # fmt: skip
    """Render the reserved file from SQL, write it atomically, then mark it uploaded."""
    with engine.connect() as conn:
        data = b"".join(render(conn, row))
    store.write_atomic(f"{folder(row.kind)}/{row.file_name}", data)
    checkpoint("uploaded")
    with engine.begin() as conn:
        conn.execute(
            sa.update(lending_disbursement_files)
            .where((lending_disbursement_files.c.id == row.id) & lending_disbursement_files.c.uploaded_at.is_(None))
            .values(uploaded_at=clock())
        )
    checkpoint("marked")


def write_leftovers(engine: Engine, store: FileStore, kind: str, checkpoint: Checkpoint,
                    clock: Callable[[], datetime]) -> list[DispatchResult]:  # fmt: skip
    """Write again, byte for byte, the files of `kind` a crashed run reserved and did not mark."""
    with engine.connect() as conn:
        leftovers = list(conn.execute(sa.select(lending_disbursement_files).where(
            lending_disbursement_files.c.uploaded_at.is_(None), lending_disbursement_files.c.kind == kind)
            .order_by(lending_disbursement_files.c.id)))  # fmt: skip
    for row in leftovers:
        write_file(engine, store, row, checkpoint, clock)
    return [DispatchResult(row.file_name, row.records, row.total_cents, True) for row in leftovers]


def dispatch_disbursements(
    engine: Engine, store: FileStore, clock: Callable[[], datetime], checkpoint: Checkpoint = lambda step: None
) -> list[DispatchResult]:
    """Write the files a crashed run left, then one new file with every approved purchase."""
    store.sweep_temp(clock() - STALE_TEMP)
    results = write_leftovers(engine, store, "D", checkpoint, clock)
    row = _reserve(engine, clock())
    if row is not None:
        checkpoint("reserved")
        write_file(engine, store, row, checkpoint, clock)
        results.append(DispatchResult(row.file_name, row.records, row.total_cents, False))
    return results


def in_flight(engine: Engine, older_than: datetime, state: str = State.DISBURSING.value, limit: int = 100) -> list[Any]:
    """Purchases in `state` not moved since `older_than`, with their last attempt and its file:
    what an operator chases with the bank when a response does not come."""
    last = (
        sa.select(lending_dispatches.c.purchase_id, sa.func.max(lending_dispatches.c.attempt).label("attempt"))
        .group_by(lending_dispatches.c.purchase_id)
        .subquery()
    )
    query = (
        sa.select(lending_purchases.c.id, lending_purchases.c.channel, lending_purchases.c.amount,
                  lending_purchases.c.state, lending_purchases.c.updated_at, lending_purchases.c.reason,
                  last.c.attempt, lending_disbursement_files.c.file_name)
        .join(last, last.c.purchase_id == lending_purchases.c.id)
        .join(lending_dispatches, (lending_dispatches.c.purchase_id == last.c.purchase_id)
              & (lending_dispatches.c.attempt == last.c.attempt))
        .join(lending_disbursement_files, lending_disbursement_files.c.id == lending_dispatches.c.file_id)
        .where(lending_purchases.c.state == state, lending_purchases.c.updated_at <= older_than)
        .order_by(lending_purchases.c.updated_at, lending_purchases.c.id)
        .limit(limit)
    )  # fmt: skip
    with engine.connect() as conn:
        return list(conn.execute(query))
