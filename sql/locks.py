"""Row locks held to the end of the transaction, spelled for each backend.

SQLite needs none: its writers take turns (BEGIN IMMEDIATE where it matters). PostgreSQL
takes them with FOR UPDATE / FOR KEY SHARE. SQLAlchemy renders nothing for
`with_for_update` on Azure SQL, so the table hints are written here: UPDLOCK/XLOCK with
HOLDLOCK keep the lock until commit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_MSSQL_HINT = {"update": "WITH (UPDLOCK, HOLDLOCK, ROWLOCK)", "exclusive": "WITH (XLOCK, HOLDLOCK, ROWLOCK)",
               "share": "WITH (HOLDLOCK, ROWLOCK)"}  # fmt: skip


def locked(query: sa.Select[Any], table: sa.Table, mode: str) -> sa.Select[Any]:
    """`query` reading `table` with a row lock: `update` (writers of the row take turns, readers
    in share mode do not wait), `exclusive` (waits for and blocks share holders too) or `share`."""
    query = query.with_hint(table, _MSSQL_HINT[mode], "mssql")
    if mode == "share":
        return query.with_for_update(read=True, key_share=True)
    if mode == "update":
        return query.with_for_update(key_share=True)  # FOR NO KEY UPDATE: no conflict with KEY SHARE
    return query.with_for_update()


def lock_row(conn: Connection, table: sa.Table, where: Any, mode: str) -> sa.Row[Any] | None:
    return conn.execute(locked(sa.select(table).where(where), table, mode)).first()


def hold_run_lock(conn: Connection, name: str) -> None:
    """Take the run's lock row to the end of the transaction: overlapping runs take turns."""
    from sql.tables import run_locks

    if lock_row(conn, run_locks, run_locks.c.name == name, "update") is None:
        conn.execute(sa.insert(run_locks).values(name=name))  # holds the new key until commit
