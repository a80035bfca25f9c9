"""One day of the service as the operations console shows it: per company the debt files with
their rejected lines, payment files and records waiting, the day's pagos per hour, purchases by
state, dispersions waiting for the bank, failed webhooks. The day is Lima's (the companies' and
banks' day), so it runs from 05:00 UTC to 05:00 UTC. Reads only, each query bounded."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.yapago import LIMA
from sql.engine import stored_utc
from sql.payment_file_repository import PaymentFileRepository
from sql.tables import companies, debt_file_errors, debt_files, lending_purchases, payments
from usecases.reports import DebtFileRow, PaymentFileRow, payment_file_rows, pending_records

REJECTED_LINES_SHOWN = 20  # per file: the .ERR in Complete/ has them all


@dataclass(frozen=True)
class RejectedLine:
    line_no: int
    field: str
    reason: str
    raw: str


@dataclass(frozen=True)
class DayFile:
    row: DebtFileRow
    rejected_lines: list[RejectedLine]


@dataclass
class CompanyDay:
    code: int
    name: str
    debt_files: list[DayFile] = field(default_factory=list)
    payment_files: list[PaymentFileRow] = field(default_factory=list)
    waiting: int = 0  # payments and reversals in no payment file yet
    deactivated: bool = False
    # payment files in Pagos/ that the biller has not taken yet (any day): (name, written at), oldest first
    untaken: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class HourCount:
    hour: int  # 0-23, Lima
    pagos: int
    reversas: int


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Lima's `day` as UTC instants [start, end)."""
    start = datetime.combine(day, time(0), LIMA)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def lima_today(now: datetime) -> date:
    return now.astimezone(LIMA).date()


def companies_day(engine: Engine, day: date, limit: int = 200) -> list[CompanyDay]:
    """Every company with its debt files and payment files of `day`, and its records waiting."""
    start, end = day_bounds(day)
    with engine.connect() as conn:
        found = {r.code: CompanyDay(r.code, r.name, deactivated=r.deactivated_at is not None)
                 for r in conn.execute(sa.select(companies).order_by(companies.c.code))}  # fmt: skip
        files = conn.execute(
            sa.select(debt_files).where(debt_files.c.finished_at >= start, debt_files.c.finished_at < end)
            .order_by(debt_files.c.id.desc()).limit(limit)
        ).all()  # fmt: skip
        for f in files:
            lines = conn.execute(
                sa.select(debt_file_errors).where(debt_file_errors.c.file_id == f.id)
                .order_by(debt_file_errors.c.seq).limit(REJECTED_LINES_SHOWN)
            ).all()  # fmt: skip
            rejected = [RejectedLine(e.line_no, e.field, e.reason, e.raw_line) for e in lines]
            company = found.setdefault(f.company_code, CompanyDay(f.company_code, "?"))
            company.debt_files.append(DayFile(DebtFileRow.of(f), rejected))
    for pf in payment_file_rows(engine, limit=limit):
        if pf.uploaded_at is None or start <= pf.uploaded_at < end:
            found.setdefault(pf.company, CompanyDay(pf.company, "?")).payment_files.append(pf)
    for code, count in pending_records(engine).items():
        found.setdefault(code, CompanyDay(code, "?")).waiting = count
    with engine.connect() as conn:
        for row in PaymentFileRepository(conn).untaken():
            company = found.setdefault(row.company_code, CompanyDay(row.company_code, "?"))
            company.untaken.append((row.file_name, stored_utc(row.uploaded_at)))
    return list(found.values())


def pagos_per_hour(engine: Engine, day: date) -> list[HourCount]:
    """The day's pagos by the hour of their transaction (the bank's fechaTxn/horaTxn, Lima), and
    the reversals booked that day by the hour of theirs."""
    start, end = day_bounds(day)
    paid: Counter[int] = Counter()
    reversed_: Counter[int] = Counter()
    with engine.connect() as conn:
        for (txn_at,) in conn.execute(sa.select(payments.c.txn_at).where(payments.c.txn_at >= start,
                                                                          payments.c.txn_at < end)):  # fmt: skip
            paid[stored_utc(txn_at).astimezone(LIMA).hour] += 1
        query = sa.select(payments.c.reversal_txn_at).where(payments.c.reversal_txn_at >= start,
                                                            payments.c.reversal_txn_at < end)  # fmt: skip
        for (txn_at,) in conn.execute(query):
            reversed_[stored_utc(txn_at).astimezone(LIMA).hour] += 1
    return [HourCount(h, paid[h], reversed_[h]) for h in range(24)]


def purchases_by_state(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        query = sa.select(lending_purchases.c.state, sa.func.count()).group_by(lending_purchases.c.state)
        return {state: int(n) for state, n in sorted(conn.execute(query).all())}
