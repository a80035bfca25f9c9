"""The bank's response files (spec steps 28-31): each applied once, each line at most once.

A file is identified by the SHA-256 of its bytes. One transaction, under the run's lock,
records the file and every line (the audit of what the bank said), sorts out the lines that
cannot be applied (malformed, unknown attempt, already answered), decides the rest with the
domain's rule and applies them set-based: the attempt's answer, the purchase's state, its
events, the retry file's attempts and the webhook outbox. Only then is the retry file written
(from SQL, like a dispersion file) and the response file moved to `procesados/`. A crash
before the commit leaves nothing; after it, the next run finds the file's hash recorded and
only finishes the writing and the move.

The same transaction marks sent every dispersion or retry file the response answers a line of
(the bank had it: a file parked as uncertain is settled so), and raises an alert for every P
line that is not its purchase's one disbursement (a second P for an attempt, a P for another
attempt of a purchase reported paid, a P for an attempt rejected or never sent) and for every
rejection held because the bank also reported the purchase paid (domain/lending/responses.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from adapters.files.port import FileInfo, FileStore
from domain.layouts.disbursements import RESPONSE
from domain.lending.responses import (
    EarlierAnswer,
    LineProblem,
    Outcome,
    PaidLine,
    decide,
    held_alert,
    inconsistency,
    payment_alert,
    reason_text,
)
from domain.lending.states import State, next_state
from sql.bulk import insert_rows
from sql.engine import refresh_statistics
from sql.locks import hold_run_lock
from sql.tables import (
    lending_disbursement_files,
    lending_dispatches,
    lending_drawdowns,
    lending_events,
    lending_purchases,
    lending_response_files,
    lending_response_lines,
    lending_webhooks,
)
from usecases.alerts import raise_alert
from usecases.disbursements import (
    BULK,
    Checkpoint,
    DispatchResult,
    close_file,
    insert_file,
    mark_sent,
    write_file,
    write_leftovers,
)

RESPONSES_FOLDER = "dispersiones/respuestas"
PROCESSED_FOLDER = "dispersiones/respuestas/procesados"
PENDING = "pending"
REPORTED_PROBLEMS = 20  # problem lines named in a run's result (all of them are in SQL)
_LINES = lending_response_lines
_DISPATCHES = lending_dispatches


@dataclass(frozen=True)
class ResponseResult:
    file_name: str
    already_applied: bool
    lines: int = 0
    disbursed: int = 0
    retried: int = 0
    failed: int = 0
    malformed: int = 0
    unknown: int = 0
    duplicates: int = 0
    retry_file: str | None = None
    problems: list[str] = field(default_factory=list)  # "line 3 unknown: ..." (the first few)
    alerts: list[str] = field(default_factory=list)  # "ALERT #4 double_payment: ..." raised by this file
    taken: list[str] = field(default_factory=list)  # files not marked sent that this file answers (the bank had them)


def split_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Numbered lines, CRLF or LF; the newline after the last line is optional."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        yield number, line[:-1] if line.endswith(b"\r") else line


def read_line(number: int, line: bytes) -> dict[str, Any]:
    """The row a line becomes: readable and pending, or malformed with the reason."""
    record, errors = RESPONSE.parse(line, number)
    problem = "; ".join(str(e) for e in errors) if errors or record is None else inconsistency(record)
    if problem or record is None:
        return {"line_no": number, "purchase_id": None, "attempt": None, "status": None, "reason_code": None,
                "tracking_key": None, "outcome": LineProblem.MALFORMED.value,
                "detail": (problem or "unreadable")[:300]}  # fmt: skip
    return {"line_no": number, "purchase_id": record["id_transaccion"], "attempt": record["intento"],
            "status": record["estatus"], "reason_code": record["codigo_motivo"],
            "tracking_key": record["clave_rastreo"] or None, "outcome": PENDING, "detail": ""}  # fmt: skip


def read_lines(data: bytes) -> list[dict[str, Any]]:
    """Every line as a row; a later line answering the same attempt as an earlier one is a duplicate."""
    rows, first_line = [], {}
    for number, raw in split_lines(data):
        row = read_line(number, raw)
        if row["outcome"] == PENDING:
            key = (row["purchase_id"], row["attempt"])
            if key in first_line:
                row |= {"outcome": LineProblem.DUPLICATE.value,
                        "detail": f"this attempt is answered by line {first_line[key]} of the file"}  # fmt: skip
            else:
                first_line[key] = number
        rows.append(row)
    return rows


def _mark(conn: sa.Connection, file_id: int, outcome: str, detail: str, condition: Any) -> None:
    conn.execute(sa.update(_LINES).where(_LINES.c.file_id == file_id, _LINES.c.outcome == PENDING, condition)
                 .values(outcome=outcome, detail=detail))  # fmt: skip


def _sort_out(conn: sa.Connection, file_id: int) -> None:
    """Lines that name no attempt ever sent, or one already answered, are reported, not applied."""
    attempt = (_DISPATCHES.c.purchase_id == _LINES.c.purchase_id) & (_DISPATCHES.c.attempt == _LINES.c.attempt)
    sent = sa.exists().where(attempt)
    _mark(conn, file_id, LineProblem.UNKNOWN.value, "no dispersion of this transaction and attempt was sent", ~sent)
    answered = sa.exists().where(attempt, _DISPATCHES.c.result.is_not(None))
    _mark(conn, file_id, LineProblem.DUPLICATE.value, "this attempt was already answered in an earlier file",
          answered)  # fmt: skip


_OTHER = _LINES.alias("other_line")
_SENT = _DISPATCHES.alias("sent_attempt")


def _paid_elsewhere() -> Any:
    """Another line (any file) reports this line's purchase paid for an attempt that was sent."""
    sent = sa.exists().where(_SENT.c.purchase_id == _OTHER.c.purchase_id, _SENT.c.attempt == _OTHER.c.attempt)
    return sa.exists().where(_OTHER.c.purchase_id == _LINES.c.purchase_id, _OTHER.c.status == "P",
                             _OTHER.c.id != _LINES.c.id, sent)  # fmt: skip


