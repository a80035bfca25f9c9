"""A rotated webhook secret overlaps the new one: the version it replaced and the instant it stops
signing. Until then every event carries both signatures (`v1=<new>,v1=<previous>`), so a
distributor still on the previous secret accepts as one already on the new (issue 29). Null on
a channel never rotated. Webhook events may now also be PARKED (a channel without a usable
URL): `lending_webhooks.state` is already wide enough.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lending_channels", sa.Column("webhook_previous_version", sa.Integer, nullable=True))
    op.add_column("lending_channels", sa.Column("webhook_previous_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lending_channels") as batch:
        batch.drop_column("webhook_previous_until")
        batch.drop_column("webhook_previous_version")
