"""Fires timer functions on their schedules, as the Functions host does.

Schedules are NCRONTAB expressions with six fields, seconds first (`0 */15 * * * *`),
or a TimeSpan `hh:mm:ss` interval; `%NAME%` is replaced by the setting NAME from the
environment (where `manage.py` has put `local.settings.json` too). Times are UTC unless
WEBSITE_TIME_ZONE names a zone, as on the Functions host. A run still going when its
next time comes is not overlapped: that tick is skipped and logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import azure.functions as func
from azure.functions.timer import TimerRequest
from croniter import croniter

from local_host.invoke import invoke
from local_host.registry import functions_of

log = logging.getLogger("local_host")
_SETTING = re.compile(r"%([^%]+)%")
_TIMESPAN = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})")


class ScheduleError(ValueError):
    pass


def resolve_schedule(raw: str, env: Mapping[str, str], function_name: str = "") -> str:
    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env or not env[name].strip():
            raise ScheduleError(f"timer {function_name}: app setting {name} (used by schedule {raw!r}) is not set")
        return env[name].strip()

    return _SETTING.sub(setting, raw).strip()


@dataclass(frozen=True)
class Schedule:
    expression: str
    interval: timedelta | None = None

    @classmethod
    def parse(cls, expression: str, function_name: str = "") -> Schedule:
        span = _TIMESPAN.fullmatch(expression)
        if span:
            hours, minutes, seconds = (int(g) for g in span.groups())
            interval = timedelta(hours=hours, minutes=minutes, seconds=seconds)
            if interval <= timedelta(0):
                raise ScheduleError(f"timer {function_name}: interval {expression!r} must be positive")
            return cls(expression, interval)
        if len(expression.split()) != 6 or not croniter.is_valid(expression, second_at_beginning=True):
            raise ScheduleError(
                f"timer {function_name}: {expression!r} is not a six-field NCRONTAB expression "
                "({second} {minute} {hour} {day} {month} {day-of-week})"
            )
        return cls(expression)

    def next_after(self, moment: datetime) -> datetime:
        if self.interval is not None:
            return moment + self.interval
        return croniter(self.expression, moment, second_at_beginning=True).get_next(datetime)


def host_zone(env: Mapping[str, str]) -> ZoneInfo:
    name = env.get("WEBSITE_TIME_ZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"WEBSITE_TIME_ZONE {name!r} is not an IANA time zone") from None


@dataclass
class TimerJob:
    function: Any
    schedule: Schedule
    run_on_startup: bool
    next_time: datetime | None = None
    last_time: datetime | None = None
    running: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        return self.function.get_function_name()


def timer_jobs(app: func.FunctionApp, env: Mapping[str, str] | None = None) -> list[TimerJob]:
    """Every timer function with its resolved schedule; a bad schedule raises ScheduleError now."""
    env = os.environ if env is None else env
    jobs = []
    for function in functions_of(app):
        trigger = function.get_trigger()
        if trigger.get_binding_name() != "timerTrigger":
            continue
        name = function.get_function_name()
        schedule = Schedule.parse(resolve_schedule(trigger.schedule, env, name), name)
        jobs.append(TimerJob(function, schedule, bool(trigger.run_on_startup)))
    return jobs


def timer_request(job: TimerJob, now: datetime, past_due: bool) -> TimerRequest:
    status = {
        "Last": (job.last_time or now).isoformat(),
        "Next": job.schedule.next_after(now).isoformat(),
        "LastUpdated": now.isoformat(),
    }
    return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})


def fire(job: TimerJob, reason: str, now: datetime, past_due: bool = False, claims: Any = None) -> bool:
    """Run one tick now, in this thread; False when the previous run is still going, or when
    another instance took this tick (`claims`, local_host/singleton.py)."""
    if job.running.is_set():
        log.warning("Timer '%s' is still running; skipping the tick due at %s", job.name, now.isoformat())
        return False
    if claims is not None and not claims.claim(job.name, now):
        log.info("Timer '%s': the tick due at %s runs on another instance", job.name, now.isoformat())
        return False
    job.running.set()
    try:
        asyncio.run(invoke(job.function, timer_request(job, now, past_due), reason))
    except Exception:  # noqa: BLE001 - logged by invoke; the scheduler goes on
        pass
    finally:
        job.last_time = now
        job.running.clear()
    return True


class TimerScheduler(threading.Thread):
    def __init__(self, jobs: list[TimerJob], zone: ZoneInfo | None = None, claims: Any = None) -> None:
        super().__init__(name="timer-scheduler", daemon=True)
        self.jobs = jobs
        self.zone = zone or ZoneInfo("UTC")
        self.claims = claims  # one instance per tick (local_host/singleton.py); None: every tick here
        self._stop = threading.Event()

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.zone)

    def stop(self) -> None:
        self._stop.set()

    def _start_run(self, job: TimerJob, reason: str, due: datetime) -> None:
        past_due = (self.now() - due) > timedelta(seconds=30)
        threading.Thread(target=fire, args=(job, reason, due, past_due, self.claims), name=f"timer-{job.name}",
                         daemon=True).start()  # fmt: skip

    def run(self) -> None:
        start = self.now()
        for job in self.jobs:
            job.next_time = job.schedule.next_after(start)
            log.info(
                "Timer '%s': schedule %s, next run %s", job.name, job.schedule.expression, job.next_time.isoformat()
            )
            if job.run_on_startup:
                self._start_run(job, "IsPastDue=False, RunOnStartup", start)
        while self.jobs and not self._stop.is_set():
            job = min(self.jobs, key=lambda j: j.next_time or start)
            assert job.next_time is not None
            wait = (job.next_time - self.now()).total_seconds()
            if wait > 0 and self._stop.wait(min(wait, 1.0)):
                break
            if wait > 0:
                continue
            due = job.next_time
            job.next_time = job.schedule.next_after(max(due, self.now()))
            self._start_run(job, "Timer fired at " + due.isoformat(), due)