def _any_paid_elsewhere(conn: sa.Connection, file_id: int) -> bool:
    """Whether a rejection of this file names a purchase reported paid: only then is the flag
    worked out line by line (the usual file has none, and the check is per line)."""
    rejected = sa.select(_LINES.c.id).where(_LINES.c.file_id == file_id, _LINES.c.outcome == PENDING,
                                            _LINES.c.status == "R", _paid_elsewhere())  # fmt: skip
    return conn.execute(rejected.limit(1)).first() is not None


def _apply_group(conn: sa.Connection, file_id: int, name: str, group: Any, max_retries: int, now: datetime) -> str:
    """Decide one (status, reason, attempt, paid elsewhere) group with the domain's rule and move its purchases."""
    outcome = decide(group.status, group.reason_code, group.attempt, max_retries, bool(group.paid))
    # group.paid: 1 or 0 for a rejection when some rejection of the file names a purchase reported paid, else null
    if outcome is Outcome.DISBURSED:
        detail = f"processed by the bank ({name})"
    elif outcome is Outcome.HELD:
        detail = (f"SPEI {group.reason_code} {reason_text(group.reason_code)}, attempt {group.attempt}: held, the "
                  f"bank also reported it paid; for an operator (manage.py alerts) ({name})")  # fmt: skip
    else:
        verb = "sent again in a retry file" if outcome is Outcome.RETRY else "failed, limit released"
        detail = f"SPEI {group.reason_code} {reason_text(group.reason_code)}, attempt {group.attempt}: {verb} ({name})"
    in_group = (_LINES.c.status == group.status) & (_LINES.c.reason_code == group.reason_code) & (
        _LINES.c.attempt == group.attempt)  # fmt: skip
    if group.paid is not None:
        in_group &= _paid_elsewhere() if group.paid else ~_paid_elsewhere()
    _mark(conn, file_id, outcome.value, detail[:300], in_group)
    ids = sa.select(_LINES.c.purchase_id).where(_LINES.c.file_id == file_id, _LINES.c.outcome == outcome.value,
                                                in_group)  # fmt: skip
    target = next_state(State.DISBURSING, outcome.value)
    values: dict[str, Any] = {"state": target.value, "updated_at": now, "reason": detail[:300]}
    if outcome is Outcome.RETRY:
        values |= {"retries": lending_purchases.c.retries + 1, "retried_at": now}
    conn.execute(sa.update(lending_purchases).where(lending_purchases.c.state == State.DISBURSING.value,
                                                    lending_purchases.c.id.in_(ids)).values(**values))  # fmt: skip
    stamp = sa.literal(now, sa.DateTime(timezone=True))
    conn.execute(sa.insert(lending_events).from_select(
        ["purchase_id", "from_state", "event", "to_state", "detail", "created_at"],
        sa.select(_LINES.c.purchase_id, sa.literal(State.DISBURSING.value), sa.literal(outcome.value),
                  sa.literal(target.value), sa.literal(detail[:300]), stamp)
        .where(_LINES.c.file_id == file_id, _LINES.c.outcome == outcome.value, in_group)))  # fmt: skip
    return outcome.value


