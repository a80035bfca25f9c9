"""Collections management API: policy decisions (viability and recalculation).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_policy_decisions",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("trn_rq_uid", sa.String(40), nullable=False),
        sa.Column("acct_id", sa.String(20), nullable=False),
        sa.Column("strategy_type", sa.String(10), nullable=False),
        sa.Column("recalculated", sa.Boolean, nullable=False),
        sa.Column("viable", sa.Boolean, nullable=False),
        sa.Column("installment", sa.Numeric(18, 2)),
        sa.Column("forgiven", sa.Numeric(18, 2)),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collection_policy_decisions"),
    )
    op.create_index("ix_collection_policy_decisions_acct_id", "collection_policy_decisions", ["acct_id"])


def downgrade() -> None:
    op.drop_index("ix_collection_policy_decisions_acct_id", table_name="collection_policy_decisions")
    op.drop_table("collection_policy_decisions")
