"""Disbursement responses (each file and line once), retries and the webhook outbox; run locks.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lending_response_files",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("disbursed", sa.Integer(), nullable=False),
        sa.Column("retried", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("malformed", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("retry_file_id", sa.BigInteger(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_response_files")),
        sa.UniqueConstraint("sha256", name=op.f("uq_lending_response_files_sha256")),
    )
    op.create_table(
        "lending_response_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=1), nullable=True),
        sa.Column("reason_code", sa.String(length=2), nullable=True),
        sa.Column("tracking_key", sa.String(length=30), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_response_lines")),
    )
    op.create_index(
        "ix_lending_response_lines_file_id_outcome", "lending_response_lines", ["file_id", "outcome"], unique=False
    )
    op.create_index(
        "ix_lending_response_lines_purchase_id_attempt",
        "lending_response_lines",
        ["purchase_id", "attempt"],
        unique=False,
    )
    op.create_table(
        "lending_webhooks",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=2), nullable=True),
        sa.Column("tracking_key", sa.String(length=30), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_lending_webhooks")),
    )
    op.create_index(
        "ix_lending_webhooks_state_next_attempt_at", "lending_webhooks", ["state", "next_attempt_at"], unique=False
    )
    op.create_table(
        "run_locks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_run_locks")),
    )
    op.bulk_insert(
        sa.table("run_locks", sa.column("name", sa.String)),
        [{"name": "disbursement_dispatch"}, {"name": "disbursement_responses"}],
    )
    op.add_column(
        "lending_channels", sa.Column("webhook_secret_version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("lending_dispatches", sa.Column("result", sa.String(length=1), nullable=True))
    op.add_column("lending_dispatches", sa.Column("reason_code", sa.String(length=2), nullable=True))
    op.add_column("lending_dispatches", sa.Column("tracking_key", sa.String(length=30), nullable=True))
    op.add_column("lending_dispatches", sa.Column("response_line_id", sa.BigInteger(), nullable=True))
    op.add_column("lending_dispatches", sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("lending_purchases", sa.Column("retries", sa.Integer(), server_default="0", nullable=False))
    op.add_column("lending_purchases", sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("lending_purchases", "retried_at")
    op.drop_column("lending_purchases", "retries")
    op.drop_column("lending_dispatches", "responded_at")
    op.drop_column("lending_dispatches", "response_line_id")
    op.drop_column("lending_dispatches", "tracking_key")
    op.drop_column("lending_dispatches", "reason_code")
    op.drop_column("lending_dispatches", "result")
    op.drop_column("lending_channels", "webhook_secret_version")
    op.drop_table("run_locks")
    op.drop_index("ix_lending_webhooks_state_next_attempt_at", table_name="lending_webhooks")
    op.drop_table("lending_webhooks")
    op.drop_index("ix_lending_response_lines_purchase_id_attempt", table_name="lending_response_lines")
    op.drop_index("ix_lending_response_lines_file_id_outcome", table_name="lending_response_lines")
    op.drop_table("lending_response_lines")
    op.drop_table("lending_response_files")
