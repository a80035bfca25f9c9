"""Wrong secrets per caller address: the token service's throttling, shared by every instance.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_source_failures",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_index("ix_auth_source_failures_window_start", "auth_source_failures", ["window_start"])


def downgrade() -> None:
    op.drop_table("auth_source_failures")