def _answer_attempts(conn: sa.Connection, file_id: int, now: datetime) -> None:
    applied = [o.value for o in Outcome]
    conn.execute(
        sa.update(_DISPATCHES)
        .where(_LINES.c.file_id == file_id, _LINES.c.outcome.in_(applied),
               _DISPATCHES.c.purchase_id == _LINES.c.purchase_id, _DISPATCHES.c.attempt == _LINES.c.attempt,
               _DISPATCHES.c.result.is_(None))
        .values(result=_LINES.c.status, reason_code=_LINES.c.reason_code, tracking_key=_LINES.c.tracking_key,
                response_line_id=_LINES.c.id, responded_at=now)
    )  # fmt: skip


def _queue_webhooks(conn: sa.Connection, file_id: int, now: datetime) -> None:
    """The outbox rows, in the transaction that changed the purchases: one per final outcome."""
    stamp = sa.literal(now, sa.DateTime(timezone=True))
    for outcome in (Outcome.DISBURSED, Outcome.FAILED):
        conn.execute(sa.insert(lending_webhooks).from_select(
            ["event_id", "channel", "purchase_id", "outcome", "attempt", "reason_code", "tracking_key", "occurred_at",
             "state", "attempts", "next_attempt_at", "queued_at", "created_at"],
            sa.select(_LINES.c.purchase_id + sa.literal(f".{outcome.value}"), lending_purchases.c.channel,
                      _LINES.c.purchase_id, sa.literal(outcome.value), _LINES.c.attempt, _LINES.c.reason_code,
                      _LINES.c.tracking_key, stamp, sa.literal("PENDING"), sa.literal(0), stamp, stamp, stamp)
            .join_from(_LINES, lending_purchases, lending_purchases.c.id == _LINES.c.purchase_id)
            .where(_LINES.c.file_id == file_id, _LINES.c.outcome == outcome.value)))  # fmt: skip


def _queue_drawdowns(conn: sa.Connection, file_id: int, now: datetime) -> None:
    """The credit the disbursed purchases consumed, in the transaction that ends their hold: it
    stays counted until Mambu confirms its booking (usecases/drawdowns.py)."""
    stamp = sa.literal(now, sa.DateTime(timezone=True))
    conn.execute(sa.insert(lending_drawdowns).from_select(
        ["purchase_id", "customer_id", "amount", "state", "attempts", "next_attempt_at", "created_at"],
        sa.select(lending_purchases.c.id, lending_purchases.c.customer_id, lending_purchases.c.amount,
                  sa.literal("PENDING"), sa.literal(0), stamp, stamp)
        .join_from(_LINES, lending_purchases, lending_purchases.c.id == _LINES.c.purchase_id)
        .where(_LINES.c.file_id == file_id, _LINES.c.outcome == Outcome.DISBURSED.value)))  # fmt: skip


