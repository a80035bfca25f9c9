"""Payment files: the files written to each company's Pagos/ folder and what each holds.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("payments", sa.Column("accounting_date", sa.Date))
    op.add_column("payments", sa.Column("reversal_accounting_date", sa.Date))
    op.create_index("ix_payments_company", "payments", ["company_code", "id"])
    op.create_table(
        "payment_files",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("file_name", sa.String(32), nullable=False),
        sa.Column("file_date", sa.Date, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("total_pen", sa.BigInteger, nullable=False),
        sa.Column("total_usd", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_payment_files"),
        sa.ForeignKeyConstraint(["company_code"], ["companies.code"], name="fk_payment_files_company_code_companies"),
        sa.UniqueConstraint("company_code", "file_name", name="uq_payment_files_company_code_file_name"),
        sa.UniqueConstraint("company_code", "file_date", "seq", name="uq_payment_files_company_code_file_date_seq"),
    )
    op.create_table(
        "payment_file_items",
        sa.Column("payment_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("file_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("payment_id", "kind", name="pk_payment_file_items"),
        sa.CheckConstraint("kind IN ('P', 'A')", name="kind"),
    )
    op.create_index("ix_payment_file_items_file", "payment_file_items", ["file_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_file_items_file", table_name="payment_file_items")
    op.drop_table("payment_file_items")
    op.drop_table("payment_files")
    op.drop_index("ix_payments_company", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("reversal_accounting_date")
        batch.drop_column("accounting_date")
