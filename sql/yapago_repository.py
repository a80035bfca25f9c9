"""SQL for YAPAGO: reading debts for a consulta, taking balance atomically, payments, idempotency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
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
_DEBT_COLUMNS = (
    debts.c.id, debts.c.client_code, debts.c.client_name, debts.c.service_code, debts.c.document,
    debts.c.description, debts.c.due_date, debts.c.issue_date, _TOTAL.label("total"), debts.c.paid_cents,
    debts.c.minimum_cents, debts.c.currency,
)  # fmt: skip
# The two readings of an idConsulta, over the company's debts of every service (which client it
# names must not depend on the service asked): the client code with or without zeros, and the
# DNI / RUC / Identificador 04 keys. `via` says which: domain/yapago.one_client decides.
_IS_CODE = (debts.c.company_code == sa.bindparam("company")) & debts.c.client_code.in_(
    sa.bindparam("variants", expanding=True)
)
_IS_KEYED = (debts.c.company_code == sa.bindparam("company")) & debts.c.client_code.in_(
    sa.select(debt_lookup.c.client_code).where(
        (debt_lookup.c.company_code == sa.bindparam("company")) & (debt_lookup.c.lookup_key == sa.bindparam("key"))
    )
)
BY_CODE, BY_KEY = 1, 2
# One statement (one snapshot, one round trip), each half on its own index.
_CONSULTA = sa.union_all(
    sa.select(*_DEBT_COLUMNS, sa.literal(BY_CODE).label("via")).where(_IS_CODE),
    sa.select(*_DEBT_COLUMNS, sa.literal(BY_KEY).label("via")).where(_IS_KEYED),
).order_by("due_date", "document", "id")
# A pago's client, read the same way: the client codes each reading names.
_CLIENTS = sa.union(
    sa.select(debts.c.client_code, sa.literal(BY_CODE).label("via")).where(_IS_CODE),
    sa.select(debts.c.client_code, sa.literal(BY_KEY).label("via")).where(_IS_KEYED),
)


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

    def _readings(self, company: int, query_id: str) -> dict[str, Any]:
        return {"company": company, "variants": query_variants(query_id), "key": query_id.lstrip("0")}

    def client_readings(self, company: int, query_id: str) -> tuple[set[str], set[str]]:
        """The client codes the idConsulta names as a client code, and as a DNI/RUC/Id 04 key."""
        found: tuple[set[str], set[str]] = (set(), set())
        for client, via in self.conn.execute(_CLIENTS, self._readings(company, query_id)):
            found[0 if via == BY_CODE else 1].add(client)
        return found

    def debts_for_query(self, company: int, query_id: str) -> list[sa.Row[Any]]:
        """A consulta's candidate debts, every service: the idConsulta as client code (zeros
        ignored, `via` BY_CODE) and as DNI/RUC/Id 04 (`via` BY_KEY); a debt may come twice."""
        return list(self.conn.execute(_CONSULTA, self._readings(company, query_id)))

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

    def payment(self, bank: str, operation: str, day: date) -> sa.Row[Any] | None:
        """The bank's operation `operation` of fechaTxn `day`: one payment at most (unique key)."""
        return self.conn.execute(
            sa.select(payments).where(
                (payments.c.bank_code == bank) & (payments.c.operation_number == operation)
                & (payments.c.txn_date == day)
            )
        ).first()  # fmt: skip

    def payments_numbered(self, bank: str, operation: str) -> list[sa.Row[Any]]:
        """Every payment the bank booked under that number, on any day (oldest first)."""
        return list(
            self.conn.execute(
                sa.select(payments)
                .where((payments.c.bank_code == bank) & (payments.c.operation_number == operation))
                .order_by(payments.c.txn_date)
            )
        )

    def lock_debt(self, debt_id: int) -> bool:
        """Hold the debt's row to the end of the transaction: two pagos of one debt take turns, so
        the later one sees what the earlier one stored (sql/locks.py; SQLite's writers take turns).
        `take_balance` does the same for a validacion completa debt."""
        return lock_row(self.conn, debts, debts.c.id == debt_id, "update") is not None

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

    def _key(self, bank: str, operation: str, day: date, kind: str) -> Any:
        return (
            (api_operations.c.bank_code == bank) & (api_operations.c.operation_number == operation)
            & (api_operations.c.txn_date == day) & (api_operations.c.operation == kind)
        )  # fmt: skip

    def claim(self, bank: str, operation: str, day: date, kind: str, sha256: str, now: datetime) -> sa.Row[Any] | None:
        """Reserve (bank, operation, day, kind) in this transaction; or the row that already holds it.

        A concurrent claim of the same key waits on the unique key until this transaction
        ends, then finds the stored answer.
        """
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    sa.insert(api_operations).values(
                        bank_code=bank, operation_number=operation, txn_date=day, operation=kind,
                        request_sha256=sha256, status_code=0, response="", created_at=now,
                    )
                )  # fmt: skip
            return None
        except sa.exc.IntegrityError:
            return self.conn.execute(sa.select(api_operations).where(self._key(bank, operation, day, kind))).one()

    def record(self, bank: str, operation: str, day: date, kind: str, status: int, response: str) -> None:
        self.conn.execute(
            sa.update(api_operations)
            .where(self._key(bank, operation, day, kind))
            .values(status_code=status, response=response)
        )

    def same_pago_next_door(
        self, bank: str, operation: str, day: date, sha256: str, since: datetime
    ) -> sa.Row[Any] | None:
        """A pago stored under the number on the day before or after `day` with the same data
        (`sha256` without the transport fields), received from `since` on: this one may be its
        retry sent with a new fechaTxn."""
        return self.conn.execute(
            sa.select(api_operations)
            .where(
                (api_operations.c.bank_code == bank) & (api_operations.c.operation_number == operation)
                & api_operations.c.txn_date.in_([day - timedelta(days=1), day + timedelta(days=1)])
                & (api_operations.c.operation == "pago") & (api_operations.c.request_sha256 == sha256)
                & (api_operations.c.created_at >= since)
            )
            .order_by(api_operations.c.created_at)
        ).first()  # fmt: skip
