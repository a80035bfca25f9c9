"""Payment records rendered at booking, and files as record-id ranges.

Replaces payment_file_items (one row per record, written when a file was reserved) with
payment_records (the record itself, written when the payment or reversal is booked) and a
per-company cursor. Existing payments are rendered here, in the order their files already
hold them, so that every existing file is a range and `--regenerate` gives its old bytes.
The backfill runs online only: the generated Azure SQL script is for a database that has
never held payments before this revision.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_payments = sa.table(
    "payments", *(sa.column(c) for c in (
        "id", "company_code", "service_code", "client_code", "client_name", "document", "operation_number",
        "channel", "payment_method", "currency", "amount_cents", "status", "reversal_channel")),
    sa.column("due_date", sa.Date), sa.column("txn_at", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)), sa.column("reversed_at", sa.DateTime(timezone=True)),
    sa.column("reversal_txn_at", sa.DateTime(timezone=True)), sa.column("accounting_date", sa.Date),
    sa.column("reversal_accounting_date", sa.Date),
)  # fmt: skip
_items = sa.table("payment_file_items", sa.column("payment_id"), sa.column("kind"), sa.column("file_id"))
_records = sa.Table(
    "payment_records", sa.MetaData(), sa.Column("id", BigId, primary_key=True), sa.Column("company_code", sa.Integer),
    sa.Column("payment_id", sa.BigInteger), sa.Column("kind", sa.String(1)), sa.Column("currency", sa.String(1)),
    sa.Column("amount_cents", sa.BigInteger), sa.Column("booked_at", sa.DateTime(timezone=True)),
    sa.Column("record", sa.String(236)),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "payment_records",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("payment_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("currency", sa.String(1), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record", sa.String(236), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_records"),
        sa.UniqueConstraint("payment_id", "kind", name="uq_payment_records_payment_id_kind"),
        sa.CheckConstraint("kind IN ('P', 'A')", name="kind"),
    )
    op.create_index("ix_payment_records_company_code_id", "payment_records", ["company_code", "id"])
    op.create_table(
        "payment_file_cursors",
        sa.Column("company_code", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("last_record_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("company_code", name="pk_payment_file_cursors"),
        sa.ForeignKeyConstraint(
            ["company_code"], ["companies.code"], name="fk_payment_file_cursors_company_code_companies"
        ),
    )
    op.add_column("payment_files", sa.Column("after_record_id", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("payment_files", sa.Column("last_record_id", sa.BigInteger, nullable=False, server_default="0"))
    if not context.is_offline_mode():
        _backfill(op.get_bind())
    else:
        op.execute("INSERT INTO payment_file_cursors (company_code, last_record_id) SELECT code, 0 FROM companies")
    op.drop_index("ix_payment_file_items_file", table_name="payment_file_items")
    op.drop_table("payment_file_items")


def _record(row: Any, kind: str) -> dict[str, Any]:
    from domain.payment_records import booked_day, payment_record

    if kind == "P":
        at, channel, booked_at, booked = row.txn_at, row.channel, row.created_at, row.accounting_date
    else:
        at, channel, booked_at, booked = (row.reversal_txn_at, row.reversal_channel, row.reversed_at,
                                          row.reversal_accounting_date)  # fmt: skip
    text = payment_record(
        kind, client=row.client_code, name=row.client_name, service=row.service_code, document=row.document,
        due=row.due_date, at=at, cents=row.amount_cents, operation=row.operation_number, channel=channel,
        method=row.payment_method, booked=booked_day(booked, booked_at),
    )  # fmt: skip
    return {"company_code": row.company_code, "payment_id": row.id, "kind": kind, "currency": row.currency,
            "amount_cents": row.amount_cents, "booked_at": booked_at, "record": text}  # fmt: skip


def _backfill(conn: sa.Connection) -> None:
    """Every payment and reversal as a record, ids in the order of (file, booking), then the
    ranges of the existing files and each company's cursor."""
    held = {(r.payment_id, r.kind): r.file_id for r in conn.execute(sa.select(_items))}
    pending: list[tuple[Any, ...]] = []
    for row in conn.execute(sa.select(_payments)):
        for kind in ("P", "A") if row.status == "A" else ("P",):
            file_id = held.get((row.id, kind))
            booked_at: datetime = row.created_at if kind == "P" else row.reversed_at
            pending.append((file_id is None, file_id or 0, kind != "P", str(booked_at), row.id, kind, row))
    pending.sort(key=lambda item: item[:5])
    last: dict[int, int] = {}
    ranges: dict[int, list[int]] = {}
    for _, file_id, _, _, _, kind, row in pending:
        new_id = conn.execute(sa.insert(_records).values(**_record(row, kind))).inserted_primary_key[0]
        if file_id:
            span = ranges.setdefault(file_id, [last.get(row.company_code, 0), 0])
            span[1] = new_id
            last[row.company_code] = new_id
    for file_id, (after, upto) in ranges.items():
        conn.execute(
            sa.text("UPDATE payment_files SET after_record_id = :a, last_record_id = :l WHERE id = :f"),
            {"a": after, "l": upto, "f": file_id},
        )
    for (code,) in conn.execute(sa.text("SELECT code FROM companies")):
        conn.execute(
            sa.text("INSERT INTO payment_file_cursors (company_code, last_record_id) VALUES (:c, :l)"),
            {"c": code, "l": last.get(code, 0)},
        )


def downgrade() -> None:
    op.create_table(
        "payment_file_items",
        sa.Column("payment_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("file_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", "kind", name="pk_payment_file_items"),
        sa.CheckConstraint("kind IN ('P', 'A')", name="kind"),
    )
    op.create_index("ix_payment_file_items_file", "payment_file_items", ["file_id"])
    op.execute(
        "INSERT INTO payment_file_items (payment_id, kind, file_id)"
        " SELECT r.payment_id, r.kind, f.id FROM payment_records r JOIN payment_files f"
        " ON f.company_code = r.company_code AND r.id > f.after_record_id AND r.id <= f.last_record_id"
    )
    with op.batch_alter_table("payment_files") as batch:
        batch.drop_column("last_record_id")
        batch.drop_column("after_record_id")
    op.drop_table("payment_file_cursors")
    op.drop_index("ix_payment_records_company_code_id", table_name="payment_records")
    op.drop_table("payment_records")
