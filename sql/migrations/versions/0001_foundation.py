"""Foundation: companies, services, collection accounts, API clients.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("code BETWEEN 1 AND 99999", name="code_range"),
        sa.PrimaryKeyConstraint("code", name="pk_companies"),
    )
    op.create_table(
        "services",
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("code", sa.String(3), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("validation_mode", sa.String(8), nullable=False),
        sa.CheckConstraint("code IN ('001', '002', '003', '004')", name="code_catalogue"),
        sa.CheckConstraint("currency IN ('PEN', 'USD')", name="currency"),
        sa.CheckConstraint("validation_mode IN ('completa', 'parcial')", name="validation_mode"),
        sa.ForeignKeyConstraint(["company_code"], ["companies.code"], name="fk_services_company_code_companies"),
        sa.PrimaryKeyConstraint("company_code", "code", name="pk_services"),
    )
    op.create_table(
        "collection_accounts",
        sa.Column("company_code", sa.Integer, nullable=False),
        sa.Column("service_code", sa.String(3), nullable=False),
        sa.Column("bank_code", sa.String(4), nullable=False),
        sa.Column("account_number", sa.String(34), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_code", "service_code"],
            ["services.company_code", "services.code"],
            name="fk_collection_accounts_service",
        ),
        sa.PrimaryKeyConstraint("company_code", "service_code", "bank_code", name="pk_collection_accounts"),
    )
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("scopes", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_api_clients"),
    )


def downgrade() -> None:
    op.drop_table("api_clients")
    op.drop_table("collection_accounts")
    op.drop_table("services")
    op.drop_table("companies")
