"""A company can be deactivated (`manage.py deactivate-company`): null while it is active, the
moment it stopped otherwise. Its debts are no longer offered and its files no longer loaded;
its payments can still be reversed and still reach it in payment files.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("deactivated_at")
