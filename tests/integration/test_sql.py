"""Schema and migrations on SQLite and PostgreSQL; the Azure SQL script kept in step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from domain.auth import Scope
from domain.companies import build_company
from sql.engine import create_engine
from sql.migrate import AZURE_SQL, azure_sql, current_revision, downgrade, head_revision, upgrade
from sql.tables import metadata
from sql.uow import UnitOfWork
from usecases.clients import register_client, set_client_active
from usecases.companies import DEMO_CLIENT_ID, seed_demo

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_migrations_from_empty_match_the_schema(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert set(sa.inspect(conn).get_table_names()) >= {
            "companies",
            "services",
            "collection_accounts",
            "api_clients",
        }
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == [], f"sql/tables.py and the migrations differ: {diffs}"
    upgrade(empty_db_url)  # idempotent
    downgrade(empty_db_url, "base")
    with engine.connect() as conn:
        assert "companies" not in sa.inspect(conn).get_table_names()
    upgrade(empty_db_url)
    engine.dispose()


def test_azure_sql_script_is_current() -> None:
    assert AZURE_SQL.read_text() == azure_sql(), "run `python manage.py azure-sql` and commit sql/azure/"
    text = AZURE_SQL.read_text()
    assert "DATETIMEOFFSET" in text and "CREATE TABLE api_clients" in text


def test_azure_sql_script_uses_the_types_azure_sql_creates() -> None:
    """What `migrate` creates on SQL Server 2022 (Azure SQL): VARCHAR(max), never the deprecated
    TEXT/NTEXT/IMAGE (SQL Server refuses `=` on them); DATE for dates, not DATETIME (the offline
    dialect's guess for a SQL Server 2000 it assumed)."""
    import re

    text = AZURE_SQL.read_text()
    assert not re.search(r"\b(N?TEXT|IMAGE)\b", text)
    assert not re.search(r"\bDATETIME\b", text), "a date column rendered as DATETIME"
    assert "due_date DATE NOT NULL" in text and "VARCHAR(max)" in text


def test_outside_text_is_unicode_on_azure_sql() -> None:
    """Every column declared Unicode (names, concepts, reasons, stored JSON) ends NVARCHAR in the
    script: VARCHAR would keep only the database's code page and write `?` for the rest."""
    from sql.tables import metadata

    text = AZURE_SQL.read_text()
    wide = [(t.name, c.name) for t in metadata.sorted_tables for c in t.columns
            if isinstance(c.type, sa.Unicode | sa.UnicodeText)]  # fmt: skip
    assert len(wide) >= 20
    import re

    def created_wide(table: str, column: str) -> bool:  # a table created after 0021 declares it NVARCHAR at once
        body = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", text, re.S)
        return body is not None and re.search(rf"^\s+{column} NVARCHAR\(", body.group(1), re.M) is not None

    missing = [f"{t}.{c}" for t, c in wide
               if f"ALTER TABLE {t} ALTER COLUMN {c} NVARCHAR(" not in text and not created_wide(t, c)]  # fmt: skip
    assert missing == [], missing
    narrow = [f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
              if type(c.type) is sa.Text]  # fmt: skip
    assert narrow == [], f"a large text column left VARCHAR(max): {narrow}"


def test_company_rows_and_constraints(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    company, _ = seed_demo(uow, NOW)
    company2, _ = seed_demo(uow, NOW)
    assert company == company2
    with uow() as tx:
        stored = tx.companies.get(730)
    assert stored is not None
    assert [(s.code, s.validation_mode.value, s.currency.value) for s in stored.services] == [
        ("001", "completa", "PEN"), ("002", "completa", "USD"), ("003", "parcial", "PEN"), ("004", "parcial", "USD"),
    ]  # fmt: skip
    assert {(a.service_code, a.bank_code) for a in stored.accounts} == {
        (c, "1020") for c in ("001", "002", "003", "004")
    }
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM services")).scalar() == 4
        assert conn.execute(sa.text("SELECT count(*) FROM collection_accounts")).scalar() == 4
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO services VALUES (730, '009', 'PEN', 'completa')"))
        conn.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO services VALUES (999, '001', 'PEN', 'completa')"))
        conn.rollback()

    updated = build_company("730", "Nuevo Nombre", ["003:completa:USD"], ["003:1020:191-9990001-0-99"])
    with uow() as tx:
        tx.companies.save(updated, NOW)
        tx.commit()
    with uow() as tx:
        again = tx.companies.get(730)
    assert again is not None and again.name == "Nuevo Nombre"
    assert next(s for s in again.services if s.code == "003").validation_mode.value == "completa"
    assert len(again.services) == 4
    engine.dispose()


def test_clients_are_stored_hashed(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    saved = register_client(uow, "bank-1020", "a-long-secret-value", "yapago", NOW)
    assert saved.created
    again = register_client(uow, "bank-1020", "another-long-secret", "yapago,collections", NOW)
    assert not again.created
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT secret_hash, scopes, active FROM api_clients")).one()
    assert row.secret_hash.startswith("$argon2id$")
    assert "another-long-secret" not in row.secret_hash
    assert row.scopes == "collections yapago" and row.active
    assert set_client_active(uow, "bank-1020", False, NOW)
    assert not set_client_active(uow, DEMO_CLIENT_ID, False, NOW)
    with uow() as tx:
        client = tx.clients.get("bank-1020")
    assert client is not None and not client.active and client.scopes == {Scope.YAPAGO, Scope.COLLECTIONS}
    engine.dispose()


def test_unit_of_work_rolls_back_unless_committed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'u.db'}"
    upgrade(url)
    engine = create_engine(url)
    with UnitOfWork(engine) as tx:
        tx.companies.save(build_company("1", "A", [], []), NOW)
    with UnitOfWork(engine) as tx:
        assert tx.companies.get(1) is None
    with pytest.raises(RuntimeError), UnitOfWork(engine) as tx:
        tx.companies.save(build_company("2", "B", [], []), NOW)
        raise RuntimeError("crash before commit")
    with UnitOfWork(engine) as tx:
        assert tx.companies.list_codes() == []
    engine.dispose()
