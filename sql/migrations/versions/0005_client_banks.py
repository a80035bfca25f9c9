"""API clients bound to the bank codes they may act for (YAPAGO idBanco).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("bank_codes", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("bank_codes")
