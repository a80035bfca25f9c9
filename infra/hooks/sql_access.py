"""Reach the production Azure SQL database with an Entra token: Bicep cannot run T-SQL.

    python infra/hooks/sql_access.py setup              # the postprovision hook: database user + migrate
    python infra/hooks/sql_access.py manage ARGS...     # python manage.py ARGS against production

Signs in with the Azure CLI's token (`az login`), so whoever runs it must be the server's Entra
admin or a member of the admin group. Reads the azd outputs from the environment (set when azd
runs the hook) or else from `azd env get-values`. When the server's firewall refuses this
machine, it opens a rule for this address alone and removes it at the end. Needs the app's
requirements (pyodbc, SQLAlchemy, Alembic) and Microsoft ODBC Driver 18 for SQL Server.

The Function App's identity becomes a user with `CREATE USER ... WITH SID = <client id>, TYPE = E`,
the form of `FROM EXTERNAL PROVIDER` that needs no Microsoft Graph lookup: it works the same when a
person or the CI service principal runs it, without granting the server Directory Readers.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sql.engine import SQL_COPT_SS_ACCESS_TOKEN, access_token_struct  # noqa: E402 - the app's, from ROOT

DRIVER = "ODBC Driver 18 for SQL Server"
ROLES = ("db_datareader", "db_datawriter", "db_ddladmin")
BLOCKED = re.compile(r"Client with IP address '([0-9A-Fa-f.:]+)' is not allowed")
FIREWALL_WAIT_SECONDS = 300  # a new firewall rule can take minutes to apply
NEEDED = (
    "AZURE_TENANT_ID",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_SQL_SERVER_NAME",
    "AZURE_SQL_SERVER_FQDN",
    "AZURE_SQL_DATABASE_NAME",
    "AZURE_FUNCTION_IDENTITY_NAME",
    "AZURE_FUNCTION_IDENTITY_CLIENT_ID",
)


def say(message: str) -> None:
    print(f"sql_access: {message}", flush=True)


def az(*args: str) -> str:
    """Run the Azure CLI and return its output; its own message when it fails."""
    done = subprocess.run(["az", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"sql_access: az {' '.join(args[:3])} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def azd_values() -> dict[str, str]:
    """The azd outputs: from the environment inside a hook, else from the current azd environment."""
    if all(os.environ.get(name) for name in NEEDED):
        return {name: os.environ[name] for name in NEEDED}
    done = subprocess.run(["azd", "env", "get-values", "--output", "json"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"sql_access: not run by azd and `azd env get-values` failed: {done.stderr.strip()}")
    values = {**json.loads(done.stdout), **os.environ}
    missing = [name for name in NEEDED if not values.get(name)]
    if missing:
        sys.exit(f"sql_access: {', '.join(missing)} missing: run `azd provision` first")
    return {name: values[name] for name in NEEDED}


def sql_url(values: dict[str, str]) -> str:
    """The app's SQL_URL (infra/app/function.bicep): no credentials, the token comes with the connection."""
    server, database = values["AZURE_SQL_SERVER_FQDN"], values["AZURE_SQL_DATABASE_NAME"]
    return f"mssql+pyodbc://@{server}:1433/{database}?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes"


def access_token(tenant: str) -> bytes:
    """The CLI user's token for Azure SQL, packed the way msodbcsql takes it."""
    token = az("account", "get-access-token", "--tenant", tenant, "--resource", "https://database.windows.net/",
               "--query", "accessToken", "--output", "tsv")
    return access_token_struct(token)


def quote(name: str) -> str:
    """T-SQL QUOTENAME for identifiers built into statements that take no parameters."""
    return "[" + name.replace("]", "]]") + "]"


def connect(values: dict[str, str], token: bytes) -> Any:
    import pyodbc

    if DRIVER not in pyodbc.drivers():
        sys.exit(f"sql_access: {DRIVER} is not installed (https://learn.microsoft.com/sql/connect/odbc/)")
    text = (f"Driver={{{DRIVER}}};Server=tcp:{values['AZURE_SQL_SERVER_FQDN']},1433;"
            f"Database={values['AZURE_SQL_DATABASE_NAME']};Encrypt=yes;TrustServerCertificate=no;"
            "Connection Timeout=60")
    return pyodbc.connect(text, attrs_before={SQL_COPT_SS_ACCESS_TOKEN: token}, autocommit=True)


