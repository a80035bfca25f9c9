from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_host.timers import Schedule, ScheduleError, resolve_schedule


def test_setting_names_are_resolved() -> None:
    assert resolve_schedule("%DEBT_SCHEDULE%", {"DEBT_SCHEDULE": "0 */5 * * * *"}) == "0 */5 * * * *"
    with pytest.raises(ScheduleError, match="DEBT_SCHEDULE"):
        resolve_schedule("%DEBT_SCHEDULE%", {}, "debt_loader")


def test_ncrontab_seconds_first() -> None:
    start = datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)
    assert Schedule.parse("*/15 * * * * *").next_after(start) == datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
    assert Schedule.parse("0 */5 * * * *").next_after(start) == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert Schedule.parse("30 0 9 * * 1-5").next_after(start) == datetime(2026, 1, 1, 9, 0, 30, tzinfo=UTC)


def test_timespan_interval() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert Schedule.parse("00:10:00").next_after(start) == start + timedelta(minutes=10)


@pytest.mark.parametrize("bad", ["*/5 * * * *", "nonsense", "61 * * * * *", "00:00:00"])
def test_bad_schedules(bad: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.parse(bad, "tick")
