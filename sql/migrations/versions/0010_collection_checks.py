"""Collections management API: convenios, their payment references and the agents' checks.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_convenios",
        sa.Column("ref_id", sa.String(20), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("ref_type", sa.String(10), nullable=False),
        sa.Column("flag_update", sa.String(1), nullable=False),
        sa.Column("pmt_ref_id", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref_id", name="pk_collection_convenios"),
    )
    op.create_table(
        "collection_references",
        sa.Column("ref_id", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("amounts", sa.Text, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("acct_id", sa.String(30), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref_id", "reference", name="pk_collection_references"),
        sa.ForeignKeyConstraint(
            ["ref_id"], ["collection_convenios.ref_id"], name="fk_collection_references_ref_id_collection_convenios"
        ),
    )
    op.create_table(
        "collection_checks",
        sa.Column("approval_id", sa.String(20), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("tx_id", sa.String(20), nullable=False),
        sa.Column("action", sa.String(1), nullable=False),
        sa.Column("ref_id", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name="pk_collection_checks"),
        sa.UniqueConstraint("client_id", "tx_id", name="uq_collection_checks_client_id_tx_id"),
    )


def downgrade() -> None:
    op.drop_table("collection_checks")
    op.drop_table("collection_references")
    op.drop_table("collection_convenios")
