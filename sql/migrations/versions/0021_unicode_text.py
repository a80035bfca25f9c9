"""Text that comes from outside in NVARCHAR on Azure SQL: names, descriptions and concepts from
debt files and callers (UTF-8 on the way in), error reasons that quote them, and the stored JSON
documents (answers repeated to a retry, signed webhook bodies). VARCHAR there holds the
database's code page only and turns every other character into `?`, silently; on PostgreSQL and
SQLite text is Unicode already, so this changes nothing there.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# (table, column, length or None for max, nullable): none is in an index or a constraint
COLUMNS = [
    ("api_operations", "response", None, False),
    ("collection_agreements", "acct_type", 60, False),
    ("collection_agreements", "document", None, False),
    ("collection_checks", "response", None, False),
    ("collection_convenios", "name", 80, False),
    ("collection_policy_decisions", "response", None, False),
    ("collection_profiles", "request", None, False),
    ("collection_references", "full_name", 120, False),
    ("collection_references", "amounts", None, False),
    ("companies", "name", 120, False),
    ("debt_file_errors", "reason", 255, False),
    ("debt_file_errors", "raw_line", 1024, False),
    ("debts", "client_name", 30, False),
    ("debts", "description", 20, False),
    ("lending_channels", "name", 80, False),
    ("lending_credit_checks", "message", 300, False),
    ("lending_events", "detail", 300, False),
    ("lending_orders", "concept", 80, False),
    ("lending_purchases", "concept", 80, False),
    ("lending_purchases", "payload", None, True),
    ("lending_purchases", "reason", 300, False),
    ("lending_response_lines", "detail", 300, False),
    ("lending_webhooks", "last_error", 300, True),
    ("lending_webhooks", "body", None, True),
    ("negotiation_marks", "reason", 200, False),
    ("negotiation_marks", "request", None, False),
    ("payments", "client_name", 30, False),
]


def _types(length: int | None) -> tuple[sa.types.TypeEngine, sa.types.TypeEngine]:
    if length is None:
        return sa.Text(), sa.UnicodeText()
    return sa.String(length), sa.Unicode(length)


def upgrade() -> None:
    if op.get_context().dialect.name != "mssql":
        return
    for table, column, length, nullable in COLUMNS:
        narrow, wide = _types(length)
        op.alter_column(table, column, type_=wide, existing_type=narrow, existing_nullable=nullable)


def downgrade() -> None:
    if op.get_context().dialect.name != "mssql":
        return
    for table, column, length, nullable in COLUMNS:
        narrow, wide = _types(length)
        op.alter_column(table, column, type_=narrow, existing_type=wide, existing_nullable=nullable)
