"""Engine factory: one place that knows each backend's connection quirks."""

from __future__ import annotations

import sqlite3
import struct
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url


def create_engine(url: str, credential: Any = None, **options: Any) -> Engine:
    """An engine tuned for its backend.

    SQLite (the embedded default) is shared by several worker processes, so it runs in
    WAL mode with a busy timeout, enforces foreign keys, and lets SQLAlchemy issue BEGIN
    itself (pysqlite's own transaction handling breaks SAVEPOINT). A caller that needs
    the write lock up front (balance control) asks for `execution_options(sqlite_immediate=True)`.
    Statement parameters are kept out of error messages (`hide_parameters`): an exception that
    reaches a log never carries a value a caller sent. Azure SQL with a token `credential` (the
    app's managed identity, `SQL__credential`): every new connection gets an Entra ID access
    token and the URL carries no user or password (`mssql+pyodbc://@server:1433/db?driver=...`).
    `options` go to SQLAlchemy (tests give `module=` a stand-in DBAPI).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=False, hide_parameters=True)
        _tune_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "mssql":
        engine = sa.create_engine(url, pool_pre_ping=True, fast_executemany=True, hide_parameters=True, **options)
        if credential is not None:
            if parsed.username or parsed.password:
                raise ValueError("SQL_URL names a user: with SQL__credential the app's identity logs in, no user")
            _with_access_token(engine, credential)
        return engine
    if credential is not None:
        raise ValueError("SQL__credential is for Azure SQL (mssql+pyodbc://) only")
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True, **options)


SQL_COPT_SS_ACCESS_TOKEN = 1256  # msodbcsql.h: an Entra ID access token instead of a login


def access_token_struct(token: str) -> bytes:
    """The ODBC driver's token buffer: its length (4 bytes, little endian), then UTF-16-LE."""
    raw = token.encode("utf-16-le")
    return struct.pack(f"<I{len(raw)}s", len(raw), raw)


def _with_access_token(engine: Engine, credential: Any) -> None:
    from adapters.identity import SQL_SCOPE, CachedToken

    token = CachedToken(credential, SQL_SCOPE)

    @sa.event.listens_for(engine, "do_connect")
    def _on_connect(dialect, conn_rec, cargs, cparams) -> None:  # type: ignore[no-untyped-def]
        # without a user SQLAlchemy asks for Windows authentication, which a token replaces
        cargs[0] = cargs[0].replace(";Trusted_Connection=Yes", "")
        cparams.setdefault("attrs_before", {})[SQL_COPT_SS_ACCESS_TOKEN] = access_token_struct(token.get())


def stored_utc(value: datetime) -> datetime:
    """A timestamp read back from SQL: SQLite gives it naive, and every timestamp is stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Bulk inserts and untyped statements (migrations' data steps) bypass SQLAlchemy's types; store
# dates and timestamps as the sqlite3 default adapters did (deprecated since Python 3.12, which
# warns on every use): ISO dates, and `isoformat(" ")`, offset included, for timestamps.
sqlite3.register_adapter(date, date.isoformat)
sqlite3.register_adapter(datetime, lambda value: value.isoformat(" "))


def refresh_statistics(conn: sa.Connection, *tables: sa.Table) -> None:
    """ANALYZE on PostgreSQL after a bulk change inside a transaction: with statistics of the
    tables as they were before (autovacuum has not run yet) the planner picks nested loops
    that are quadratic in the change (measured: 2.7 s instead of 10 ms for 5,000 lines).
    Azure SQL updates its statistics itself when a query finds them stale; SQLite needs none."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in tables))


SQLITE_CACHE_KIB = 64 * 1024


def _tune_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB of page cache (the default is 2 MiB): a big load inserts its keys in the order
        # the company's export has them, and an index a few times larger than the cache is then
        # rewritten page by page (measured: an interleaved 1,000,000-line file 1.35x slower).
        # Pages are taken as used, so a connection that reads little stays small.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
