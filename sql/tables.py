"""The schema, as SQLAlchemy Core tables; Alembic migrations must match it (a test checks).

Types are chosen to map cleanly on SQLite, PostgreSQL and Azure SQL: bounded strings
(Azure SQL cannot index NVARCHAR(MAX)), timezone-aware timestamps (DATETIMEOFFSET),
explicit constraint names so that migrations can name them on every backend.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

companies = sa.Table(
    "companies",
    metadata,
    sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("code BETWEEN 1 AND 99999", name="code_range"),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("company_code", sa.Integer, sa.ForeignKey("companies.code"), primary_key=True),
    sa.Column("code", sa.String(3), primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("validation_mode", sa.String(8), nullable=False),
    sa.CheckConstraint("code IN ('001', '002', '003', '004')", name="code_catalogue"),
    sa.CheckConstraint("currency IN ('PEN', 'USD')", name="currency"),
    sa.CheckConstraint("validation_mode IN ('completa', 'parcial')", name="validation_mode"),
)

collection_accounts = sa.Table(
    "collection_accounts",
    metadata,
    sa.Column("company_code", sa.Integer, primary_key=True),
    sa.Column("service_code", sa.String(3), primary_key=True),
    sa.Column("bank_code", sa.String(4), primary_key=True),
    sa.Column("account_number", sa.String(34), nullable=False),
    sa.ForeignKeyConstraint(
        ["company_code", "service_code"],
        ["services.company_code", "services.code"],
        name="fk_collection_accounts_service",
    ),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.String(255), nullable=False),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