def _mark_taken(conn: sa.Connection, file_id: int, name: str, now: datetime) -> list[str]:
    """Files not marked sent whose attempts this response answers: the bank had them (a file
    parked as uncertain is settled so). Before the retry file is reserved, which is not the bank's."""
    files = lending_disbursement_files
    answers = (_LINES.c.purchase_id == _DISPATCHES.c.purchase_id) & (_LINES.c.attempt == _DISPATCHES.c.attempt)
    named = sa.select(_DISPATCHES.c.file_id).join(_LINES, answers).where(_LINES.c.file_id == file_id)
    rows = conn.execute(sa.select(files).where(files.c.uploaded_at.is_(None), files.c.id.in_(named))
                        .order_by(files.c.id)).all()  # fmt: skip
    for row in rows:
        mark_sent(conn, row, now, f"the bank answered its lines in {name}: it had the file; marked sent")
    return [row.file_name for row in rows]


def _where(conn: sa.Connection, line_id: int | None) -> PaidLine | None:
    if line_id is None:
        return None
    found = conn.execute(
        sa.select(lending_response_files.c.file_name, _LINES.c.line_no, _LINES.c.attempt, _LINES.c.tracking_key)
        .join(lending_response_files, lending_response_files.c.id == _LINES.c.file_id).where(_LINES.c.id == line_id)
    ).first()  # fmt: skip
    return PaidLine(*found) if found is not None else None


def _other_payment(conn: sa.Connection, line: Any, earlier_only: bool, sent_only: bool) -> PaidLine | None:
    """The first other P line naming the same purchase (earlier ones only, or sent attempts only)."""
    query = sa.select(_OTHER.c.id).where(_OTHER.c.purchase_id == line.purchase_id, _OTHER.c.status == "P",
                                         _OTHER.c.id != line.id)  # fmt: skip
    if earlier_only:
        query = query.where(_OTHER.c.id < line.id)
    if sent_only:
        query = query.where(sa.exists().where(_SENT.c.purchase_id == _OTHER.c.purchase_id,
                                              _SENT.c.attempt == _OTHER.c.attempt))  # fmt: skip
    return _where(conn, conn.execute(query.order_by(_OTHER.c.id).limit(1)).scalar())


def _raise_alerts(conn: sa.Connection, file_id: int, name: str, now: datetime) -> list[str]:
    """One alert per P line that is not its purchase's one disbursement, and per held rejection."""
    earlier_p = sa.exists().where(_OTHER.c.purchase_id == _LINES.c.purchase_id, _OTHER.c.status == "P",
                                  _OTHER.c.id < _LINES.c.id)  # fmt: skip
    suspects = conn.execute(
        sa.select(_LINES).where(_LINES.c.file_id == file_id, _LINES.c.purchase_id.is_not(None), sa.or_(
            (_LINES.c.status == "P") & ((_LINES.c.outcome != Outcome.DISBURSED.value) | earlier_p),
            _LINES.c.outcome == Outcome.HELD.value)).order_by(_LINES.c.line_no)
    ).all()  # fmt: skip
    raised = []
    for line in suspects:
        here = PaidLine(name, line.line_no, line.attempt, line.tracking_key)
        if line.outcome == Outcome.HELD.value:
            paid = _other_payment(conn, line, earlier_only=False, sent_only=True)
            found = held_alert(here, line.purchase_id, line.reason_code, paid) if paid is not None else None
        else:
            state = conn.execute(sa.select(lending_purchases.c.state)
                                 .where(lending_purchases.c.id == line.purchase_id)).scalar()  # fmt: skip
            sent = conn.execute(sa.select(_DISPATCHES.c.result, _DISPATCHES.c.reason_code,
                                          _DISPATCHES.c.response_line_id)
                                .where(_DISPATCHES.c.purchase_id == line.purchase_id,
                                       _DISPATCHES.c.attempt == line.attempt)).first()  # fmt: skip
            answer = None
            if sent is not None and sent.result is not None and sent.response_line_id != line.id:
                before = _where(conn, sent.response_line_id)
                answer = EarlierAnswer(sent.result, sent.reason_code, before.file_name if before else "?")
            found = payment_alert(here, line.purchase_id, state, line.outcome == Outcome.DISBURSED.value,
                                  _other_payment(conn, line, earlier_only=True, sent_only=False), sent is not None,
                                  answer)  # fmt: skip
        if found is not None:
            kind, detail = found
            alert = raise_alert(conn, f"line:{line.id}", kind, detail, now, purchase_id=line.purchase_id,
                                file_name=name, response_line_id=line.id)  # fmt: skip
            raised.append(str(alert))
    return raised


