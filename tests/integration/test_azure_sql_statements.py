"""Azure SQL without a server: every statement the app issues, compiled for SQL Server, and the
generated T-SQL script, parsed with a T-SQL parser (sqlglot), refusing what SQL Server refuses.

The statements are captured while a workload runs in-process on SQLite (debt files R and N,
YAPAGO consulta / pago / repeat / reversa, payment files, tokens, collections import,
negotiation and collection check, the lending timers), then each SQLAlchemy construct is
compiled with the mssql+pyodbc dialect. What remains untested without a server: the
statements' plans and locking behaviour, and the text statements of the PostgreSQL / SQLite
branches (their SQL Server branch is a separate construct, compiled here when it runs there).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sqlglot
from azure.functions.timer import TimerRequest
from sqlalchemy import event
from sqlalchemy.dialects.mssql import pyodbc as mssql_pyodbc
from sqlalchemy.engine import Engine
from sqlalchemy.sql import operators, visitors

import bootstrap
from sql.migrate import AZURE_SQL
from tests.e2e.calls import call, file_payments, function, json_of, load_pending
from tests.e2e.test_debt_loader_timer import drop
from usecases.clients import register_client
from usecases.collections import import_collections
from usecases.companies import seed_demo

ROOT = Path(__file__).resolve().parents[2]
SECRET = "statements-secret-123"
DIALECT = mssql_pyodbc.dialect()
SAVEPOINTS = (sa.sql.elements.SavepointClause, sa.sql.elements.RollbackToSavepointClause,
              sa.sql.elements.ReleaseSavepointClause)
LARGE_TEXT = (sa.Text, sa.UnicodeText, sa.LargeBinary)
COMPARISONS = {operators.eq, operators.ne, operators.lt, operators.gt, operators.le, operators.ge,
               operators.like_op, operators.in_op, operators.not_in_op}  # fmt: skip
# refused by SQL Server in a statement (text of the compiled SQL)
REFUSED = {
    r"\bLIMIT\s+\d|\bLIMIT\s+\?": "LIMIT (SQL Server: TOP / OFFSET FETCH)",
    r"\bON CONFLICT\b": "ON CONFLICT (SQL Server: MERGE or a guarded INSERT)",
    r"\bRETURNING\b": "RETURNING (SQL Server: OUTPUT)",
    r"\bFOR (NO KEY )?UPDATE\b|\bFOR (KEY )?SHARE\b": "FOR UPDATE (SQL Server: table hints)",
    r"\bILIKE\b": "ILIKE",
    r"\b(TRUE|FALSE)\b": "boolean literal (SQL Server: 1 / 0)",
}


def _large(element: Any) -> bool:
    return isinstance(getattr(element, "type", None), LARGE_TEXT)


def large_text_uses(statement: Any) -> list[str]:
    """Comparisons or sorts on a large text column: SQL Server refuses `=` and ORDER BY on them."""
    found = []
    for element in visitors.iterate(statement):
        if (isinstance(element, sa.sql.elements.BinaryExpression) and element.operator in COMPARISONS
                and (_large(element.left) or _large(element.right))):  # fmt: skip
            found.append(f"compares {element.left} {element.operator.__name__} {element.right}")
        if isinstance(element, sa.sql.Select):
            for clause in element._order_by_clauses:
                inner = getattr(clause, "element", clause)
                if _large(inner):
                    found.append(f"orders by {inner}")
    return found


@pytest.fixture
def captured(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []

    def remember(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
        seen.append(clauseelement)

    event.listen(Engine, "before_execute", remember)
    try:
        _workload(app_env)
    finally:
        event.remove(Engine, "before_execute", remember)
    return seen


def _workload(root: Path) -> None:
    now = bootstrap.utc_now()
    seed_demo(bootstrap.unit_of_work, now)
    register_client(bootstrap.unit_of_work, "bank-1020", SECRET, "yapago", now)
    register_client(bootstrap.unit_of_work, "collector", SECRET, "collections", now)
    drop(root / "exchange", "valid_r")
    load_pending()
    token = json_of(call("auth_token", "POST", headers={"client_id": "bank-1020", "client_secret": SECRET}))
    bank = {"Authorization": f"Bearer {token['access_token']}"}
    consulta = {"idConsulta": "4785124", "tipoConsulta": 0, "idEmpresa": "730", "idBanco": "1020", "idCanal": "10"}
    call("yapago_consulta", "POST", headers=bank, body=consulta)
    pago = {
        "fechaTxn": "22112026", "horaTxn": "180520", "idCanal": "10", "idForma": "01", "numeroOperacion": "88001",
        "idConsulta": "4785124", "servicio": "001", "numeroDocumento": "F001-00000001", "importePagado": "102.49",
        "moneda": "1", "idEmpresa": "730", "idBanco": "1020", "voucher": "", "referenciaDeuda": 1,
    }  # fmt: skip
    assert json_of(call("yapago_pago", "POST", headers=bank, body=pago))["codResp"] == "00"
    call("yapago_pago", "POST", headers=bank, body={**pago, "horaTxn": "180521"})  # the bank's retry
    reversa = {key: pago[key] for key in ("idEmpresa", "idBanco", "numeroOperacion", "fechaTxn", "idCanal",
                                          "servicio", "numeroDocumento")}  # fmt: skip
    call("yapago_reversa", "POST", headers=bank, body={**reversa, "horaTxn": "181000"})
    file_payments()
    from blueprints.debt_loader import sweep

    for taken in (root / "exchange" / "00730" / "Pagos").glob("*.TXT"):  # the biller takes its file
        taken.unlink()
    assert sum(len(r.taken) for r in sweep()) == 1
    drop(root / "exchange", "valid_n")  # updates after payments
    load_pending()

    import_collections(bootstrap.engine(), json.loads((ROOT / "data" / "collections-demo.json").read_text()), now)
    collector = json_of(call("auth_token", "POST", headers={"client_id": "collector", "client_secret": SECRET}))
    headers = {"X-Invoker-Channel": "012", "X-Invoker-UserIPAddress": "10.5.43.214",
               "X-Invoker-ServerIPAddress": "192.168.169.197", "X-Invoker-UserMACAddress": "0E-A5-38-F7-C3-09",
               "client_id": "collector", "client_secret": SECRET,
               "Authorization": f"Bearer {collector['access_token']}"}  # fmt: skip
    data = ROOT / "tests" / "testdata" / "collections"
    negotiation = json.loads((data / "negotiations" / "ocr-pppl.json").read_text())
    for _ in range(2):  # the retry is found by the request's hash
        call("collections_negotiations", "POST", headers=headers, body=negotiation)
    call("collections_agreement", "GET", headers=headers, params={"id": "1"})
    for name in ("disbursement_dispatch", "disbursement_responses", "webhook_delivery", "drawdown_booking",
                 "qr_expiration"):  # fmt: skip
        try:
            function(name).get_user_function()(TimerRequest())
        except Exception:  # noqa: BLE001 - a timer without its settings still ran its first queries
            pass
    _channel_setup(now)


def _channel_setup(now: datetime) -> None:
    """Issue 29's statements: create-channel changing only what it is given, removing a URL (the
    events parked), rotating a webhook secret with its overlap, replaying a channel's events."""
    from domain.lending.clabe import make_clabe
    from usecases.lending import save_channel
    from usecases.webhooks import WAITING, end_secret_overlap, list_webhooks, replay_channel, rotate_webhook_secret

    engine, key = bootstrap.engine(), b"k" * 40
    save_channel(engine, "OXXO", "Oxxo", make_clabe("012", "180", "1000000009"), "https://oxxo.example.com/h", now)
    save_channel(engine, "OXXO", None, None, None, now, clear_webhook=True)
    save_channel(engine, "OXXO", "Oxxo Mexico", None, "https://oxxo.example.com/h", now)
    replay_channel(engine, "OXXO", now)
    list_webhooks(engine, WAITING, 10, "OXXO")
    rotate_webhook_secret(engine, key, "OXXO", now)
    end_secret_overlap(engine, key, "OXXO", now)


