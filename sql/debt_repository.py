"""SQL for the debt loader: processed files, their errors, and the debts themselves.

Bulk inserts go through the driver directly (executemany on SQLite and Azure SQL, COPY on
PostgreSQL): the loader's speed is the database's speed. A batch that hits the unique key
is retried row by row to name the duplicates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.debts import LoadSummary
from domain.settlement import DEFAULT_SETTLEMENT, Run, UnknownRecords, unknown_records
from sql.bulk import copy_rows
from sql.engine import stored_utc
from sql.locks import lock_row
from sql.tables import (
    companies,
    debt_file_errors,
    debt_files,
    debt_lookup,
    debts,
    payment_files,
    payment_records,
    payments,
)

DEBT_COLUMNS = (
    "company_code", "client_code", "client_name", "service_code", "document", "description", "due_date",
    "issue_date", "amount_cents", "late_fee_cents", "admin_fee_cents", "minimum_cents", "period", "year",
    "installment", "currency", "dni", "ruc", "alt_id", "file_id", "line_no",
)  # fmt: skip
DebtRow = tuple[Any, ...]  # in DEBT_COLUMNS order
_KEY = ("company_code", "client_code", "service_code", "document")  # a debt's unique key


def _in_runs(column: sa.ColumnElement[Any], runs: Sequence[Run]) -> sa.ColumnElement[bool]:
    """`column` within one of the runs (lo < id <= hi; hi None: no end), also bounded below by the
    first run's start so that the index on the record id is read from there on."""
    if not runs:
        return column < 0  # no run: no record (ids start at 1)
    either = sa.or_(*((column > lo) if hi is None else ((column > lo) & (column <= hi)) for lo, hi in runs))
    return (column > runs[0][0]) & either


class DebtRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.backend = conn.engine.dialect.name
        names = ", ".join(DEBT_COLUMNS)
        marks = ", ".join("?" if self.backend in ("sqlite", "mssql") else "%s" for _ in DEBT_COLUMNS)
        self._insert_sql = f"INSERT INTO debts ({names}) VALUES ({marks})"

    # -- processed files ------------------------------------------------------------------------

    def find_file(self, company: int, name: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(debt_files).where((debt_files.c.company_code == company) & (debt_files.c.file_name == name))
        ).first()

    def lock_company(self, company: int) -> None:
        """Serialize loads of one company across instances (a row lock; SQLite's BEGIN IMMEDIATE does it there)."""
        lock_row(self.conn, companies, companies.c.code == company, "update")

    def get_file(self, file_id: int) -> sa.Row[Any]:
        return self.conn.execute(sa.select(debt_files).where(debt_files.c.id == file_id)).one()

    def start_file(self, company: int, name: str, sha256: str, started: datetime) -> int:
        """Claim the file name for this transaction (the unique key makes a second loader wait or fail)."""
        result = self.conn.execute(
            sa.insert(debt_files).values(
                company_code=company, file_name=name, content_sha256=sha256, status="PROCESADO", lines=0,
                applied=0, rejected=0, read_total_pen=0, read_total_usd=0, applied_total_pen=0,
                applied_total_usd=0, started_at=started, finished_at=started,
            )
        )  # fmt: skip
        return int(result.inserted_primary_key[0])

    def finish_file(self, file_id: int, summary: LoadSummary, sha256: str) -> None:
        self.conn.execute(
            sa.update(debt_files)
            .where(debt_files.c.id == file_id)
            .values(
                content_sha256=sha256, update_type=summary.update_type, status=summary.status, lines=summary.lines,
                applied=summary.applied, rejected=summary.rejected, header_records=summary.header_records,
                header_total_pen=summary.header_total_pen, header_total_usd=summary.header_total_usd,
                read_total_pen=summary.read_total_pen, read_total_usd=summary.read_total_usd,
                applied_total_pen=summary.applied_total_pen, applied_total_usd=summary.applied_total_usd,
                started_at=summary.started_at, finished_at=summary.finished_at,
            )
        )  # fmt: skip

    def summary(self, row: sa.Row[Any]) -> LoadSummary:
        return LoadSummary(
            file_name=row.file_name,
            company_code=row.company_code,
            update_type=row.update_type,
            status=row.status,
            lines=row.lines,
            applied=row.applied,
            rejected=row.rejected,
            header_records=row.header_records,
            header_total_pen=row.header_total_pen,
            header_total_usd=row.header_total_usd,
            read_total_pen=row.read_total_pen,
            read_total_usd=row.read_total_usd,
            applied_total_pen=row.applied_total_pen,
            applied_total_usd=row.applied_total_usd,
            started_at=stored_utc(row.started_at),
            finished_at=stored_utc(row.finished_at),
        )

    def add_errors(self, file_id: int, errors: Iterable[tuple[int, int, str, str, str]]) -> None:
        """(seq, line_no, field, reason, raw latin-1 text), in batches."""
        batch: list[dict[str, Any]] = []
        for seq, line_no, field, reason, raw in errors:
            batch.append(
                {"file_id": file_id, "seq": seq, "line_no": line_no, "field": field[:40], "reason": reason[:255],
                 "raw_line": raw[:1024]}
            )  # fmt: skip
            if len(batch) >= 5000:
                self.conn.execute(sa.insert(debt_file_errors), batch)
                batch = []
        if batch:
            self.conn.execute(sa.insert(debt_file_errors), batch)

    def errors(self, file_id: int) -> Iterator[sa.Row[Any]]:
        result = self.conn.execution_options(yield_per=5000).execute(
            sa.select(debt_file_errors)
            .where(debt_file_errors.c.file_id == file_id)
            .order_by(debt_file_errors.c.line_no, debt_file_errors.c.seq)
        )
        yield from result

    # -- debts ----------------------------------------------------------------------------------

    def delete_company(self, company: int) -> int:
        """An R load's first step: the company's debts and lookup keys go (in the load's transaction)."""
        self.conn.execute(sa.delete(debt_lookup).where(debt_lookup.c.company_code == company))
        return self.conn.execute(sa.delete(debts).where(debts.c.company_code == company)).rowcount

    def last_debt_id(self) -> int:
        """The highest debt id so far: rows inserted after this in the load's transaction are
        above it, and stored in that order (a range of the primary key reads them in order)."""
        return int(self.conn.execute(sa.select(sa.func.max(debts.c.id))).scalar() or 0)

    def _file_rows(self, since_id: int | None) -> str:
        """The rows a file wrote: by the primary key's range where the caller knows it (an R
        file), which reads them in the order they were stored; the unique key's order would
        read the table at random when the file's clients interleave."""
        if since_id is None:
            return "company_code = :company AND file_id = :file_id"
        # `+company_code`: not by the unique key's index (SQLite would prefer it)
        return f"id > {int(since_id)} AND +company_code = :company AND file_id = :file_id"

    def build_lookup(self, company: int, file_id: int, since_id: int | None = None, fresh: bool = False) -> None:
        """idConsulta keys (DNI, RUC, Identificador 04 without leading zeros) of the clients this
        file wrote, set-based in the database: no per-line cost in the loader.

        One pass over the file's rows, each crossed with the three identifiers (a scan per
        identifier and a UNION of them sorted three times as much). `since_id`: only the rows
        inserted after it (an A line keeps its debt's identifiers). `fresh` (an R file, whose
        company's keys were deleted in this transaction): no key can be there already, so a
        plain INSERT (PostgreSQL's ON CONFLICT costs half the statement's time)."""
        key = "CASE k.n WHEN 1 THEN ltrim(dni, '0') WHEN 2 THEN ltrim(ruc, '0') ELSE ltrim(alt_id, '0') END"
        picks = (
            "SELECT DISTINCT company_code, lookup_key, client_code FROM ("
            f" SELECT company_code, {key} AS lookup_key, client_code FROM debts"
            " CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) k"
            f" WHERE {self._file_rows(since_id)}) x WHERE lookup_key IS NOT NULL"
        )
        columns = "debt_lookup (company_code, lookup_key, client_code)"
        if fresh:
            sql = f"INSERT INTO {columns} {picks}"
        elif self.backend == "sqlite":
            sql = f"INSERT OR IGNORE INTO {columns} {picks}"
        elif self.backend == "postgresql":
            sql = f"INSERT INTO {columns} {picks} ON CONFLICT DO NOTHING"
        else:
            sql = (
                f"INSERT INTO {columns} SELECT p.company_code, p.lookup_key, p.client_code FROM ({picks}) p"
                " WHERE NOT EXISTS (SELECT 1 FROM debt_lookup l WHERE l.company_code = p.company_code"
                " AND l.lookup_key = p.lookup_key AND l.client_code = p.client_code)"
            )
        self.conn.execute(sa.text(sql), {"company": company, "file_id": file_id})

    def refresh_statistics(self) -> None:
        """After a big load the planner's row estimates are stale until autovacuum gets to the
        table, and a consulta planned on them can take a sequential scan: refresh them now,
        inside the load's transaction, so they change with the data. (SQLite plans by index.)"""
        if self.backend == "postgresql":
            self.conn.exec_driver_sql("ANALYZE debts")
            self.conn.exec_driver_sql("ANALYZE debt_lookup")
        elif self.backend == "mssql":
            self.conn.exec_driver_sql("UPDATE STATISTICS debts")
            self.conn.exec_driver_sql("UPDATE STATISTICS debt_lookup")

    def known_files(self, company: int, at: datetime, settlement: timedelta) -> sa.ColumnElement[bool]:
        """The company's payment files its biller counts as having applied by `at`
        (domain/settlement.py `file_known`): taken from Pagos/ by then, or delivered a settlement
        delay before it."""
        f = payment_files.c
        cutoff = at.astimezone(UTC)
        applied = f.taken_at.is_not(None) & (f.taken_at <= cutoff)
        if settlement > timedelta(0):
            applied = applied | (f.uploaded_at <= cutoff - settlement)
        return (f.company_code == company) & f.uploaded_at.is_not(None) & applied

    def unknown_records(self, company: int, at: datetime, settlement: timedelta) -> UnknownRecords:
        """The company's payment-record ids its biller cannot be taken to have applied by `at`."""
        f = payment_files.c
        first_after, filed_to = self.conn.execute(
            sa.select(sa.func.min(f.after_record_id), sa.func.max(f.last_record_id)).where(f.company_code == company)
        ).one()
        unknown = self.conn.execute(
            sa.select(f.after_record_id, f.last_record_id)
            .where((f.company_code == company) & sa.not_(self.known_files(company, at, settlement)))
            .order_by(f.after_record_id)
        ).all()
        return unknown_records(((int(a), int(b)) for a, b in unknown),
                               None if first_after is None else int(first_after), int(filed_to or 0))  # fmt: skip

    def restate_paid(self, company: int, file_id: int, known_before: datetime,
                     settlement: timedelta = DEFAULT_SETTLEMENT, staged: bool = False) -> None:  # fmt: skip
        """Rows this file wrote take what YAPAGO did on them that the company had not applied.

        The company had applied a payment or a reversal by `known_before` (its file's statement
        time, domain/settlement.py) only when it was in a payment file the company took from
        Pagos/ by then, or delivered a settlement delay before. So the balance counts, against
        the company's amount:
        + every payment still standing that it had not applied;
        + every payment still standing whose debt it states at the very total the payment was
          made against (`payments.stated_cents`): it plainly did not deduct it, whatever the
          files say (a file taken but not applied, a delay the company did not keep);
        - every payment it had applied whose reversal it had not: it deducted money the
          customer got back, so paid_cents goes below zero and the pending balance above the
          file's amount.
        A clock that runs ahead on the company's side can therefore never restore a balance
        that was paid: only the take and the delay count, never the time a payment was made.

        Cost: the payments it had not applied are found from their records (the recent ones);
        the restated ones by joining the rows the file wrote with the company's payments: for an
        R file every row (one pass over both tables, beside the load's own pass over the rows),
        for an N file (`staged`) its staged lines, each row and its payments found by key.
        """
        runs = self.unknown_records(company, known_before, settlement)
        p_rec, a_rec = payment_records.alias("p_rec"), payment_records.alias("a_rec")
        d = debts.alias("d")
        p = payments.c
        mine = (
            (d.c.company_code == company) & (d.c.file_id == file_id) & (d.c.service_code == p.service_code)
            & (d.c.document == p.document) & (d.c.client_code == p.client_code)
        )  # fmt: skip
        completa = (p.company_code == company) & (p.validation_mode == "completa")
        stated = d.c.amount_cents + d.c.late_fee_cents + d.c.admin_fee_cents
        restated = p.stated_cents.is_not(None) & (p.stated_cents == stated)  # the company did not deduct it
        deducted = p.stated_cents.is_(None) | (p.stated_cents != stated)
        unapplied = _in_runs(p_rec.c.id, runs.payments)
        if staged:  # an N file's rows: from its staged lines (few), by the keys
            lines = sa.table(self.changes, *(sa.column(name) for name in (*_KEY, "kind")))
            rows = lines.join(d, sa.and_(*(lines.c[name] == d.c[name] for name in _KEY)) & lines.c.kind.in_(("N", "A")))
            guarded = rows.join(payments, mine)
        else:
            guarded = payments.join(d, mine)
        branches = [
            sa.select(d.c.id.label("debt_id"), p.amount_cents.label("delta"))
            .select_from(guarded)
            .where(completa & (p.status == "P") & restated),
            sa.select(d.c.id.label("debt_id"), p.amount_cents.label("delta"))
            .select_from(payments.join(p_rec, (p_rec.c.payment_id == p.id) & (p_rec.c.kind == "P")).join(d, mine))
            .where(completa & (p.status == "P") & (p_rec.c.company_code == company) & unapplied & deducted),
            sa.select(d.c.id.label("debt_id"), (-p.amount_cents).label("delta"))
            .select_from(
                payments.join(a_rec, (a_rec.c.payment_id == p.id) & (a_rec.c.kind == "A"))
                .join(p_rec, (p_rec.c.payment_id == p.id) & (p_rec.c.kind == "P"))
                .join(d, mine)
            )
            .where(
                completa & (p.status == "A") & (a_rec.c.company_code == company)
                & _in_runs(a_rec.c.id, runs.reversals) & sa.not_(_in_runs(p_rec.c.id, runs.payments)) & deducted
            ),
        ]  # fmt: skip
        both = sa.union_all(*branches).subquery()
        per_debt = sa.select(both.c.debt_id, sa.func.sum(both.c.delta).label("total")).group_by(both.c.debt_id)
        unknown = per_debt.subquery()
        self.conn.execute(sa.update(debts).values(paid_cents=unknown.c.total).where(debts.c.id == unknown.c.debt_id))

    def insert_many(self, rows: Sequence[DebtRow]) -> None:
        """Insert a batch; raises IntegrityError if any row's key exists (the caller retries per row)."""
        if not rows:
            return
        if self.backend == "postgresql":
            copy_rows(self.conn, "debts", DEBT_COLUMNS, rows)
            return
        self.conn.exec_driver_sql(self._insert_sql, list(rows))

    # -- an N file, set-based: its lines staged, then one statement per kind ---------------------

    _CHANGE_TYPES = (
        "company_code INTEGER NOT NULL, client_code VARCHAR(14) NOT NULL, client_name VARCHAR(30) NOT NULL,"
        " service_code VARCHAR(3) NOT NULL, document VARCHAR(16) NOT NULL, description VARCHAR(20) NOT NULL,"
        " due_date DATE NOT NULL, issue_date DATE NOT NULL, amount_cents BIGINT NOT NULL,"
        " late_fee_cents BIGINT NOT NULL, admin_fee_cents BIGINT NOT NULL, minimum_cents BIGINT NOT NULL,"
        " period SMALLINT NOT NULL,"
        " year SMALLINT NOT NULL, installment SMALLINT NOT NULL, currency VARCHAR(1) NOT NULL, dni VARCHAR(8),"
        " ruc VARCHAR(11), alt_id VARCHAR(14), file_id BIGINT NOT NULL, line_no INTEGER NOT NULL,"
        " kind VARCHAR(1) NOT NULL"
    )

    @property
    def changes(self) -> str:
        """The staging table of the N file being applied (temporary: this connection's own)."""
        return "#debt_changes" if self.backend == "mssql" else "debt_changes"

    def start_changes(self) -> None:
        if self.backend == "mssql":
            self.conn.exec_driver_sql(f"CREATE TABLE {self.changes} ({self._CHANGE_TYPES})")
        elif self.backend == "postgresql":
            self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {self.changes} ({self._CHANGE_TYPES}) ON COMMIT DROP")
        else:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{self.changes}")
            self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {self.changes} ({self._CHANGE_TYPES})")

    def stage_changes(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows in DEBT_COLUMNS order, then the line's kind (N, A, D). Not the raw line: the few
        lines refused are read again from the file (a third of the bytes to stage otherwise)."""
        if not rows:
            return
        columns = (*DEBT_COLUMNS, "kind")
        if self.backend == "postgresql":
            copy_rows(self.conn, self.changes, columns, rows)
            return
        marks = ", ".join("?" for _ in columns)
        self.conn.exec_driver_sql(f"INSERT INTO {self.changes} ({', '.join(columns)}) VALUES ({marks})", list(rows))

    def index_changes(self) -> None:
        name = "ix_debt_changes_client" if self.backend != "sqlite" else "temp.ix_debt_changes_client"
        table = self.changes
        self.conn.exec_driver_sql(f"CREATE INDEX {name} ON {table} (client_code, line_no)")

    def change_order_violations(self, clients: Collection[str] | None = None) -> list[Any]:
        """As order_violations, over the staged lines of the N file."""
        return self._violations(self.changes, "", {}, clients)

    def drop_changes(self, line_nos: Sequence[int]) -> None:
        for start in range(0, len(line_nos), 1000):
            chunk = ", ".join(str(int(n)) for n in line_nos[start : start + 1000])
            self.conn.exec_driver_sql(f"DELETE FROM {self.changes} WHERE line_no IN ({chunk})")

    def _key_exists(self, alias: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM debts d WHERE d.company_code = {alias}.company_code"
            f" AND d.client_code = {alias}.client_code AND d.service_code = {alias}.service_code"
            f" AND d.document = {alias}.document)"
        )

    def refused_changes(self) -> list[Any]:
        """Staged lines that cannot apply: N of a debt that exists, A or D of one that does not."""
        exists = self._key_exists("s")
        return list(self.conn.exec_driver_sql(
            f"SELECT line_no, kind FROM {self.changes} s"
            f" WHERE (s.kind = 'N' AND {exists}) OR (s.kind IN ('A', 'D') AND NOT {exists}) ORDER BY line_no"
        ))  # fmt: skip

    def apply_changes(self) -> list[Any]:
        """Apply the staged lines left (each now applies): one statement per kind; what was applied
        per currency (currency, lines, amount)."""
        t = self.changes
        match = ("d.company_code = s.company_code AND d.client_code = s.client_code"
                 " AND d.service_code = s.service_code AND d.document = s.document")  # fmt: skip
        # driven from the staged lines (each finds its debt by the unique key), not from every debt
        self.conn.exec_driver_sql(
            f"DELETE FROM debts WHERE id IN (SELECT d.id FROM {t} s JOIN debts d ON {match} WHERE s.kind = 'D')"
        )
        values = ("amount_cents = s.amount_cents, late_fee_cents = s.late_fee_cents, admin_fee_cents ="
                  " s.admin_fee_cents, minimum_cents = s.minimum_cents, file_id = s.file_id, line_no = s.line_no,"
                  " paid_cents = 0")  # fmt: skip
        if self.backend == "mssql":
            self.conn.exec_driver_sql(f"UPDATE d SET {values} FROM debts d JOIN {t} s ON {match} WHERE s.kind = 'A'")
        else:
            self.conn.exec_driver_sql(
                f"UPDATE debts SET {values} FROM {t} s WHERE s.kind = 'A' AND {match.replace('d.', 'debts.')}"
            )
        names = ", ".join(DEBT_COLUMNS)
        self.conn.exec_driver_sql(f"INSERT INTO debts ({names}) SELECT {names} FROM {t} WHERE kind = 'N'")
        return list(self.conn.exec_driver_sql(
            f"SELECT currency, COUNT(*), SUM(amount_cents) FROM {t} GROUP BY currency"
        ))  # fmt: skip

    def end_changes(self) -> None:
        if self.backend != "postgresql":  # PostgreSQL drops it at the commit
            self.conn.exec_driver_sql(f"DROP TABLE {self.changes}")

    def _violations(
        self, table: str, where: str, params: dict[str, Any], clients: Collection[str] | None = None
    ) -> list[Any]:
        """`clients`: only theirs (by the index on the client), a chunk of clients per statement:
        each client's window is its own, so the chunks' answers together are the whole answer."""
        if clients is not None:
            found: list[Any] = []
            names = sorted(clients)
            joiner = " AND " if where else " WHERE "
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                marks = ", ".join(f":c{i}" for i in range(len(chunk)))
                found += self._violations(
                    table,
                    f"{where}{joiner}client_code IN ({marks})",
                    {**params, **{f"c{i}": c for i, c in enumerate(chunk)}},
                )
            return sorted(found, key=lambda v: v.line_no)
        collate = {"postgresql": ' COLLATE "C"', "mssql": " COLLATE Latin1_General_BIN2"}.get(self.backend, "")
        sql = (
            "SELECT line_no, document, previous, currency, amount_cents FROM ("
            f" SELECT line_no, document{collate} AS document, currency, amount_cents,"
            f" MAX(document{collate}) OVER (PARTITION BY client_code ORDER BY line_no"
            " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous"
            f" FROM {table}{where}) w"
            " WHERE previous IS NOT NULL AND document <= previous ORDER BY line_no"
        )
        return list(self.conn.execute(sa.text(sql), params))

    def order_violations(
        self, company: int, file_id: int, since_id: int | None = None, clients: Collection[str] | None = None
    ) -> list[Any]:
        """The file's stored rows whose document is not above every document of the same client on
        an earlier line (line_no, document, previous highest, currency, amount), in line order.
        Documents compare by code point, as Python does, on every backend. `clients`: only
        theirs, found by the unique key's index (a few clients); else every row of the file, in
        the order stored (`since_id`)."""
        params = {"company": company, "file_id": file_id}
        if clients is not None:
            return self._violations("debts", " WHERE company_code = :company AND file_id = :file_id", params, clients)
        return self._violations("debts", " WHERE " + self._file_rows(since_id), params)

    def delete_lines(self, company: int, file_id: int, line_nos: Sequence[int]) -> None:
        for start in range(0, len(line_nos), 1000):
            chunk = list(line_nos[start : start + 1000])
            self.conn.execute(
                sa.delete(debts).where(
                    (debts.c.company_code == company) & (debts.c.file_id == file_id) & debts.c.line_no.in_(chunk)
                )
            )

    def max_document_before(self, company: int, client: str, file_id: int, line_no: int) -> str | None:
        """The highest document the file stored for the client on lines before `line_no`."""
        column = debts.c.document
        if self.backend == "postgresql":
            column = column.collate("C")
        elif self.backend == "mssql":
            column = column.collate("Latin1_General_BIN2")
        return self.conn.execute(
            sa.select(sa.func.max(column)).where(
                (debts.c.company_code == company) & (debts.c.client_code == client) & (debts.c.file_id == file_id)
                & (debts.c.line_no < line_no)
            )
        ).scalar()  # fmt: skip
