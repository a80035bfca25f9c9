"""The registered disbursement_dispatch timer writes the dispersion file and logs it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.functions.timer import TimerRequest

import bootstrap
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from domain.layouts.disbursements import RESPONSE
from tests.e2e.calls import function
from tests.integration.test_disbursement_dispatch import approved
from usecases.lending import save_customer, seed_lending_demo


def test_timer_writes_and_logs(app_env: Path, azurite: str) -> None:
    now = bootstrap.utc_now()
    seed_lending_demo(bootstrap.engine(), now)
    save_customer(bootstrap.engine(), "CUST-001", "+525500000001", now)
    approved(bootstrap.engine(), "1250.50")
    function("disbursement_dispatch").get_user_function()(TimerRequest())
    (written,) = (app_env / "exchange" / "dispersiones" / "pendientes").iterdir()
    assert written.name.startswith("DISP_") and len(written.read_bytes()) == 3 * 252
    bootstrap.log_sink().flush()
    entries = read_partition(azurite, PROCESS_LOGS, partition_key("disbursement_dispatch", datetime.now(UTC)))
    files = [e for e in entries if e.get("Kind") == "file"]
    assert files and files[0]["Records"] == 1 and files[0]["TotalMXN"] == "1250.50" and files[0]["Outcome"] == "ESCRITO"


def test_response_and_webhook_timers_apply_and_log(
    app_env: Path, azurite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENDING_WEBHOOK_KEY", "w" * 40)
    bootstrap.reset()
    now = bootstrap.utc_now()
    seed_lending_demo(bootstrap.engine(), now, "http://127.0.0.1:9")  # a receiver that is down
    save_customer(bootstrap.engine(), "CUST-001", "+525500000001", now)
    ok, retry = approved(bootstrap.engine(), "100.00"), approved(bootstrap.engine(), "20.00")
    function("disbursement_dispatch").get_user_function()(TimerRequest())
    exchange = app_env / "exchange" / "dispersiones"
    lines = [RESPONSE.format({"id_transaccion": p, "estatus": s, "codigo_motivo": c, "clave_rastreo": "",
                              "fecha_operacion": now.date(), "intento": 0}) + b"\r\n"
             for p, s, c in ((ok, "P", "00"), (retry, "R", "99"))] + [b"?\r\n"]  # fmt: skip
    (exchange / "respuestas").mkdir()
    (exchange / "respuestas" / "RESP_T.TXT").write_bytes(b"".join(lines))
    function("disbursement_responses").get_user_function()(TimerRequest())
    assert next(f.name for f in (exchange / "reintentos").iterdir()).startswith("REIN_")
    function("webhook_delivery").get_user_function()(TimerRequest())
    bootstrap.log_sink().flush()
    today = datetime.now(UTC)
    responses = read_partition(azurite, PROCESS_LOGS, partition_key("disbursement_responses", today))
    (applied,) = [e for e in responses if e.get("File") == "dispersiones/respuestas/RESP_T.TXT"]
    assert (applied["Outcome"], applied["Lines"], applied["Disbursed"], applied["Retried"], applied["Malformed"]) == (
        "APLICADO", 3, 1, 1, 1)  # fmt: skip
    assert applied["Problems"].startswith("line 3 malformed:")
    assert any(e.get("File", "").startswith("dispersiones/reintentos/REIN_") for e in responses)
    run = next(e for e in responses if e.get("Kind") == "run")  # newest first: this test's run
    assert (run["Files"], run["Disbursed"], run["Retried"], run["Problems"], run["RetryFiles"]) == (1, 1, 1, 1, 1)
    hooks = read_partition(azurite, PROCESS_LOGS, partition_key("webhook_delivery", today))
    (event,) = [e for e in hooks if e.get("EventId") == f"{ok}.disbursed"]
    assert (event["EventId"], event["Outcome"], event["Attempts"]) == (f"{ok}.disbursed", "PENDING", 1)
    assert "ConnectError" in event["Error"] and event["NextAttempt"]
