"""Negotiation retries found by the request's SHA-256, not by comparing the stored JSON text
(SQL Server refuses `=` on TEXT and no engine indexes a large text column).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import context, op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

marks = sa.table("negotiation_marks", sa.column("id", sa.BigInteger), sa.column("request", sa.Text),
                 sa.column("request_hash", sa.String(64)))  # fmt: skip


def upgrade() -> None:
    op.add_column("negotiation_marks", sa.Column("request_hash", sa.String(64), nullable=True))
    if not context.is_offline_mode():  # the generated script is for an empty database: nothing to fill
        conn = op.get_bind()
        last = 0
        while True:  # in batches: the marks of a busy year do not fit one statement
            rows = conn.execute(sa.select(marks.c.id, marks.c.request).where(marks.c.id > last)
                                .order_by(marks.c.id).limit(1000)).all()  # fmt: skip
            if not rows:
                break
            for row in rows:
                digest = hashlib.sha256(row.request.encode()).hexdigest()
                conn.execute(sa.update(marks).where(marks.c.id == row.id).values(request_hash=digest))
            last = rows[-1].id
    op.create_index("ix_negotiation_marks_retry", "negotiation_marks", ["client_id", "acct_id", "request_hash"])


def downgrade() -> None:
    op.drop_index("ix_negotiation_marks_retry", table_name="negotiation_marks")
    op.drop_column("negotiation_marks", "request_hash")
