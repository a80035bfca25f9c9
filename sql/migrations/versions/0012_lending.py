"""Credit-line QR payments: channels, customers, orders, purchases, credit checks, OTPs, events.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lending_channels",
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("clabe", sa.String(length=18), nullable=False),
        sa.Column("webhook_url", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_lending_channels")),
    )
    op.create_table(
        "lending_credit_checks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("credit_limit", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("available", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("overdue", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("held", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_credit_checks")),
    )
    op.create_index("ix_lending_credit_checks_purchase_id", "lending_credit_checks", ["purchase_id"], unique=False)
    op.create_table(
        "lending_customers",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_lending_customers")),
    )
    op.create_table(
        "lending_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("to_state", sa.String(length=24), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_events")),
    )
    op.create_index("ix_lending_events_purchase_id", "lending_events", ["purchase_id"], unique=False)
    op.create_table(
        "lending_otps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("purchase_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_otps")),
    )
    op.create_index("ix_lending_otps_purchase_id_purpose", "lending_otps", ["purchase_id", "purpose"], unique=False)
    op.create_table(
        "lending_orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("concept", sa.String(length=80), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"], ["lending_channels.channel"], name=op.f("fk_lending_orders_channel_lending_channels")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["lending_customers.customer_id"],
            name=op.f("fk_lending_orders_customer_id_lending_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_orders")),
        sa.UniqueConstraint("channel", "order_id", name=op.f("uq_lending_orders_channel_order_id")),
    )
    op.create_table(
        "lending_purchases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_ref", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("concept", sa.String(length=80), nullable=False),
        sa.Column("operation", sa.String(length=30), nullable=False),
        sa.Column("clabe", sa.String(length=18), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_ref"], ["lending_orders.id"], name=op.f("fk_lending_purchases_order_ref_lending_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lending_purchases")),
    )
    op.create_index(
        "ix_lending_purchases_customer_id_state", "lending_purchases", ["customer_id", "state"], unique=False
    )
    op.create_index(
        "ix_lending_purchases_state_valid_until", "lending_purchases", ["state", "valid_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_lending_purchases_state_valid_until", table_name="lending_purchases")
    op.drop_index("ix_lending_purchases_customer_id_state", table_name="lending_purchases")
    op.drop_table("lending_purchases")
    op.drop_table("lending_orders")
    op.drop_index("ix_lending_otps_purchase_id_purpose", table_name="lending_otps")
    op.drop_table("lending_otps")
    op.drop_index("ix_lending_events_purchase_id", table_name="lending_events")
    op.drop_table("lending_events")
    op.drop_table("lending_customers")
    op.drop_index("ix_lending_credit_checks_purchase_id", table_name="lending_credit_checks")
    op.drop_table("lending_credit_checks")
    op.drop_table("lending_channels")
