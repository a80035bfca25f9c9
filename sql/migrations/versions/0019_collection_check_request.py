"""What each collection check asked: a repeated X-Invoker-TxId with another request is refused.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for checks stored before: those compare by convenio, reference and action only
    op.add_column("collection_checks", sa.Column("request_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("collection_checks", "request_hash")
