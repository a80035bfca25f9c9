"""Collections management API: payment agreements and negotiation marks.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_agreements",
        sa.Column("acct_id", sa.String(20), nullable=False),
        sa.Column("ident_type", sa.String(2), nullable=False),
        sa.Column("ident_num", sa.String(15), nullable=False),
        sa.Column("acct_type", sa.String(60), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("acct_id", name="pk_collection_agreements"),
    )
    op.create_index("ix_collection_agreements_ident", "collection_agreements", ["ident_type", "ident_num"])
    op.create_table(
        "negotiation_marks",
        sa.Column("id", BigId, nullable=False, autoincrement=True),
        sa.Column("core", sa.String(3), nullable=False),
        sa.Column("strategy_type", sa.String(10), nullable=False),
        sa.Column("acct_id", sa.String(20), nullable=False),
        sa.Column("partial_pmt", sa.String(1)),
        sa.Column("amount_cents", sa.BigInteger),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_negotiation_marks"),
    )
    op.create_index(
        "ix_negotiation_marks_negotiation", "negotiation_marks", ["core", "acct_id", "strategy_type", "start_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_negotiation_marks_negotiation", table_name="negotiation_marks")
    op.drop_table("negotiation_marks")
    op.drop_index("ix_collection_agreements_ident", table_name="collection_agreements")
    op.drop_table("collection_agreements")
