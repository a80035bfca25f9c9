"""A dispersion or retry file is offered to the bank in two phases: `publishing_at` is committed
before the move that puts it in the bank's folder, so a later run can tell a file that never
reached the exchange (written again) from one the bank may have taken (never written again:
`parked_at` and an alert for an operator). `lending_alerts` holds what an operator must look at:
a file that may be with the bank, a payment the bank reports that is not the purchase's one.

Files reserved and not marked before this revision were written by a run that then stopped (or
is still running): the bank may have them, so they count as offered from their creation.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lending_disbursement_files") as batch:
        batch.add_column(sa.Column("publishing_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    files = sa.table("lending_disbursement_files", sa.column("publishing_at"), sa.column("uploaded_at"),
                     sa.column("created_at"))  # fmt: skip
    op.execute(files.update().values(publishing_at=sa.func.coalesce(files.c.uploaded_at, files.c.created_at)))
    op.create_table(
        "lending_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=True),
        sa.Column("file_name", sa.String(length=120), nullable=True),
        sa.Column("response_line_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Unicode(length=600), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Unicode(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_alerts")),
        sa.UniqueConstraint("subject", name=op.f("uq_lending_alerts_subject")),
    )
    op.create_index("ix_lending_alerts_resolved_at", "lending_alerts", ["resolved_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lending_alerts_resolved_at", table_name="lending_alerts")
    op.drop_table("lending_alerts")
    with op.batch_alter_table("lending_disbursement_files") as batch:
        batch.drop_column("parked_at")
        batch.drop_column("publishing_at")
