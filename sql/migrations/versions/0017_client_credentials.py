"""API clients: a credential version (token revocation) and the lockout of wrong secrets.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("credential_version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("api_clients", sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"))
    op.add_column("api_clients", sa.Column("locked_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_attempts")
        batch.drop_column("credential_version")
