"""Collections management API: profiling results.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_profiles",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("trn_rq_uid", sa.String(40), nullable=False),
        sa.Column("acct_id", sa.String(20), nullable=False),
        sa.Column("ident_type", sa.String(2), nullable=False),
        sa.Column("ident_num", sa.String(15), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("business_net", sa.Numeric(18, 2)),
        sa.Column("disposable", sa.Numeric(18, 2)),
        sa.Column("capacity", sa.Numeric(18, 2)),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collection_profiles"),
    )
    op.create_index("ix_collection_profiles_acct_id", "collection_profiles", ["acct_id"])


def downgrade() -> None:
    op.drop_index("ix_collection_profiles_acct_id", table_name="collection_profiles")
    op.drop_table("collection_profiles")