def _reserve_retries(conn: sa.Connection, file_id: int, now: datetime) -> Any:
    """One retry file with the next attempt of every purchase this file sends again, or None."""
    retries = sa.select(_LINES.c.line_no).where(_LINES.c.file_id == file_id, _LINES.c.outcome == Outcome.RETRY.value)
    if conn.execute(retries.limit(1)).first() is None:
        return None
    retry_id, _ = insert_file(conn, "R", now)
    conn.execute(sa.insert(_DISPATCHES).from_select(
        ["purchase_id", "attempt", "file_id", "created_at"],
        sa.select(_LINES.c.purchase_id, _LINES.c.attempt + 1, sa.literal(retry_id, sa.BigInteger),
                  sa.literal(now, sa.DateTime(timezone=True)))
        .where(_LINES.c.file_id == file_id, _LINES.c.outcome == Outcome.RETRY.value)
        .order_by(_LINES.c.line_no)))  # fmt: skip
    return close_file(conn, retry_id)


def _apply(
    engine: Engine, name: str, data: bytes, digest: str, now: datetime, max_retries: int, checkpoint: Checkpoint
) -> tuple[ResponseResult, Any]:
    with engine.connect().execution_options(sqlite_immediate=True) as conn, conn.begin():
        hold_run_lock(conn, "disbursement_responses")
        seen = conn.execute(sa.select(lending_response_files).where(lending_response_files.c.sha256 == digest)).first()
        if seen is not None:
            retry = None
            if seen.retry_file_id is not None:
                retry = conn.execute(sa.select(lending_disbursement_files).where(
                    lending_disbursement_files.c.id == seen.retry_file_id)).one()  # fmt: skip
            return _result(conn, seen, already=True, retry=retry), None
        file_id = conn.execute(sa.insert(lending_response_files).values(
            file_name=name[:120], sha256=digest, lines=0, disbursed=0, retried=0, failed=0, malformed=0, unknown=0,
            duplicates=0, processed_at=now)).inserted_primary_key[0]  # fmt: skip
        rows = [row | {"file_id": file_id} for row in read_lines(data)]
        for start in range(0, len(rows), 10_000):
            insert_rows(conn, _LINES, rows[start : start + 10_000])
        if len(rows) >= BULK:
            refresh_statistics(conn, _LINES, _DISPATCHES, lending_purchases)
        _sort_out(conn, file_id)
        taken = _mark_taken(conn, file_id, name, now)
        paid = (sa.case((_LINES.c.status == "R", sa.case((_paid_elsewhere(), 1), else_=0)), else_=sa.null())
                if _any_paid_elsewhere(conn, file_id) else sa.null())  # (null: not asked, so not held)  # fmt: skip
        groups = conn.execute(
            sa.select(_LINES.c.status, _LINES.c.reason_code, _LINES.c.attempt, paid.label("paid"))
            .where(_LINES.c.file_id == file_id, _LINES.c.outcome == PENDING).distinct()
        ).all()  # fmt: skip
        for group in groups:
            _apply_group(conn, file_id, name, group, max_retries, now)
        _answer_attempts(conn, file_id, now)
        alerts = _raise_alerts(conn, file_id, name, now)
        _queue_webhooks(conn, file_id, now)
        _queue_drawdowns(conn, file_id, now)
        retry = _reserve_retries(conn, file_id, now)
        counts = dict(conn.execute(sa.select(_LINES.c.outcome, sa.func.count()).where(_LINES.c.file_id == file_id)
                                   .group_by(_LINES.c.outcome)).all())  # fmt: skip
        conn.execute(sa.update(lending_response_files).where(lending_response_files.c.id == file_id).values(
            lines=len(rows), disbursed=counts.get("disbursed", 0), retried=counts.get("retry", 0),
            failed=counts.get("failed", 0), malformed=counts.get("malformed", 0), unknown=counts.get("unknown", 0),
            duplicates=counts.get("duplicate", 0), retry_file_id=retry.id if retry is not None else None))  # fmt: skip
        checkpoint("applying")  # a crash here rolls everything back
        row = conn.execute(sa.select(lending_response_files).where(lending_response_files.c.id == file_id)).one()
        return _result(conn, row, already=False, retry=retry, alerts=alerts, taken=taken), retry


