"""Reading and writing the foundation's rows (companies, services, accounts, API clients)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.auth import Scope, format_scopes, parse_scopes
from domain.companies import CollectionAccount, Company, Currency, Service, ValidationMode
from sql.engine import stored_utc
from sql.tables import (
    api_clients,
    auth_source_failures,
    collection_accounts,
    companies,
    payment_file_cursors,
    services,
)


@dataclass(frozen=True)
class StoredClient:
    client_id: str
    secret_hash: str
    scopes: frozenset[Scope]
    active: bool
    banks: frozenset[str] | None = None  # None: any bank
    channels: frozenset[str] | None = None  # lending distributor channels; None: none
    credential_version: int = 1
    failed_attempts: int = 0
    locked_until: datetime | None = None


class ClientRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, client_id: str) -> StoredClient | None:
        row = self.conn.execute(sa.select(api_clients).where(api_clients.c.client_id == client_id)).first()
        if row is None:
            return None
        banks = frozenset(row.bank_codes.split(",")) if row.bank_codes else None
        channels = frozenset(row.channel_codes.split(",")) if row.channel_codes else None
        return StoredClient(
            row.client_id, row.secret_hash, parse_scopes(row.scopes), bool(row.active), banks, channels,
            int(row.credential_version), int(row.failed_attempts),
            stored_utc(row.locked_until) if row.locked_until is not None else None,
        )  # fmt: skip

    def upsert(
        self,
        client_id: str,
        secret_hash: str,
        scopes: frozenset[Scope],
        now: datetime,
        banks: frozenset[str] | None = None,
        channels: frozenset[str] | None = None,
    ) -> bool:
        """Create the client or replace its secret, scopes, banks and channels (a new credential
        version: the tokens issued before stop working); True when it was created."""
        values = {
            "secret_hash": secret_hash,
            "scopes": format_scopes(scopes),
            "active": True,
            "updated_at": now,
            "bank_codes": ",".join(sorted(banks)) if banks else None,
            "channel_codes": ",".join(sorted(channels)) if channels else None,
        }
        updated = self.conn.execute(
            sa.update(api_clients).where(api_clients.c.client_id == client_id)
            .values(**values, credential_version=api_clients.c.credential_version + 1, failed_attempts=0,
                    locked_until=None)
        ).rowcount  # fmt: skip
        if updated:
            return False
        self.conn.execute(sa.insert(api_clients).values(client_id=client_id, created_at=now, **values))
        return True

    def set_active(self, client_id: str, active: bool, now: datetime) -> bool:
        """Disable or enable; either way a new credential version, so no token from before comes back."""
        return bool(
            self.conn.execute(
                sa.update(api_clients).where(api_clients.c.client_id == client_id)
                .values(active=active, updated_at=now, credential_version=api_clients.c.credential_version + 1)
            ).rowcount
        )  # fmt: skip

    def record_failure(self, client_id: str, lock_after: int, lock_until: datetime) -> int:
        """One more wrong secret in a row; past `lock_after` the client is locked until `lock_until`."""
        c = api_clients.c
        self.conn.execute(
            sa.update(api_clients).where(c.client_id == client_id).values(
                failed_attempts=c.failed_attempts + 1,
                locked_until=sa.case((c.failed_attempts + 1 >= lock_after, lock_until), else_=c.locked_until),
            )
        )  # fmt: skip
        found = self.conn.execute(sa.select(c.failed_attempts).where(c.client_id == client_id)).scalar()
        return int(found or 0)

    def source_wait(self, source: str, now: datetime, window: timedelta, limit: int) -> int | None:
        """Seconds the address must wait before its next try, or None (a fixed window per address)."""
        f = auth_source_failures.c
        row = self.conn.execute(sa.select(f.window_start, f.failures).where(f.source == source)).first()
        if row is None or row.failures < limit:
            return None
        ends = stored_utc(row.window_start) + window
        return max(1, math.ceil((ends - now).total_seconds())) if ends > now else None

    def source_failed(self, source: str, now: datetime, window: timedelta) -> None:
        """One more wrong secret from the address (a new window once the last one is over)."""
        f = auth_source_failures.c
        fresh = f.window_start <= now - window
        counted = sa.update(auth_source_failures).where(f.source == source).values(
            failures=sa.case((fresh, 1), else_=f.failures + 1),
            window_start=sa.case((fresh, sa.literal(now, sa.DateTime(timezone=True))), else_=f.window_start),
        )  # fmt: skip
        if not self.conn.execute(counted).rowcount:
            try:
                with self.conn.begin_nested():
                    self.conn.execute(sa.insert(auth_source_failures).values(source=source, window_start=now,
                                                                             failures=1))  # fmt: skip
            except sa.exc.IntegrityError:  # another worker inserted it meanwhile
                self.conn.execute(counted)
        if random.random() < 0.02:  # now and then: forget the addresses quiet for a day
            self.conn.execute(sa.delete(auth_source_failures).where(f.window_start < now - timedelta(days=1)))

    def rehash(self, client_id: str, old_hash: str, new_hash: str) -> None:
        """The same secret under today's hash parameters; only if nobody rotated it meanwhile,
        and without a new credential version (the tokens stay valid: nothing changed for them)."""
        c = api_clients.c
        self.conn.execute(
            sa.update(api_clients).where((c.client_id == client_id) & (c.secret_hash == old_hash))
            .values(secret_hash=new_hash)
        )  # fmt: skip

    def record_success(self, client_id: str) -> None:
        c = api_clients.c
        self.conn.execute(
            sa.update(api_clients).where((c.client_id == client_id) & (c.failed_attempts > 0))
            .values(failed_attempts=0, locked_until=None)
        )  # fmt: skip


class CompanyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, code: int) -> Company | None:
        row = self.conn.execute(sa.select(companies).where(companies.c.code == code)).first()
        if row is None:
            return None
        service_rows = self.conn.execute(
            sa.select(services).where(services.c.company_code == code).order_by(services.c.code)
        ).all()
        account_rows = self.conn.execute(
            sa.select(collection_accounts)
            .where(collection_accounts.c.company_code == code)
            .order_by(collection_accounts.c.service_code, collection_accounts.c.bank_code)
        ).all()
        return Company(
            code=row.code,
            name=row.name,
            services=tuple(
                Service(r.code, Currency(r.currency), ValidationMode(r.validation_mode)) for r in service_rows
            ),
            accounts=tuple(CollectionAccount(r.service_code, r.bank_code, r.account_number) for r in account_rows),
        )

    def set_active(self, code: int, active: bool, now: datetime) -> bool:
        """Deactivate (or reactivate) a company; False if there is none with that code."""
        value = None if active else now
        changed = self.conn.execute(sa.update(companies).where(companies.c.code == code).values(deactivated_at=value))
        return bool(changed.rowcount)

    def list_codes(self) -> list[int]:
        return list(self.conn.execute(sa.select(companies.c.code).order_by(companies.c.code)).scalars())

    def save(self, company: Company, now: datetime) -> bool:
        """Insert or update the company; services and accounts given are upserted, others kept.

        Services are never deleted here: debts and payments refer to them.
        True when the company was created.
        """
        created = not self.conn.execute(
            sa.update(companies).where(companies.c.code == company.code).values(name=company.name)
        ).rowcount
        if created:
            self.conn.execute(sa.insert(companies).values(code=company.code, name=company.name, created_at=now))
            self.conn.execute(sa.insert(payment_file_cursors).values(company_code=company.code, last_record_id=0))
        for service in company.services:
            key = (services.c.company_code == company.code) & (services.c.code == service.code)
            values = {"currency": service.currency.value, "validation_mode": service.validation_mode.value}
            if not self.conn.execute(sa.update(services).where(key).values(**values)).rowcount:
                self.conn.execute(sa.insert(services).values(company_code=company.code, code=service.code, **values))
        for account in company.accounts:
            key = (
                (collection_accounts.c.company_code == company.code)
                & (collection_accounts.c.service_code == account.service_code)
                & (collection_accounts.c.bank_code == account.bank_code)
            )
            if not self.conn.execute(
                sa.update(collection_accounts).where(key).values(account_number=account.account_number)
            ).rowcount:
                self.conn.execute(
                    sa.insert(collection_accounts).values(
                        company_code=company.code,
                        service_code=account.service_code,
                        bank_code=account.bank_code,
                        account_number=account.account_number,
                    )
                )
        return created