@contextmanager
def reachable(values: dict[str, str], token: bytes) -> Iterator[Any]:
    """A connection; when the firewall refuses this address, a rule for it alone while inside."""
    import pyodbc

    rule: str | None = None
    scope = ("--subscription", values["AZURE_SUBSCRIPTION_ID"], "--resource-group", values["AZURE_RESOURCE_GROUP"],
             "--server", values["AZURE_SQL_SERVER_NAME"])
    deadline = time.monotonic() + FIREWALL_WAIT_SECONDS
    try:
        while True:
            try:
                connection = connect(values, token)
                break
            except pyodbc.Error as exc:
                blocked = BLOCKED.search(str(exc))
                if not blocked or time.monotonic() > deadline:
                    raise
                if rule is None:
                    address = blocked.group(1)
                    rule = "azd-postprovision-" + re.sub(r"[^0-9A-Za-z]", "-", address)
                    say(f"the SQL firewall refuses {address}: opening rule {rule} while this runs")
                    az("sql", "server", "firewall-rule", "create", *scope, "--name", rule,
                       "--start-ip-address", address, "--end-ip-address", address, "--output", "none")
                time.sleep(15)
        try:
            yield connection
        finally:
            connection.close()
    finally:
        if rule is not None:
            az("sql", "server", "firewall-rule", "delete", *scope, "--name", rule, "--output", "none")
            say(f"removed firewall rule {rule}")


def grant_identity(connection: Any, user: str, client_id: str) -> None:
    """The Function App's identity as a database user in the app's roles (idempotent)."""
    sid = uuid.UUID(client_id).bytes_le  # how SQL stores an Entra app's client id as a SID
    cursor = connection.cursor()
    row = cursor.execute("SELECT sid FROM sys.database_principals WHERE name = ?", user).fetchone()
    if row is not None and bytes(row[0]) != sid:
        say(f"{user} exists with another identity's SID (the identity was recreated): replacing it")
        cursor.execute(f"DROP USER {quote(user)}")
        row = None
    if row is None:
        cursor.execute(f"CREATE USER {quote(user)} WITH SID = 0x{sid.hex()}, TYPE = E")
        say(f"created database user {user}")
    for role in ROLES:
        cursor.execute(f"IF IS_ROLEMEMBER(?, ?) <> 1 ALTER ROLE {quote(role)} ADD MEMBER {quote(user)}", role, user)
    say(f"{user} is in {', '.join(ROLES)}")


def run_manage(args: list[str], url: str, token: bytes) -> int:
    """`python manage.py ARGS` in this process, every SQLAlchemy connection carrying the token."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "do_connect")
    def _with_token(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        # SQLAlchemy asks for Windows authentication when the URL has no user; the token replaces it
        cargs[0] = cargs[0].replace(";Trusted_Connection=Yes", "")
        cparams["attrs_before"] = {SQL_COPT_SS_ACCESS_TOKEN: token}

    os.environ["SQL_URL"] = url
    # the app's own token path (SQL__credential) is for its managed identity; here the CLI's token serves
    os.environ.update({"SQL__credential": "", "SQL__clientId": ""})
    os.chdir(ROOT)
    sys.argv = ["manage.py", *args]
    try:
        runpy.run_path(str(ROOT / "manage.py"), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"setup", "manage"} or (argv[0] == "manage" and len(argv) < 2):
        print(__doc__, file=sys.stderr)
        return 2
    values = azd_values()
    token = access_token(values["AZURE_TENANT_ID"])
    url = sql_url(values)
    with reachable(values, token) as connection:
        if argv[0] == "setup":
            identity = values["AZURE_FUNCTION_IDENTITY_NAME"]
            grant_identity(connection, identity, values["AZURE_FUNCTION_IDENTITY_CLIENT_ID"])
            say("migrating the database (python manage.py migrate)")
            return run_manage(["migrate", "--url", url], url, token)
        return run_manage(argv[1:], url, token)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