def _result(conn: sa.Connection, row: Any, already: bool, retry: Any, alerts: list[str] | None = None,
            taken: list[str] | None = None) -> ResponseResult:  # fmt: skip
    reported = [p.value for p in LineProblem] + [Outcome.HELD.value]
    problems = conn.execute(
        sa.select(_LINES.c.line_no, _LINES.c.outcome, _LINES.c.detail)
        .where(_LINES.c.file_id == row.id, _LINES.c.outcome.in_(reported))
        .order_by(_LINES.c.line_no).limit(REPORTED_PROBLEMS)
    ).all()  # fmt: skip
    return ResponseResult(
        row.file_name, already, row.lines, row.disbursed, row.retried, row.failed, row.malformed, row.unknown,
        row.duplicates, retry.file_name if retry is not None else None,
        [f"line {p.line_no} {p.outcome}: {p.detail}" for p in problems], alerts or [], taken or [],
    )  # fmt: skip


def _archive(store: FileStore, info: FileInfo, digest: str) -> None:
    """Out of the inbox, kept: `procesados/NAME` (a different file under a used name gets its hash)."""
    target = f"{PROCESSED_FOLDER}/{info.name}"
    if store.exists(target) and hashlib.sha256(store.read_bytes(target)).hexdigest() != digest:
        target = f"{PROCESSED_FOLDER}/{info.name}.{digest[:12]}"
    store.move(info.path, target)


def process_responses(
    engine: Engine, store: FileStore, clock: Callable[[], datetime], max_retries: int,
    checkpoint: Checkpoint = lambda step: None,
) -> tuple[list[ResponseResult], list[DispatchResult]]:  # fmt: skip
    """Every file in `dispersiones/respuestas/`, oldest first; the retry files they cause."""
    retry_files = write_leftovers(engine, store, "R", checkpoint, clock)
    store.mkdir(RESPONSES_FOLDER)  # the bank's (or an operator's) inbox exists from the first run on
    results = []
    for info in store.list(RESPONSES_FOLDER):
        data = store.read_bytes(info.path)
        digest = hashlib.sha256(data).hexdigest()
        result, retry = _apply(engine, info.name, data, digest, clock(), max_retries, checkpoint)
        checkpoint("applied")
        if retry is not None:
            write_file(engine, store, retry, checkpoint, clock)
            retry_files.append(DispatchResult(retry.file_name, retry.records, retry.total_cents, False))
        _archive(store, info, digest)
        checkpoint("archived")
        results.append(result)
    return results, retry_files
