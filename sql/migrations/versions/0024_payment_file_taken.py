"""When the biller could have applied a payment (issue 29): a payment file counts as known to
its biller once the biller took it from Pagos/ (moved or deleted it), first observed absent by
a sweep of the folder (`payment_files.taken_at`), or once the settlement delay has passed since
its delivery (PAYMENT_FILE_SETTLEMENT_HOURS). Each payment also keeps the debt's total as the
biller stated it when the payment was taken (`payments.stated_cents`): a reload stating that
same total has plainly not deducted the payment. Both null for what came before.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payment_files", sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("stated_cents", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("stated_cents")
    with op.batch_alter_table("payment_files") as batch:
        batch.drop_column("taken_at")
