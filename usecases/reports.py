"""What happened, as an operator asks it: API clients, companies, debt files, payment files and
the records waiting for one, lending purchases. Reads only; the operator commands print these rows (and
the operations console will show the same ones), newest first where time orders them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sql.engine import stored_utc
from sql.payment_file_repository import PaymentFileRepository
from sql.tables import api_clients, companies, debt_files, debts, lending_purchases, payment_files, services


@dataclass(frozen=True)
class CompanyRow:
    code: int
    name: str
    services: str  # 001:completa:PEN, ...
    debts: int
    deactivated_at: datetime | None = None


@dataclass(frozen=True)
class ClientRow:
    """An API client as an operator sees it: never its secret or hash."""

    client_id: str
    scopes: str
    banks: str | None  # None: any bank
    channels: str | None  # None: no distributor channel
    active: bool
    credential_version: int  # +1 at every rotation, disable and enable
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DebtFileRow:
    company: int
    file_name: str
    status: str
    update_type: str | None
    lines: int
    applied: int
    rejected: int
    applied_pen: int
    applied_usd: int
    finished_at: datetime

    @classmethod
    def of(cls, r: Any) -> DebtFileRow:
        """From a `debt_files` row."""
        return cls(r.company_code, r.file_name, r.status, r.update_type, r.lines, r.applied, r.rejected,
                   r.applied_total_pen, r.applied_total_usd, stored_utc(r.finished_at))  # fmt: skip


@dataclass(frozen=True)
class Settlement:
    """Whether a payment file's biller counts as having applied it (domain/settlement.py), as an
    operator reads it: `state` taken / waiting (still in Pagos/, its payments count against a
    reload) / settled (still in Pagos/, past the settlement delay) / reserved; `at` when it was
    seen taken, or when it settles."""

    state: str
    at: datetime | None

    @property
    def text(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M:%S}Z" if self.at else ""
        return {
            "taken": f"taken (seen gone {when})",
            "waiting": f"in Pagos/, counts against reloads until taken or {when}" if self.at
            else "in Pagos/, counts against reloads until taken",
            "settled": f"in Pagos/, applied by contract since {when}",
            "reserved": "not on the exchange yet",
        }[self.state]


@dataclass(frozen=True)
class PaymentFileRow:
    company: int
    file_name: str
    records: int
    total_pen: int  # paid minus reversed, as the file's totals
    total_usd: int
    uploaded_at: datetime | None  # None: reserved, not yet on the exchange
    taken_at: datetime | None = None  # first seen gone from Pagos/ (the biller took it)

    def settlement(self, delay: timedelta, now: datetime | None = None) -> Settlement:
        """Taken, waiting or settled under PAYMENT_FILE_SETTLEMENT_HOURS `delay` (0: taken only)."""
        if self.uploaded_at is None:
            return Settlement("reserved", None)
        if self.taken_at is not None:
            return Settlement("taken", self.taken_at)
        if delay <= timedelta(0):
            return Settlement("waiting", None)
        due = self.uploaded_at + delay
        return Settlement("settled" if due <= (now or datetime.now(UTC)) else "waiting", due)


@dataclass(frozen=True)
class PurchaseRow:
    id: str
    channel: str
    customer: str
    amount: Decimal
    state: str
    updated_at: datetime


def company_rows(engine: Engine) -> list[CompanyRow]:
    with engine.connect() as conn:
        offered: dict[int, list[str]] = {}
        for row in conn.execute(sa.select(services).order_by(services.c.company_code, services.c.code)):
            offered.setdefault(row.company_code, []).append(f"{row.code}:{row.validation_mode}:{row.currency}")
        per_company = sa.select(debts.c.company_code, sa.func.count()).group_by(debts.c.company_code)
        counts = dict(conn.execute(per_company).all())
        return [CompanyRow(r.code, r.name, ", ".join(offered.get(r.code, [])), int(counts.get(r.code, 0)),
                           stored_utc(r.deactivated_at) if r.deactivated_at else None)
                for r in conn.execute(sa.select(companies).order_by(companies.c.code))]  # fmt: skip


def client_rows(engine: Engine, client_id: str | None = None) -> list[ClientRow]:
    query = sa.select(api_clients).order_by(api_clients.c.client_id)
    if client_id is not None:
        query = query.where(api_clients.c.client_id == client_id)
    with engine.connect() as conn:
        return [ClientRow(r.client_id, r.scopes, r.bank_codes, r.channel_codes, bool(r.active), r.credential_version,
                          r.failed_attempts, stored_utc(r.locked_until) if r.locked_until else None,
                          stored_utc(r.created_at), stored_utc(r.updated_at))
                for r in conn.execute(query)]  # fmt: skip


def debt_file_rows(engine: Engine, company: int | None = None, since: datetime | None = None,
                   limit: int = 50) -> list[DebtFileRow]:  # fmt: skip
    query = sa.select(debt_files).order_by(debt_files.c.id.desc()).limit(limit)
    if company is not None:
        query = query.where(debt_files.c.company_code == company)
    if since is not None:
        query = query.where(debt_files.c.finished_at >= since)
    with engine.connect() as conn:
        return [DebtFileRow.of(r) for r in conn.execute(query)]


def payment_file_rows(engine: Engine, company: int | None = None, limit: int = 50) -> list[PaymentFileRow]:
    query = sa.select(payment_files).order_by(payment_files.c.id.desc()).limit(limit)
    if company is not None:
        query = query.where(payment_files.c.company_code == company)
    with engine.connect() as conn:
        return [PaymentFileRow(r.company_code, r.file_name, r.records, r.total_pen, r.total_usd,
                               stored_utc(r.uploaded_at) if r.uploaded_at else None,
                               stored_utc(r.taken_at) if r.taken_at else None)
                for r in conn.execute(query)]  # fmt: skip


def pending_records(engine: Engine) -> dict[int, int]:
    """Company -> payments and reversals booked and in no file yet (only companies with some)."""
    with engine.connect() as conn:
        repo = PaymentFileRepository(conn)
        counts = {code: repo.pending_count(code) for code in repo.company_codes()}
    return {code: n for code, n in counts.items() if n}


def purchase_rows(engine: Engine, state: str | None = None, limit: int = 50) -> list[PurchaseRow]:
    query = sa.select(lending_purchases).order_by(lending_purchases.c.updated_at.desc()).limit(limit)
    if state is not None:
        query = query.where(lending_purchases.c.state == state)
    with engine.connect() as conn:
        return [PurchaseRow(r.id, r.channel, r.customer_id, r.amount, r.state, stored_utc(r.updated_at))
                for r in conn.execute(query)]  # fmt: skip
