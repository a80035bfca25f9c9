"""Dispersion files to the bank (spec steps 23-27): every approved purchase goes into exactly
one file in `dispersiones/pendientes/`, and each file is offered to the bank at most once,
whatever crashes or overlapping runs happen.

Same discipline as the payment files: one transaction reserves the file name and records
the attempts it holds (`lending_dispatches`, unique per purchase and attempt) while moving the
purchases APPROVED -> DISBURSING; after the commit the file is rendered from SQL alone.

Offering it is two-phase, so that a later run can tell "never offered" from "the bank may have
it": the bytes go to a staging name no bank reads (the file port's temporary folder), then
`publishing_at` is committed, then one move puts the file in the bank's folder and it is
marked sent (`uploaded_at`). A run that finds a file reserved and not marked:
- not claimed for publishing: it never reached the bank's folder; written (byte for byte);
- claimed, and in the folder with its bytes: marked sent, not written again;
- claimed, and a response names one of its lines: the bank took it; marked sent;
- claimed and gone, unanswered: the bank may have taken it. It is never written again by a run:
  parked (`parked_at`) with an alert, its purchases stay DISBURSING, until an operator asks the
  bank and runs `resend-dispersion NAME --bank-confirms-not-received` (or the bank's answer
  comes). Money is never offered twice on a guess.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.port import STALE_TEMP, FileStore, FileStoreError, temp_name
from domain.layouts.disbursements import DISPERSION_DETAIL, DISPERSION_HEADER, DISPERSION_TRAILER
from domain.lending import MEXICO
from domain.lending.clabe import validate_clabe
from domain.lending.responses import AlertKind
from domain.lending.states import State, next_state
from sql.engine import refresh_statistics, stored_utc
from sql.locks import hold_run_lock
from sql.tables import (
    lending_channels,
    lending_disbursement_files,
    lending_dispatches,
    lending_events,
    lending_purchases,
    lending_response_files,
    lending_response_lines,
)
from usecases.alerts import file_subject, raise_alert, resolve_subject

PENDING_FOLDER = "dispersiones/pendientes"
RETRY_FOLDER = "dispersiones/reintentos"
_BANK_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-")  # NAME_CHARSET, upper case
BULK = 1_000  # purchases from which the planner is given fresh statistics first
FIELD = 40  # beneficiary name and concept width in the layout
Checkpoint = Callable[[str], None]


class Offer(enum.StrEnum):
    """What a run did with a file."""

    WRITTEN = "written"  # offered now (new, or reserved by a run that stopped before offering it)
    FOUND = "found"  # a run stopped after offering it: in the bank's folder, marked sent, not written again
    ANSWERED = "answered"  # a run stopped after offering it and the bank answered its lines: marked sent
    UNCERTAIN = "uncertain"  # a run stopped while offering it and it is gone: parked now, with an alert
    PARKED = "parked"  # parked earlier, still waiting for an operator


@dataclass(frozen=True)
class DispatchResult:
    file_name: str
    records: int
    total_cents: int
    recovered: bool
    outcome: str = Offer.WRITTEN
    alert: str | None = None  # the open alert about the file (UNCERTAIN, PARKED)


class ResendRefused(Exception):
    """`resend-dispersion` refused: the message says why and what to do."""


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


def path_of(row: Any) -> str:
    return f"{folder(row.kind)}/{row.file_name}"


def rendered(engine: Engine, row: Any) -> bytes:
    with engine.connect() as conn:
        return b"".join(render(conn, row))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d} MXN"


def mark_sent(conn: sa.Connection, row: Any, now: datetime, why: str) -> bool:
    """The file is the bank's: never offered again. Closes the alert about it, saying `why`."""
    files = lending_disbursement_files
    done = conn.execute(
        sa.update(files).where(files.c.id == row.id, files.c.uploaded_at.is_(None))
        .values(uploaded_at=now, publishing_at=sa.func.coalesce(files.c.publishing_at, now))
    ).rowcount  # fmt: skip
    resolve_subject(conn, file_subject(row.file_name), why, now)
    return bool(done)


def _claim(engine: Engine, file_id: int, now: datetime) -> bool:
    """Commit the intent to publish (own transaction, before the move): only one run gets it."""
    files = lending_disbursement_files
    with engine.begin() as conn:
        return conn.execute(sa.update(files).where(
            files.c.id == file_id, files.c.uploaded_at.is_(None), files.c.publishing_at.is_(None),
            files.c.parked_at.is_(None)).values(publishing_at=now)).rowcount == 1  # fmt: skip


def _discard(store: FileStore, path: str) -> None:
    try:
        store.delete(path)
    except FileStoreError:  # swept with the temporary files anyway
        pass


