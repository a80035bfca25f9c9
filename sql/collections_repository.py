"""SQL for the collections management API: agreements and negotiation marks."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sql.locks import lock_row
from sql.tables import (
    collection_agreement_lookups,
    collection_agreements,
    collection_checks,
    collection_convenios,
    collection_policy_decisions,
    collection_profiles,
    collection_references,
    negotiation_marks,
)  # fmt: skip


def request_hash(request: str) -> str:
    return hashlib.sha256(request.encode()).hexdigest()


class CollectionsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def save_agreement(
        self, acct_id: str, ident: tuple[str, str], acct_type: str, document: str, now: datetime
    ) -> bool:
        """Insert or replace an account's agreement; True when it is new."""
        values = {"ident_type": ident[0], "ident_num": ident[1], "acct_type": acct_type, "document": document,
                  "updated_at": now}  # fmt: skip
        key = collection_agreements.c.acct_id == acct_id
        if self.conn.execute(sa.update(collection_agreements).where(key).values(**values)).rowcount:
            return False
        self.conn.execute(sa.insert(collection_agreements).values(acct_id=acct_id, **values))
        return True

    def agreement(self, acct_id: str) -> str | None:
        return self.conn.execute(
            sa.select(collection_agreements.c.document).where(collection_agreements.c.acct_id == acct_id)
        ).scalar()

    def agreement_of(self, ident_type: str, ident_num: str) -> str | None:
        """The holder's agreement (the first account by number when the holder has several)."""
        return self.conn.execute(
            sa.select(collection_agreements.c.document)
            .where(
                (collection_agreements.c.ident_type == ident_type) & (collection_agreements.c.ident_num == ident_num)
            )
            .order_by(collection_agreements.c.acct_id)
            .limit(1)
        ).scalar()

    def lock_account(self, acct_id: str) -> bool:
        """Hold the account's row until commit (marks of one account take turns); False if unknown."""
        return (
            lock_row(self.conn, collection_agreements, collection_agreements.c.acct_id == acct_id, "update") is not None
        )

    def has_total(self, core: str, account: str, tool: str, start: date | None) -> bool:
        """Whether the negotiation already holds its total (T) commitment."""
        query = sa.select(sa.func.count()).where(
            (negotiation_marks.c.core == core) & (negotiation_marks.c.acct_id == account)
            & (negotiation_marks.c.strategy_type == tool) & (negotiation_marks.c.state == "Received")
            & (negotiation_marks.c.partial_pmt == "T")
        )  # fmt: skip
        query = query.where(
            negotiation_marks.c.start_date.is_(None) if start is None else negotiation_marks.c.start_date == start
        )
        return bool(self.conn.execute(query).scalar())

    def same_mark(self, client_id: str, account: str, request: str) -> sa.Row[Any] | None:
        """A mark this client already sent with exactly this request (a retry), found by the
        request's hash: no engine compares a large text column well, SQL Server's TEXT not at all."""
        return self.conn.execute(
            sa.select(negotiation_marks.c.state, negotiation_marks.c.reason, negotiation_marks.c.created_at)
            .where((negotiation_marks.c.client_id == client_id) & (negotiation_marks.c.acct_id == account)
                   & (negotiation_marks.c.request_hash == request_hash(request)))
            .order_by(negotiation_marks.c.id)
            .limit(1)
        ).first()  # fmt: skip

    def add_mark(self, **values: Any) -> int:
        values.setdefault("request_hash", request_hash(values["request"]))
        return int(self.conn.execute(sa.insert(negotiation_marks).values(**values)).inserted_primary_key[0])

    def add_profile(self, **values: Any) -> None:
        self.conn.execute(sa.insert(collection_profiles).values(**values))

    def add_policy_decision(self, **values: Any) -> None:
        self.conn.execute(sa.insert(collection_policy_decisions).values(**values))

    def save_convenio(self, ref_id: str, values: dict[str, Any], now: datetime) -> bool:
        key = collection_convenios.c.ref_id == ref_id
        if self.conn.execute(sa.update(collection_convenios).where(key).values(**values, updated_at=now)).rowcount:
            return False
        self.conn.execute(sa.insert(collection_convenios).values(ref_id=ref_id, **values, updated_at=now))
        return True

    def save_reference(self, ref_id: str, reference: str, values: dict[str, Any], now: datetime) -> None:
        key = (collection_references.c.ref_id == ref_id) & (collection_references.c.reference == reference)
        if not self.conn.execute(sa.update(collection_references).where(key).values(**values, updated_at=now)).rowcount:
            self.conn.execute(
                sa.insert(collection_references).values(ref_id=ref_id, reference=reference, **values, updated_at=now)
            )

    def convenio(self, ref_id: str) -> sa.Row[Any] | None:
        return self.conn.execute(sa.select(collection_convenios).where(collection_convenios.c.ref_id == ref_id)).first()

    def reference(self, ref_id: str, reference: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(collection_references).where(
                (collection_references.c.ref_id == ref_id) & (collection_references.c.reference == reference)
            )
        ).first()

    def check_of(self, client_id: str, tx_id: str) -> sa.Row[Any] | None:
        return self.conn.execute(
            sa.select(collection_checks).where(
                (collection_checks.c.client_id == client_id) & (collection_checks.c.tx_id == tx_id)
            )
        ).first()

    def add_check(self, **values: Any) -> bool:
        """False when the same client's TxId is already stored (a concurrent retry won)."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(sa.insert(collection_checks).values(**values))
        except sa.exc.IntegrityError:
            return False
        return True

    def add_lookup(self, **values: Any) -> None:
        self.conn.execute(sa.insert(collection_agreement_lookups).values(**values))
