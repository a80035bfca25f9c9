"""Issue 29, credit holds: every purchase before money can move has a deadline
(`lending_purchases.expires_at`, which the qr_expiration timer expires it at); OTPs count their
wrong tries (`lending_otps.wrong`, the customer's daily cap on guesses); the order's purchases
are found by an index (the order's OTP rounds are counted on every request).

Existing purchases get the deadline they already had: a pending QR (or its OTP #2) the QR's
validity, a purchase waiting for OTP #1 its code's expiry; anything else in a state before
money (never left there by the code) its last change, so the first tick expires it.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lending_purchases", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("lending_otps", sa.Column("wrong", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE lending_purchases SET expires_at = valid_until"
               " WHERE state IN ('QR_PENDING', 'PENDING_OTP2')")  # fmt: skip
    op.execute(
        "UPDATE lending_purchases SET expires_at = (SELECT max(o.expires_at) FROM lending_otps o"
        " WHERE o.purchase_id = lending_purchases.id AND o.purpose = 'otp1') WHERE state = 'PENDING_OTP1'"
    )
    op.execute(
        "UPDATE lending_purchases SET expires_at = updated_at WHERE expires_at IS NULL"
        " AND state IN ('PENDING_CREDIT', 'PENDING_OTP1', 'QR_PENDING', 'PENDING_OTP2', 'VALIDATING')"
    )
    # every try on a code ended it but the last unless the last was wrong too
    op.execute("UPDATE lending_otps SET wrong = CASE WHEN outcome = 'wrong' THEN attempts"
               " WHEN attempts > 0 THEN attempts - 1 ELSE 0 END")  # fmt: skip
    op.create_index("ix_lending_purchases_state_expires_at", "lending_purchases", ["state", "expires_at"])
    op.create_index("ix_lending_purchases_order_ref", "lending_purchases", ["order_ref"])


def downgrade() -> None:
    op.drop_index("ix_lending_purchases_order_ref", "lending_purchases")
    op.drop_index("ix_lending_purchases_state_expires_at", "lending_purchases")
    with op.batch_alter_table("lending_otps") as batch:
        batch.drop_column("wrong")
    with op.batch_alter_table("lending_purchases") as batch:
        batch.drop_column("expires_at")
