"""Credit-line drawdowns: the credit each disbursed purchase consumed, until booked in Mambu.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lending_drawdowns",
        sa.Column("purchase_id", sa.String(36), sa.ForeignKey("lending_purchases.id"), primary_key=True),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(300)),
        sa.Column("mambu_transaction_id", sa.String(64)),
        sa.Column("booked_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lending_drawdowns_customer_id_booked_at", "lending_drawdowns", ["customer_id", "booked_at"])
    op.create_index("ix_lending_drawdowns_state_next_attempt_at", "lending_drawdowns", ["state", "next_attempt_at"])
    # Purchases disbursed before this table existed consumed credit too: until an operator has
    # checked them in Mambu, they count (book-drawdowns books them; Mambu's externalId refuses
    # a second booking of one already there).
    op.execute(
        "INSERT INTO lending_drawdowns (purchase_id, customer_id, amount, state, attempts, next_attempt_at,"
        " created_at) SELECT id, customer_id, amount, 'PENDING', 0, updated_at, updated_at"
        " FROM lending_purchases WHERE state = 'DISBURSED'"
    )


def downgrade() -> None:
    op.drop_table("lending_drawdowns")
