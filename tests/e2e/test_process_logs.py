"""A timer run leaves one ProcessLogs entity, success or failure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.functions.timer import TimerRequest

import bootstrap
from adapters.table_log import PROCESS_LOGS, partition_key, read_partition
from blueprints.common import timer_process


def test_timer_runs_are_logged(app_env, azurite: str) -> None:  # type: ignore[no-untyped-def]
    @timer_process("sample_process")
    def ok_run(timer: TimerRequest) -> dict[str, int]:
        return {"Files": 2, "Records": 10}

    @timer_process("sample_process")
    def failing_run(timer: TimerRequest) -> None:
        raise ValueError("disk full")

    ok_run(TimerRequest(past_due=True))
    with pytest.raises(ValueError):
        failing_run(TimerRequest())
    bootstrap.log_sink().flush()
    failed, succeeded = read_partition(azurite, PROCESS_LOGS, partition_key("sample_process", datetime.now(UTC)))[:2]
    assert succeeded["Outcome"] == "succeeded" and succeeded["Files"] == 2 and succeeded["Records"] == 10
    assert succeeded["PastDue"] is True and succeeded["Process"] == "sample_process"
    assert failed["Outcome"] == "failed" and failed["Error"] == "ValueError: disk full"
