"""SQL for the payment files: reserving a file and what it holds in one statement each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sql.tables import companies, payment_file_items, payment_files, payments

# Payments and reversals of a company not yet in any file. Their order in the file is fixed by
# the data (payments by booking time, then reversals by theirs), so nothing numbers them here.
_PENDING = """
SELECT payment_id, kind FROM (
  SELECT p.id AS payment_id, 'P' AS kind, p.created_at AS booked_at FROM payments p
   WHERE p.company_code = :company AND p.created_at >= :since
     AND NOT EXISTS (SELECT 1 FROM payment_file_items i WHERE i.payment_id = p.id AND i.kind = 'P')
  UNION ALL
  SELECT p.id, 'A', p.reversed_at FROM payments p
   WHERE p.company_code = :company AND p.status = 'A' AND p.reversed_at >= :since
     AND NOT EXISTS (SELECT 1 FROM payment_file_items i WHERE i.payment_id = p.id AND i.kind = 'A')
) pending
"""


_SINCE = sa.bindparam("since", type_=sa.DateTime(timezone=True))  # stored UTC; SQLite compares text


def _pending(sql: str) -> sa.TextClause:
    return sa.text(sql).bindparams(_SINCE)


RECORD_COLUMNS = (
    "kind", "client_code", "client_name", "service_code", "document", "due_date", "txn_at", "amount_cents",
    "operation_number", "channel", "payment_method", "accounting_date", "created_at", "reversal_txn_at",
    "reversal_channel", "reversal_accounting_date", "reversed_at",
)  # fmt: skip


class PaymentFileRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def company_codes(self) -> list[int]:
        return list(self.conn.execute(sa.select(companies.c.code).order_by(companies.c.code)).scalars())

    def lock_company(self, company: int) -> None:
        self.conn.execute(sa.select(companies.c.code).where(companies.c.code == company).with_for_update())

    def pending_count(self, company: int, since: datetime) -> int:
        return int(
            self.conn.execute(
                _pending(f"SELECT count(*) FROM ({_PENDING}) c"), {"company": company, "since": since}
            ).scalar()
            or 0
        )

    def next_seq(self, company: int, day: date) -> int:
        last = self.conn.execute(
            sa.select(sa.func.max(payment_files.c.seq)).where(
                (payment_files.c.company_code == company) & (payment_files.c.file_date == day)
            )
        ).scalar()
        return int(last or 0) + 1

    def reserve(self, company: int, name: str, day: date, seq: int, since: datetime, now: datetime) -> int:
        """Create the file row and mark every pending record as its own, in this transaction."""
        file_id = int(
            self.conn.execute(
                sa.insert(payment_files).values(
                    company_code=company, file_name=name, file_date=day, seq=seq, records=0, total_pen=0,
                    total_usd=0, created_at=now,
                )
            ).inserted_primary_key[0]
        )  # fmt: skip
        self.conn.execute(
            _pending(
                "INSERT INTO payment_file_items (payment_id, kind, file_id)"
                f" SELECT payment_id, kind, :file_id FROM ({_PENDING}) pending_records"
            ),
            {"company": company, "since": since, "file_id": file_id},
        )
        totals = self.conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.case(
                    (payments.c.currency != "1", 0), (payment_file_items.c.kind == "P", payments.c.amount_cents),
                    else_=-payments.c.amount_cents)), 0),
                sa.func.coalesce(sa.func.sum(sa.case(
                    (payments.c.currency != "2", 0), (payment_file_items.c.kind == "P", payments.c.amount_cents),
                    else_=-payments.c.amount_cents)), 0),
            )
            .select_from(payment_file_items.join(payments, payments.c.id == payment_file_items.c.payment_id))
            .where(payment_file_items.c.file_id == file_id)
        ).one()  # fmt: skip
        self.conn.execute(
            sa.update(payment_files)
            .where(payment_files.c.id == file_id)
            .values(records=totals[0], total_pen=totals[1], total_usd=totals[2])
        )
        return file_id

    def file(self, file_id: int) -> sa.Row[Any]:
        return self.conn.execute(sa.select(payment_files).where(payment_files.c.id == file_id)).one()

    def file_named(self, company: int | None, name: str) -> sa.Row[Any] | None:
        query = sa.select(payment_files).where(payment_files.c.file_name == name)
        if company is not None:
            query = query.where(payment_files.c.company_code == company)
        return self.conn.execute(query).first()

    def not_uploaded(self, company: int | None) -> list[sa.Row[Any]]:
        query = sa.select(payment_files).where(payment_files.c.uploaded_at.is_(None)).order_by(payment_files.c.id)
        if company is not None:
            query = query.where(payment_files.c.company_code == company)
        return list(self.conn.execute(query))

    def mark_uploaded(self, file_id: int, now: datetime) -> None:
        self.conn.execute(
            sa.update(payment_files)
            .where((payment_files.c.id == file_id) & payment_files.c.uploaded_at.is_(None))
            .values(uploaded_at=now)
        )

    def record_batches(self, file_id: int, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The file's records in order as plain tuples (RECORD_COLUMNS), straight from the driver
        (a server-side cursor on PostgreSQL): SQLAlchemy's per-row result processing would cost
        more than rendering the record."""
        backend = self.conn.engine.dialect.name
        mark = "?" if backend in ("sqlite", "mssql") else "%s"
        sql = (
            f"SELECT {', '.join(('i.kind', *(f'p.{c}' for c in RECORD_COLUMNS[1:])))}"
            " FROM payment_file_items i JOIN payments p ON p.id = i.payment_id"
            f" WHERE i.file_id = {mark}"
            " ORDER BY i.kind DESC, CASE WHEN i.kind = 'P' THEN p.created_at ELSE p.reversed_at END, p.id"
        )
        if backend == "postgresql":
            cursor = self.conn.connection.driver_connection.cursor(name=f"payment_file_{file_id}")
        else:
            cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql, (file_id,))
            while rows := cursor.fetchmany(size):
                yield rows  # SQLite gives dates and times as ISO text; the renderer reads both
        finally:
            cursor.close()
