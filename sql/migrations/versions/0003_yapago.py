"""YAPAGO: balances on debts, the idConsulta lookup, payments and idempotency records.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("debts", sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "debt_lookup",
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("lookup_key", sa.String(14), nullable=False),
        sa.Column("client_code", sa.String(14), nullable=False),
        sa.PrimaryKeyConstraint("company_code", "lookup_key", "client_code", name="pk_debt_lookup"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "payments",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("service_code", sa.String(3), nullable=False),
        sa.Column("bank_code", sa.String(4), nullable=False),
        sa.Column("operation_number", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(2), nullable=False),
        sa.Column("payment_method", sa.String(2), nullable=False),
        sa.Column("query_id", sa.String(20), nullable=False),
        sa.Column("voucher", sa.String(40), nullable=False),
        sa.Column("debt_reference", sa.String(20)),
        sa.Column("client_code", sa.String(14), nullable=False),
        sa.Column("client_name", sa.String(30), nullable=False),
        sa.Column("document", sa.String(16), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("currency", sa.String(1), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("validation_mode", sa.String(8), nullable=False),
        sa.Column("txn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True)),
        sa.Column("reversal_txn_at", sa.DateTime(timezone=True)),
        sa.Column("reversal_channel", sa.String(2)),
        sa.PrimaryKeyConstraint("id", name="pk_payments"),
        sa.UniqueConstraint("bank_code", "operation_number", name="uq_payments_bank_code_operation_number"),
        sa.CheckConstraint("status IN ('P', 'A')", name="status"),
    )
    op.create_index("ix_payments_debt", "payments", ["company_code", "service_code", "document", "client_code"])
    op.create_table(
        "api_operations",
        sa.Column("bank_code", sa.String(4), nullable=False),
        sa.Column("operation_number", sa.String(20), nullable=False),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bank_code", "operation_number", "operation", name="pk_api_operations"),
    )


def downgrade() -> None:
    op.drop_table("api_operations")
    op.drop_index("ix_payments_debt", table_name="payments")
    op.drop_table("payments")
    op.drop_table("debt_lookup")
    with op.batch_alter_table("debts") as batch:
        batch.drop_column("paid_cents")
