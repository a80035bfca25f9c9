"""API clients bound to the lending channels they are (a distributor's merchant client).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("channel_codes", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("channel_codes")
