"""Unit of work: one transaction, the repositories bound to it, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection, Engine, Transaction

from sql.repositories import ClientRepository, CompanyRepository


class UnitOfWork:
    conn: Connection
    clients: ClientRepository
    companies: CompanyRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tx: Transaction | None = None

    def __enter__(self) -> UnitOfWork:
        self.conn = self._engine.connect()
        self._tx = self.conn.begin()
        self.clients = ClientRepository(self.conn)
        self.companies = CompanyRepository(self.conn)
        return self

    def commit(self) -> None:
        assert self._tx is not None
        self._tx.commit()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()
