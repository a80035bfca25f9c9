"""Run Alembic programmatically, and generate the Azure SQL (T-SQL) script from the migrations."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
AZURE_SQL = Path(__file__).resolve().parent / "azure" / "migrations.sql"
AZURE_URL = "mssql+pyodbc://"


def alembic_config(url: str, output: io.StringIO | None = None) -> Config:
    config = Config(output_buffer=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def azure_sql() -> str:
    """The T-SQL that takes an empty Azure SQL database to head, as Alembic emits it."""
    buffer = io.StringIO()
    command.upgrade(alembic_config(AZURE_URL, buffer), "head", sql=True)
    header = (
        "-- Generated from sql/migrations by `python manage.py azure-sql`; do not edit by hand.\n"
        "-- Apply with sqlcmd or Azure Data Studio to an empty database, or let\n"
        "-- `python manage.py migrate` run the same migrations through mssql+pyodbc.\n\n"
    )
    return header + buffer.getvalue()
