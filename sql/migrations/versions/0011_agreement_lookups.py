"""Collections management API: the audit of agreement lookups.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_agreement_lookups",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("acct_id", sa.String(20)),
        sa.Column("ident_type", sa.String(2)),
        sa.Column("ident_num", sa.String(15)),
        sa.Column("found", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collection_agreement_lookups"),
    )


def downgrade() -> None:
    op.drop_table("collection_agreement_lookups")
