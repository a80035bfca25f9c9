"""A fresh database per benchmark stage: a SQLite file, or a PostgreSQL database next to --pg."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa


def fresh_database(kind: str, pg: str | None, work: Path) -> tuple[str, Callable[[], None]]:
    """(URL, drop): drop removes the database (and SQLite's WAL files) when the stage is done."""
    if kind == "sqlite":
        path = work / f"{uuid.uuid4().hex}.db"

        def remove() -> None:
            for leftover in work.glob(path.name + "*"):
                leftover.unlink()

        return f"sqlite:///{path}", remove
    assert pg is not None
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return sa.engine.make_url(pg).set(database=name).render_as_string(hide_password=False), drop