def test_every_statement_compiles_for_azure_sql(captured: list[Any]) -> None:
    problems: list[str] = []
    compiled: dict[str, str] = {}
    for statement in captured:
        if isinstance(statement, sa.TextClause):
            continue  # a backend's own branch (PRAGMA, PostgreSQL COPY / ON CONFLICT); see the module doc
        kind = type(statement).__module__
        if ".dialects.sqlite" in kind or ".dialects.postgresql" in kind:
            continue  # the same: a construct of another backend's branch
        if isinstance(statement, SAVEPOINTS):
            continue  # the mssql dialect issues SAVE TRANSACTION itself and releases nothing
        try:
            sql = str(statement.compile(dialect=DIALECT))
        except sa.exc.CompileError as exc:
            problems.append(f"does not compile for SQL Server: {exc}: {statement}")
            continue
        compiled.setdefault(sql, sql)
        for pattern, why in REFUSED.items():
            if re.search(pattern, sql, re.IGNORECASE):
                problems.append(f"{why}: {sql[:300]}")
        if getattr(statement, "_for_update_arg", None) is not None and "WITH (" not in sql:
            problems.append(f"a row lock SQL Server would not take (no table hint): {sql[:300]}")
        problems.extend(f"{use}: {sql[:200]}" for use in large_text_uses(statement))
    assert len(compiled) > 60, f"the workload issued only {len(compiled)} distinct statements"
    for sql in compiled:
        try:
            # parameters as values: named ones, and the expanding ones (IN lists, TOP n) rendered at run time
            plain = re.sub(r"__\[POSTCOMPILE_\w+\]", "1", re.sub(r"(?<![\w:]):[A-Za-z_]\w*", "NULL", sql))
            sqlglot.parse_one(plain, read="tsql")
        except sqlglot.errors.ParseError as exc:
            problems.append(f"not T-SQL: {str(exc)[:200]}: {sql[:300]}")
    assert problems == [], "\n".join(sorted(set(problems)))


