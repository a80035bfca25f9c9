"""SQL for YAPAGO: reading debts for a consulta, taking balance atomically, payments, idempotency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.yapago import query_variants
from sql.locks import lock_row
from sql.tables import (
    api_operations,
    collection_accounts,
    companies,
    debt_lookup,
    debts,
    payment_file_cursors,
    payment_records,
    payments,
    services,
)  # fmt: skip

_TOTAL = debts.c.amount_cents + debts.c.late_fee_cents + debts.c.admin_fee_cents
_PENDING = _TOTAL - debts.c.paid_cents


# Built once: consulta runs these on every call, and building a statement costs more than running it.
_LOOKUP = sa.select(debt_lookup.c.client_code).where(
    (debt_lookup.c.company_code == sa.bindparam("company")) & (debt_lookup.c.lookup_key == sa.bindparam("key"))
)
_DEBT_COLUMNS = (
    debts.c.id, debts.c.client_code, debts.c.client_name, debts.c.service_code, debts.c.document,
    debts.c.description, debts.c.due_date, debts.c.issue_date, _TOTAL.label("total"), debts.c.paid_cents,
    debts.c.minimum_cents, debts.c.currency,
)  # fmt: skip
_IN_SERVICES = debts.c.service_code.in_(sa.bindparam("services", expanding=True))
_BY_CODE = sa.select(*_DEBT_COLUMNS).where(
    (debts.c.company_code == sa.bindparam("company"))
    & debts.c.client_code.in_(sa.bindparam("variants", expanding=True)) & _IN_SERVICES
)  # fmt: skip
_BY_KEY = sa.select(*_DEBT_COLUMNS).where(
    (debts.c.company_code == sa.bindparam("company"))
    & debts.c.client_code.in_(
        sa.select(debt_lookup.c.client_code).where(
            (debt_lookup.c.company_code == sa.bindparam("company")) & (debt_lookup.c.lookup_key == sa.bindparam("key"))
        )
    )
    & _IN_SERVICES
)  # fmt: skip
# One statement (one snapshot, one round trip): the client code with or without zeros, or a
# DNI / RUC / Identificador 04 key; each half on its own index.
_CONSULTA = sa.union(_BY_CODE, _BY_KEY).order_by("due_date", "document", "id")


class YapagoRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- configuration ---------------------------------------------------------------------------

    def company_setup(self, company: int) -> tuple[bool, dict[str, tuple[str, str]], set[tuple[str, str]], bool]:
        """(exists, {service: (currency, mode)}, {(service, bank)} with a collection account, active)."""
        row = self.conn.execute(sa.select(companies.c.deactivated_at).where(companies.c.code == company)).first()
        exists, active = row is not None, row is not None and row.deactivated_at is None
        found = {
            row.code: (row.currency, row.validation_mode)
            for row in self.conn.execute(sa.select(services).where(services.c.company_code == company))
        }
        accounts = {
            (row.service_code, row.bank_code)
            for row in self.conn.execute(
                sa.select(collection_accounts.c.service_code, collection_accounts.c.bank_code).where(
                    collection_accounts.c.company_code == company
                )
            )
        }
        return exists, found, accounts, active

    # -- debts -----------------------------------------------------------------------------------

    def client_codes(self, company: int, query_id: str, variants: Sequence[str]) -> list[str]:
        """Client codes the idConsulta names: its zero-padded variants plus DNI/RUC/Id 04 keys."""
        keyed = self.conn.execute(_LOOKUP, {"company": company, "key": query_id.lstrip("0")}).scalars()
        return list(dict.fromkeys([*variants, *keyed]))

    def debts_for_query(self, company: int, query_id: str, services: Sequence[str]) -> list[sa.Row[Any]]:
        """A consulta's debts: the idConsulta as client code (zeros ignored) or as DNI/RUC/Id 04."""
        params = {
            "company": company, "variants": query_variants(query_id), "key": query_id.lstrip("0"),
            "services": list(services),
        }  # fmt: skip
        return list(self.conn.execute(_CONSULTA, params))

    def debt_for_payment(self, company: int, service: str, document: str, clients: Sequence[str]) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(
                debts.c.id, debts.c.client_code, debts.c.client_name, debts.c.document, debts.c.due_date,
                debts.c.currency, debts.c.minimum_cents, _TOTAL.label("total"), debts.c.paid_cents,
            )
            .where(
                (debts.c.company_code == company) & (debts.c.service_code == service)
                & (debts.c.document == document) & debts.c.client_code.in_(clients)
            )
            .order_by(debts.c.id)
            .limit(1)
        ).first()  # fmt: skip

    def take_balance(self, debt_id: int, cents: int) -> bool:
        """Atomically add a payment to the debt if it fits: at most the pending balance, and at
        least the minimum (or the whole remaining balance when that is smaller). The row lock
        of the UPDATE makes concurrent payments take turns; the loser re-checks and fails."""
        return bool(
            self.conn.execute(
                sa.update(debts)
                .where(
                    (debts.c.id == debt_id) & (_PENDING >= cents)
                    & ((debts.c.minimum_cents <= cents) | (_PENDING == cents))
                )
                .values(paid_cents=debts.c.paid_cents + cents)
            ).rowcount
        )  # fmt: skip

    def debt_total(self, debt_id: int) -> int:
        """The debt's total as its biller stated it (amount + late fee + admin fee)."""
        return int(self.conn.execute(sa.select(_TOTAL).where(debts.c.id == debt_id)).scalar_one())

    def give_back(self, company: int, service: str, document: str, client: str, cents: int) -> None:
        """A reversal restores the balance. paid_cents may go below zero: when a load restated the
        debt after the company could have applied this payment (it took the payment file, or the
        settlement delay passed), the company's amount already deducted it
        (sql/debt_repository.restate_paid), and the customer now owes it again."""
        self.conn.execute(
            sa.update(debts)
            .where(
                (debts.c.company_code == company) & (debts.c.service_code == service)
                & (debts.c.document == document) & (debts.c.client_code == client)
            )
            .values(paid_cents=debts.c.paid_cents - cents)
        )  # fmt: skip

    # -- payments --------------------------------------------------------------------------------

    def add_payment(self, values: dict[str, Any]) -> int:
        return int(self.conn.execute(sa.insert(payments).values(**values)).inserted_primary_key[0])

    def add_record(
        self, company: int, payment_id: int, kind: str, currency: str, cents: int, booked_at: datetime, record: str
    ) -> None:
        """Book the payment file's record. The company's cursor row is held in share mode first,
        so that a file reserved meanwhile waits for this commit (sql/payment_file_repository.py)."""
        if lock_row(self.conn, payment_file_cursors, payment_file_cursors.c.company_code == company, "share") is None:
            raise LookupError(f"company {company:05d} has no payment-file cursor")
        self.conn.execute(
            sa.insert(payment_records).values(
                company_code=company, payment_id=payment_id, kind=kind, currency=currency, amount_cents=cents,
                booked_at=booked_at, record=record,
            )
        )  # fmt: skip

    def payment(self, bank: str, operation: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(payments).where((payments.c.bank_code == bank) & (payments.c.operation_number == operation))
        ).first()

    def reverse(self, payment_id: int, now: datetime, txn_at: datetime, channel: str, booked: date) -> bool:
        return bool(
            self.conn.execute(
                sa.update(payments)
                .where((payments.c.id == payment_id) & (payments.c.status == "P"))
                .values(
                    status="A",
                    reversed_at=now,
                    reversal_txn_at=txn_at,
                    reversal_channel=channel,
                    reversal_accounting_date=booked,
                )
            ).rowcount
        )

    # -- idempotency -----------------------------------------------------------------------------

    def claim(self, bank: str, operation: str, kind: str, sha256: str, now: datetime) -> sa.Row[Any] | None:
        """Reserve (bank, operation, kind) in this transaction; or the row that already holds it.

        A concurrent claim of the same key waits on the unique key until this transaction
        ends, then finds the stored answer.
        """
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    sa.insert(api_operations).values(
                        bank_code=bank, operation_number=operation, operation=kind, request_sha256=sha256,
                        status_code=0, response="", created_at=now,
                    )
                )  # fmt: skip
            return None
        except sa.exc.IntegrityError:
            return self.conn.execute(
                sa.select(api_operations).where(
                    (api_operations.c.bank_code == bank) & (api_operations.c.operation_number == operation)
                    & (api_operations.c.operation == kind)
                )
            ).one()  # fmt: skip

    def record(self, bank: str, operation: str, kind: str, status: int, response: str) -> None:
        self.conn.execute(
            sa.update(api_operations)
            .where(
                (api_operations.c.bank_code == bank) & (api_operations.c.operation_number == operation)
                & (api_operations.c.operation == kind)
            )
            .values(status_code=status, response=response)
        )  # fmt: skip
