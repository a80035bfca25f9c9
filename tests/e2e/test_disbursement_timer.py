"""The registered disbursement_dispatch timer writes the dispersion file and logs it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from azure.functions.timer import TimerRequest

import bootstrap
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
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
