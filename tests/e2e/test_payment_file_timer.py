"""The registered payment_file_generator timer writes the file and one ProcessLogs entity per file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import bootstrap
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from tests.e2e.calls import file_payments, function
from tests.integration.test_debt_golden import DATA
from tests.integration.test_payment_files import pay
from usecases.companies import seed_demo
from usecases.load_debts import load_debts


def debts_loaded() -> None:
    """Company 730 with the golden R file loaded: debts to pay."""
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    (source,) = (DATA / "valid_r").glob("*.TXT")
    bootstrap.file_store().write_atomic(f"00730/Deudas/Pending/{source.name}", source.read_bytes())
    load_debts(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now)


def test_timer_writes_and_logs(app_env: Path, azurite: str) -> None:
    debts_loaded()
    pay(bootstrap.engine(), "TIMER1", "20.00", 0)
    pay(bootstrap.engine(), "TIMER2", "2515.00", 0, idConsulta="20100047218", servicio="002",
        numeroDocumento="F002-00000100", moneda="2")  # fmt: skip
    file_payments()
    written = sorted((app_env / "exchange" / "00730" / "Pagos").iterdir())
    assert len(written) == 1 and written[0].name.startswith("P00730") and len(written[0].read_bytes()) == 2 * 238
    bootstrap.log_sink().flush()
    entries = read_partition(azurite, PROCESS_LOGS, partition_key("payment_file_generator", datetime.now(UTC)))
    files = [e for e in entries if e.get("Kind") == "file" and e.get("File") == written[0].name]
    assert files and files[0]["Records"] == 2 and files[0]["TotalPEN"] == "20.00" and files[0]["TotalUSD"] == "2515.00"
    assert files[0]["Company"] == "00730" and files[0]["Outcome"] == "ESCRITO"
    dispatches = [e for e in entries if e.get("Kind") == "dispatch"]
    assert dispatches[0]["Companies"] == 1 and dispatches[0]["Outcome"] == "succeeded"
    assert file_payments() == 0, "nothing left to file: no company queued"
    from usecases.reports import payment_file_rows, pending_records

    (row,) = payment_file_rows(bootstrap.engine())
    assert (row.file_name, row.records, row.total_pen, row.total_usd) == (written[0].name, 2, 2000, 251500)
    assert row.uploaded_at is not None and pending_records(bootstrap.engine()) == {}
    pay(bootstrap.engine(), "TIMER3", "20.00", 0)
    assert pending_records(bootstrap.engine()) == {730: 1}


def test_a_redelivered_payment_message_files_nothing_twice(app_env: Path, azurite: str) -> None:
    from azure.functions.queue import QueueMessage

    debts_loaded()
    pay(bootstrap.engine(), "QUEUE1", "20.00", 0)
    run = function("payment_files").get_user_function()
    for count in (1, 2):  # the same message twice (a retry after a lost acknowledgement)
        run(QueueMessage(id="m1", body=b'{"company": 730}', dequeue_count=count))
    written = list((app_env / "exchange" / "00730" / "Pagos").iterdir())
    assert len(written) == 1, "one file: the second delivery found nothing to file"
    with pytest.raises(ValueError, match="not a payment work message"):
        run(QueueMessage(id="m2", body=b'{"company": "730"}', dequeue_count=1))
    function("payment_files_poison").get_user_function()(QueueMessage(id="m3", body=b'{"company": 730}'))
    bootstrap.log_sink().flush()
    rows = read_partition(azurite, PROCESS_LOGS, partition_key("payment_files_poison", datetime.now(UTC)))
    assert any(r.get("Company") == "00730" and r.get("Result", "").startswith("dropped") for r in rows)