def write_file(engine: Engine, store: FileStore, row: Any, checkpoint: Checkpoint, clock: Callable[[], datetime],
               why: str = "marked sent by the run that offered it") -> bool:  # fmt: skip
    """Offer a reserved file: render it from SQL to a staging name no bank reads (a run stopped
    there leaves nothing the bank can see; the temporary-file sweep removes it), commit the claim
    to publish, move it into the bank's folder, mark it sent. False when another run claimed it
    first (that run offers it). From the claim on, a run that stops leaves the file to `_judge`."""
    target = path_of(row)
    staged = temp_name(target, f"staged-{uuid.uuid4().hex}")
    store.write_atomic(staged, rendered(engine, row))
    checkpoint("staged")
    if not _claim(engine, row.id, clock()):
        _discard(store, staged)
        return False
    store.move(staged, target)
    checkpoint("uploaded")
    with engine.begin() as conn:
        mark_sent(conn, row, clock(), why)
    checkpoint("marked")
    return True


def answered_in(conn: sa.Connection, file_id: int) -> str | None:
    """The response file that names one of this file's attempts (the bank had the file), or None."""
    lines, dispatches = lending_response_lines, lending_dispatches
    return conn.execute(
        sa.select(lending_response_files.c.file_name)
        .select_from(dispatches.join(lines, (lines.c.purchase_id == dispatches.c.purchase_id)
                                     & (lines.c.attempt == dispatches.c.attempt))
                     .join(lending_response_files, lending_response_files.c.id == lines.c.file_id))
        .where(dispatches.c.file_id == file_id).order_by(lines.c.id).limit(1)
    ).scalar()  # fmt: skip


def uncertain_text(row: Any, why: str) -> str:
    what = "dispersion" if row.kind == "D" else "retry"
    return (f"{what} file {row.file_name} ({row.records} transfers, {_money(row.total_cents)}): {why}. The bank may "
            f"have taken it, so it is not offered again and its purchases stay DISBURSING. Ask the bank: if it "
            f"did not receive it, manage.py resend-dispersion {row.file_name} --bank-confirms-not-received; if it "
            f"did, its answer will settle it (or manage.py resolve-alert ID --bank-confirms-received).")  # fmt: skip


def _park(engine: Engine, row: Any, now: datetime, why: str) -> DispatchResult | None:
    """Hold the file for an operator, with its alert (once); None if a run marked it sent meanwhile."""
    files = lending_disbursement_files
    with engine.begin() as conn:
        conn.execute(sa.update(files).where(files.c.id == row.id, files.c.uploaded_at.is_(None),
                                            files.c.parked_at.is_(None)).values(parked_at=now))  # fmt: skip
        fresh = conn.execute(sa.select(files).where(files.c.id == row.id)).one()
        if fresh.uploaded_at is not None:
            return None
        alert = raise_alert(conn, file_subject(row.file_name), AlertKind.DISPERSION_UNCERTAIN, uncertain_text(row, why),
                            now, file_name=row.file_name)  # fmt: skip
    outcome = Offer.PARKED if row.parked_at is not None else Offer.UNCERTAIN
    return DispatchResult(row.file_name, row.records, row.total_cents, True, outcome, str(alert))


def _judge(engine: Engine, store: FileStore, row: Any, now: datetime) -> DispatchResult | None:
    """A file claimed for publishing and not marked: found, answered, or parked. Never written."""
    target = path_of(row)
    there = store.exists(target)
    same = there and store.read_bytes(target) == rendered(engine, row)
    with engine.begin() as conn:
        if same:
            mark_sent(conn, row, now, f"found in {folder(row.kind)}/ with its bytes: marked sent, not written again")
            return DispatchResult(row.file_name, row.records, row.total_cents, True, Offer.FOUND)
        answer = answered_in(conn, row.id)
        if answer is not None:
            mark_sent(conn, row, now, f"the bank answered its lines in {answer}: it had the file; marked sent")
            return DispatchResult(row.file_name, row.records, row.total_cents, True, Offer.ANSWERED)
    why = (f"a file of that name is in {folder(row.kind)}/ with other bytes" if there else
           f"a run stopped while moving it into {folder(row.kind)}/ and it is no longer there")  # fmt: skip
    return _park(engine, row, now, why)


def write_leftovers(engine: Engine, store: FileStore, kind: str, checkpoint: Checkpoint,
                    clock: Callable[[], datetime]) -> list[DispatchResult]:  # fmt: skip
    """The files of `kind` reserved and not marked: written if they never reached the bank's
    folder, else found, answered or parked (never written again)."""
    with engine.connect() as conn:
        leftovers = list(conn.execute(sa.select(lending_disbursement_files).where(
            lending_disbursement_files.c.uploaded_at.is_(None), lending_disbursement_files.c.kind == kind)
            .order_by(lending_disbursement_files.c.id)))  # fmt: skip
    results = []
    for row in leftovers:
        if row.publishing_at is None:
            if write_file(engine, store, row, checkpoint, clock):
                results.append(DispatchResult(row.file_name, row.records, row.total_cents, True))
            continue
        judged = _judge(engine, store, row, clock())
        if judged is not None:
            results.append(judged)
    return results


