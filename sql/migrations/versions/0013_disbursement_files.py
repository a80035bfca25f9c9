"""Credit-line disbursements: dispersion/retry files and the purchase attempts each holds.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lending_disbursement_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_disbursement_files")),
        sa.UniqueConstraint("file_name", name=op.f("uq_lending_disbursement_files_file_name")),
    )
    op.create_table(
        "lending_dispatches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_dispatches")),
        sa.UniqueConstraint("purchase_id", "attempt", name=op.f("uq_lending_dispatches_purchase_id_attempt")),
    )
    op.create_index("ix_lending_dispatches_file_id", "lending_dispatches", ["file_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lending_dispatches_file_id", table_name="lending_dispatches")
    op.drop_table("lending_dispatches")
    op.drop_table("lending_disbursement_files")
