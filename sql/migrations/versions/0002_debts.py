"""Debt repository: processed debt files, their line errors, and the debts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "debt_files",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("update_type", sa.String(1)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("lines", sa.Integer, nullable=False),
        sa.Column("applied", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("header_records", sa.Integer),
        sa.Column("header_total_pen", sa.BigInteger),
        sa.Column("header_total_usd", sa.BigInteger),
        sa.Column("read_total_pen", sa.BigInteger, nullable=False),
        sa.Column("read_total_usd", sa.BigInteger, nullable=False),
        sa.Column("applied_total_pen", sa.BigInteger, nullable=False),
        sa.Column("applied_total_usd", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_debt_files"),
        sa.ForeignKeyConstraint(["company_code"], ["companies.code"], name="fk_debt_files_company_code_companies"),
        sa.UniqueConstraint("company_code", "file_name", name="uq_debt_files_company_code_file_name"),
        sa.CheckConstraint("status IN ('PROCESADO', 'RECHAZADO')", name="status"),
    )
    op.create_table(
        "debt_file_errors",
        sa.Column("file_id", BigId, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("raw_line", sa.String(1024), nullable=False),
        sa.PrimaryKeyConstraint("file_id", "seq", name="pk_debt_file_errors"),
        sa.ForeignKeyConstraint(["file_id"], ["debt_files.id"], name="fk_debt_file_errors_file_id_debt_files"),
    )
    op.create_table(
        "debts",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("client_code", sa.String(14), nullable=False),
        sa.Column("client_name", sa.String(30), nullable=False),
        sa.Column("service_code", sa.String(3), nullable=False),
        sa.Column("document", sa.String(16), nullable=False),
        sa.Column("description", sa.String(20), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("late_fee_cents", sa.BigInteger, nullable=False),
        sa.Column("admin_fee_cents", sa.BigInteger, nullable=False),
        sa.Column("minimum_cents", sa.BigInteger, nullable=False),
        sa.Column("period", sa.SmallInteger, nullable=False),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("installment", sa.SmallInteger, nullable=False),
        sa.Column("currency", sa.String(1), nullable=False),
        sa.Column("dni", sa.String(8)),
        sa.Column("ruc", sa.String(11)),
        sa.Column("alt_id", sa.String(14)),
        sa.Column("file_id", sa.BigInteger, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_debts"),
        sa.UniqueConstraint(
            "company_code", "client_code", "service_code", "document",
            name="uq_debts_company_code_client_code_service_code_document",
        ),
        sa.ForeignKeyConstraint(
            ["company_code", "service_code"], ["services.company_code", "services.code"], name="fk_debts_service"
        ),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("debts")
    op.drop_table("debt_file_errors")
    op.drop_table("debt_files")
