"""A bank operation is (bank, numeroOperacion, fechaTxn): banks whose operation numbers restart
(per day, per terminal) reuse a number on another day for a new payment, which the old key
(bank, numeroOperacion) answered as a retry with a 00 that booked nothing (issue 29).

`payments.txn_date` is the payment's fechaTxn, `api_operations.txn_date` the day of the payment
the stored answer concerns (a pago's own, a reversa's payment's). Existing rows take the day of
`txn_at` in America/Lima (UTC-5, no daylight saving since 1994); an answer whose payment is gone
(none is expected: only successful answers are kept) the day it was received.

A downgrade fails if a number was reused on two days: the old keys cannot hold both.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_LIMA_DAY = {  # a stored UTC timestamp's day in America/Lima, per backend
    "postgresql": "CAST(({column} AT TIME ZONE 'America/Lima') AS DATE)",
    "mssql": "CAST(SWITCHOFFSET({column}, '-05:00') AS DATE)",
    "sqlite": "date({column}, '-5 hours')",
}
_OLD_PK = ["bank_code", "operation_number", "operation"]
_NEW_PK = ["bank_code", "operation_number", "txn_date", "operation"]


def _lima_day(column: str) -> str:
    return _LIMA_DAY[op.get_context().dialect.name].format(column=column)


def upgrade() -> None:
    op.add_column("payments", sa.Column("txn_date", sa.Date, nullable=True))
    op.add_column("api_operations", sa.Column("txn_date", sa.Date, nullable=True))
    op.execute(f"UPDATE payments SET txn_date = {_lima_day('txn_at')}")
    op.execute(
        "UPDATE api_operations SET txn_date = (SELECT p.txn_date FROM payments p"
        " WHERE p.bank_code = api_operations.bank_code AND p.operation_number = api_operations.operation_number)"
    )
    op.execute(f"UPDATE api_operations SET txn_date = {_lima_day('created_at')} WHERE txn_date IS NULL")
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("txn_date", existing_type=sa.Date, nullable=False)
        batch.drop_constraint("uq_payments_bank_code_operation_number", type_="unique")
        batch.create_unique_constraint(
            "uq_payments_bank_code_operation_number_txn_date", ["bank_code", "operation_number", "txn_date"]
        )
    with op.batch_alter_table("api_operations", recreate="auto") as batch:
        batch.drop_constraint("pk_api_operations", type_="primary")
        batch.alter_column("txn_date", existing_type=sa.Date, nullable=False)
        batch.create_primary_key("pk_api_operations", _NEW_PK)


def downgrade() -> None:
    with op.batch_alter_table("api_operations") as batch:
        batch.drop_constraint("pk_api_operations", type_="primary")
        batch.create_primary_key("pk_api_operations", _OLD_PK)
        batch.drop_column("txn_date")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint("uq_payments_bank_code_operation_number_txn_date", type_="unique")
        batch.create_unique_constraint("uq_payments_bank_code_operation_number", ["bank_code", "operation_number"])
        batch.drop_column("txn_date")