def test_the_script_parses_as_tsql_and_uses_only_what_azure_sql_accepts() -> None:
    text = AZURE_SQL.read_text()
    batches = [b for b in re.split(r"^GO\s*$", text, flags=re.MULTILINE)]
    commands: list[str] = []
    parsed = 0
    for batch in batches:
        body = "\n".join(line for line in batch.splitlines() if not line.strip().startswith("--")).strip()
        if not body:
            continue
        for statement in sqlglot.parse(body, read="tsql"):
            if statement is None:
                continue
            parsed += 1
            if isinstance(statement, sqlglot.exp.Command):
                commands.append(statement.sql(dialect="tsql")[:60])
            for kind in statement.find_all(sqlglot.exp.DataType):
                assert kind.this not in (sqlglot.exp.DataType.Type.TEXT, sqlglot.exp.DataType.Type.IMAGE), \
                    f"deprecated type in {statement.sql(dialect='tsql')[:200]}"  # fmt: skip
                assert kind.this != sqlglot.exp.DataType.Type.DATETIME, "an instant without its zone"
    assert parsed > 100
    # what sqlglot does not model, kept as a command: only these
    assert all(c.startswith(("SET IDENTITY_INSERT", "BEGIN TRANSACTION", "COMMIT")) for c in commands), commands


def test_large_text_check_finds_what_sql_server_refuses() -> None:
    table = sa.table("t", sa.column("body", sa.Text), sa.column("name", sa.String(10)))
    assert large_text_uses(sa.select(table).where(table.c.body == "x"))
    assert large_text_uses(sa.select(table).order_by(table.c.body))
    assert not large_text_uses(sa.select(table).where(table.c.name == "x").order_by(table.c.name))
    assert datetime.now(UTC)
