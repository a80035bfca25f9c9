"""SQL for the payment files: a file is a company's range of booked records.

Booking a payment or a reversal inserts its rendered record (payment_records) while holding
the company's cursor row in share mode; reserving a file holds that row exclusively, so
when it reads the company's last record id no booking of that company is in flight: every
id up to it is committed and every later booking gets a larger id. A file is then
(after_record_id, last_record_id], written in O(1) rows whatever its size, and the next
file starts where it ended: no record is left out or held twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sql.locks import lock_row
from sql.tables import companies, payment_file_cursors, payment_files, payment_records

WINDOW = 20_000  # record ids per query when rendering: bounds memory, keeps the scan sequential

# Per window of ids: which file each record belongs to (a CASE over the files whose range
# meets the window), then per file the record count, the signed totals per currency (P adds,
# A subtracts) and, where the database can join strings in a given order, the text itself.
_TOTALS = """count(*),
  sum(CASE WHEN currency = '1' THEN CASE WHEN kind = 'P' THEN amount_cents ELSE -amount_cents END ELSE 0 END),
  sum(CASE WHEN currency = '2' THEN CASE WHEN kind = 'P' THEN amount_cents ELSE -amount_cents END ELSE 0 END),
  sum(CASE WHEN kind = 'A' THEN 1 ELSE 0 END),
  sum(CASE WHEN kind = 'A' AND currency = '1' THEN amount_cents ELSE 0 END),
  sum(CASE WHEN kind = 'A' AND currency = '2' THEN amount_cents ELSE 0 END)"""
_AGGREGATE = {
    "postgresql": "string_agg(record || E'\\r\\n', '' ORDER BY id)",
    "mssql": "STRING_AGG(CAST(record AS VARCHAR(MAX)) + CHAR(13) + CHAR(10), '') WITHIN GROUP (ORDER BY id)",
}
_WINDOW = """SELECT * FROM (
  SELECT CASE {cases} END AS file_id, id, currency, kind, amount_cents, record
    FROM payment_records WHERE id > {lo} AND id <= {hi}
) w WHERE file_id IS NOT NULL"""


def _window(files: Sequence[Any], lo: int, hi: int) -> str | None:
    """The window's records tagged with their file, or None when no file's range meets it."""
    cases = [
        f"WHEN company_code = {int(f.company_code)} AND id > {int(f.after_record_id)}"
        f" AND id <= {int(f.last_record_id)} THEN {int(f.id)}"
        for f in files
        if f.after_record_id < hi and f.last_record_id > lo
    ]
    return _WINDOW.format(cases=" ".join(cases), lo=lo, hi=hi) if cases else None


class PaymentFileRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def company_codes(self) -> list[int]:
        return list(self.conn.execute(sa.select(companies.c.code).order_by(companies.c.code)).scalars())

    def lock_cursor(self, company: int) -> int:
        """Hold the company's cursor exclusively (bookings of it wait) and return its last filed id."""
        row = lock_row(self.conn, payment_file_cursors, payment_file_cursors.c.company_code == company, "exclusive")
        if row is None:
            raise LookupError(f"company {company:05d} has no payment-file cursor")
        return int(row.last_record_id)

    def last_record_id(self, company: int) -> int:
        return int(
            self.conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(payment_records.c.id), 0)).where(
                    payment_records.c.company_code == company
                )
            ).scalar_one()
        )

    def pending_count(self, company: int, since: datetime | None = None) -> int:
        """Records of the company in no file yet (booked from `since` on, if given)."""
        query = (
            sa.select(sa.func.count())
            .select_from(payment_records.join(
                payment_file_cursors, payment_file_cursors.c.company_code == payment_records.c.company_code))
            .where((payment_records.c.company_code == company)
                   & (payment_records.c.id > payment_file_cursors.c.last_record_id))
        )  # fmt: skip
        if since is not None:
            query = query.where(payment_records.c.booked_at >= since)
        return int(self.conn.execute(query).scalar_one())

    def next_seq(self, company: int, day: date) -> int:
        last = self.conn.execute(
            sa.select(sa.func.max(payment_files.c.seq)).where(
                (payment_files.c.company_code == company) & (payment_files.c.file_date == day)
            )
        ).scalar()
        return int(last or 0) + 1

    def reserve(self, company: int, name: str, day: date, seq: int, after: int, last: int, now: datetime) -> int:
        """The file row for records (after, last] and the cursor moved past them, in this transaction."""
        file_id = int(
            self.conn.execute(
                sa.insert(payment_files).values(
                    company_code=company, file_name=name, file_date=day, seq=seq, records=0, total_pen=0,
                    total_usd=0, created_at=now, after_record_id=after, last_record_id=last,
                )
            ).inserted_primary_key[0]
        )  # fmt: skip
        self.conn.execute(
            sa.update(payment_file_cursors)
            .where(payment_file_cursors.c.company_code == company)
            .values(last_record_id=last)
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

    def mark_uploaded(self, file_id: int, now: datetime, records: int, total_pen: int, total_usd: int) -> None:
        self.conn.execute(
            sa.update(payment_files)
            .where((payment_files.c.id == file_id) & payment_files.c.uploaded_at.is_(None))
            .values(uploaded_at=now, records=records, total_pen=total_pen, total_usd=total_usd)
        )

    def untaken(self, company: int | None = None) -> list[sa.Row[Any]]:
        """Files on the exchange that no sweep has yet seen taken, oldest first."""
        f = payment_files.c
        query = (
            sa.select(f.id, f.company_code, f.file_name, f.uploaded_at)
            .where(f.uploaded_at.is_not(None) & f.taken_at.is_(None))
            .order_by(f.company_code, f.id)
        )
        if company is not None:
            query = query.where(f.company_code == company)
        return list(self.conn.execute(query))

    def mark_taken(self, file_ids: Sequence[int], seen_gone: datetime) -> int:
        """Record that these files were seen gone from Pagos/ at `seen_gone`; a file already
        marked keeps its (earlier) time. How many were marked now."""
        marked = 0
        for start in range(0, len(file_ids), 500):
            chunk = list(file_ids[start : start + 500])
            marked += self.conn.execute(
                sa.update(payment_files)
                .where(payment_files.c.id.in_(chunk) & payment_files.c.taken_at.is_(None)
                       & payment_files.c.uploaded_at.is_not(None))
                .values(taken_at=seen_gone)
            ).rowcount  # fmt: skip
        return marked

    def chunks(self, files: Sequence[Any]) -> Iterator[tuple[int, int, int, int, int, int, int, str]]:
        """(file id, records, net PEN, net USD, reversals, reversed PEN, reversed USD, text) of
        consecutive pieces of the given files (net: payments minus reversals, the file's totals),
        each file's pieces in record order: one pass over their id ranges, a window at a time
        (a company-by-company scan would read every page once per company)."""
        if not files:
            return
        start = min(int(f.after_record_id) for f in files)
        end = max(int(f.last_record_id) for f in files)
        backend = self.conn.engine.dialect.name
        for lo in range(start, end, WINDOW):
            window = _window(files, lo, min(lo + WINDOW, end))
            if window is None:
                continue
            if backend in _AGGREGATE:
                sql = f"SELECT file_id, {_TOTALS}, {_AGGREGATE[backend]} FROM ({window}) t GROUP BY file_id"
                yield from self.conn.exec_driver_sql(sql)  # type: ignore[misc]
            else:
                yield from self._grouped(window)

    def _grouped(self, window: str) -> Iterator[tuple[int, int, int, int, int, int, int, str]]:
        """SQLite has no ordered string aggregate: the totals come from SQL, the records plain
        from the driver (without SQLAlchemy's per-row processing) and are joined here."""
        totals = {row[0]: row[1:] for row in self.conn.exec_driver_sql(
            f"SELECT file_id, {_TOTALS} FROM ({window}) t GROUP BY file_id")}  # fmt: skip
        pieces: dict[int, list[str]] = {file_id: [] for file_id in totals}
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(f"SELECT file_id, record FROM ({window}) t ORDER BY id")
            for file_id, record in cursor.fetchall():
                pieces[file_id].append(record)
        finally:
            cursor.close()
        for file_id, records in pieces.items():
            yield (file_id, *totals[file_id], "\r\n".join(records) + "\r\n")
