"""Alembic environment: the URL comes from the Config (set by sql.migrate), never from alembic.ini."""

from __future__ import annotations

from alembic import context

from sql.engine import create_engine
from sql.tables import metadata

config = context.config


# Offline, a dialect knows no server and assumes SQL Server 2000's types (TEXT, DATETIME for a
# date); Azure SQL is SQL Server 2022 (16.x): the script must use the types `migrate` creates there.
AZURE_SQL_VERSION = (16, 0, 1000)


def run_offline() -> None:
    """Emit SQL text (used to generate sql/azure/ for Azure SQL)."""
    url = config.get_main_option("sqlalchemy.url")
    mssql = (url or "").startswith("mssql")
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        transaction_per_migration=True,
        dialect_opts={"deprecate_large_types": True} if mssql else {},
    )
    if mssql:
        dialect = context.get_context().dialect
        dialect.server_version_info = AZURE_SQL_VERSION
        dialect._setup_version_attributes()
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    from adapters.identity import sql_credential
    from settings import load_settings

    # Azure SQL by the app's identity (SQL__credential): the postprovision hook migrates that way
    engine = create_engine(config.get_main_option("sqlalchemy.url"), sql_credential(load_settings().identity_values()))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