def dispatch_disbursements(
    engine: Engine, store: FileStore, clock: Callable[[], datetime], checkpoint: Checkpoint = lambda step: None
) -> list[DispatchResult]:
    """Settle the files a crashed run left, then one new file with every approved purchase."""
    store.sweep_temp(clock() - STALE_TEMP)
    results = write_leftovers(engine, store, "D", checkpoint, clock)
    row = _reserve(engine, clock())
    if row is not None:
        checkpoint("reserved")
        if write_file(engine, store, row, checkpoint, clock):
            results.append(DispatchResult(row.file_name, row.records, row.total_cents, False))
    return results


def _file(conn: sa.Connection, name: str) -> Any:
    files = lending_disbursement_files
    row = conn.execute(sa.select(files).where(files.c.file_name == name)).first()
    if row is None:
        raise ResendRefused(f"no dispersion or retry file {name}")
    return row


def resend_dispersion(
    engine: Engine, store: FileStore, name: str, clock: Callable[[], datetime], bank_confirms_not_received: bool,
    checkpoint: Checkpoint = lambda step: None,
) -> DispatchResult:  # fmt: skip
    """Offer a parked file again, byte for byte under its own name (a bank that did get it sees
    the same name, references and attempts), once the operator has the bank's word that it did
    not receive it. Refused for any file that is not parked or that the bank has answered."""
    with engine.connect() as conn:
        row = _file(conn, name)
        answer = answered_in(conn, row.id)
    if row.uploaded_at is not None:
        raise ResendRefused(f"{name} was marked sent at {stored_utc(row.uploaded_at):%Y-%m-%d %H:%M:%S}Z: "
                            "it is the bank's and is never offered again")  # fmt: skip
    if answer is not None:
        with engine.begin() as conn:
            mark_sent(conn, row, clock(), f"the bank answered its lines in {answer}: it had the file; marked sent")
        raise ResendRefused(f"the bank answered lines of {name} in {answer}: it has the file; marked sent, "
                            "not offered again")  # fmt: skip
    if row.parked_at is None:
        runs = "dispatch-disbursements, or process-responses for a retry file"
        raise ResendRefused(f"{name} is not parked: it was never offered; the next run writes it ({runs})"
                            if row.publishing_at is None else
                            f"{name} is not parked: a run is offering it or stopped doing so; run {runs}, first: "
                            "it finds it or parks it")  # fmt: skip
    if store.exists(path_of(row)):
        raise ResendRefused(f"{name} is in {folder(row.kind)}/ now: run dispatch-disbursements (or process-responses "
                            "for a retry file) to mark it sent")  # fmt: skip
    if not bank_confirms_not_received:
        raise ResendRefused(
            f"{name} ({row.records} transfers, {_money(row.total_cents)}) may be with the bank. Ask the bank "
            "whether it received it; only if it did not, run again with --bank-confirms-not-received")  # fmt: skip
    now = clock()
    files = lending_disbursement_files
    with engine.begin() as conn:
        freed = conn.execute(sa.update(files).where(files.c.id == row.id, files.c.parked_at.is_not(None),
                                                    files.c.uploaded_at.is_(None))
                             .values(parked_at=None, publishing_at=None)).rowcount  # fmt: skip
        if freed != 1:
            raise ResendRefused(f"{name} changed meanwhile: look again (manage.py alerts)")
        detail = f"{name} offered again: the operator says the bank did not receive it"
        conn.execute(sa.insert(lending_events).from_select(
            ["purchase_id", "from_state", "event", "to_state", "detail", "created_at"],
            sa.select(lending_dispatches.c.purchase_id, lending_purchases.c.state, sa.literal("resent"),
                      lending_purchases.c.state, sa.literal(detail), sa.literal(now, sa.DateTime(timezone=True)))
            .join(lending_purchases, lending_purchases.c.id == lending_dispatches.c.purchase_id)
            .where(lending_dispatches.c.file_id == row.id)))  # fmt: skip
    why = f"operator: the bank confirmed it did not receive it; offered again at {now:%Y-%m-%d %H:%M:%S}Z"
    write_file(engine, store, row, checkpoint, clock, why)  # (False: a run claimed it first and offers it)
    return DispatchResult(row.file_name, row.records, row.total_cents, True)


def parked_file(engine: Engine, name: str | None) -> str | None:
    """`name` if it is a file held as uncertain (parked, not marked sent), else None."""
    files = lending_disbursement_files
    if not name:
        return None
    with engine.connect() as conn:
        held = files.c.parked_at.is_not(None) & files.c.uploaded_at.is_(None)
        return conn.execute(sa.select(files.c.file_name).where(files.c.file_name == name, held)).scalar()


def confirm_received(engine: Engine, name: str, now: datetime, note: str) -> bool:
    """The bank says it has a parked file: marked sent (its answer will come), the alert closed."""
    with engine.begin() as conn:
        row = _file(conn, name)
        return mark_sent(conn, row, now, f"operator: the bank confirms it received it; {note}")


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
                  last.c.attempt, lending_disbursement_files.c.file_name,
                  lending_disbursement_files.c.uploaded_at.label("file_sent_at"),
                  lending_disbursement_files.c.parked_at.label("file_parked_at"))
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
