"""How long an invocation may run: the host's `functionTimeout` (host.json, or the app setting
`AzureFunctionsJobHost__functionTimeout` that overrides it on Azure). Long work checks it and
stops at a commit boundary instead of being killed in the middle of a file."""

from __future__ import annotations

import functools
import json
import os
import time

from settings import ROOT

DEFAULT_TIMEOUT = 30 * 60.0  # Flex Consumption's default when host.json says nothing
SETTING = "AzureFunctionsJobHost__functionTimeout"


def _seconds(span: str) -> float:
    days, _, clock = span.rpartition(".") if span.count(":") == 2 and "." in span.split(":")[0] else ("", "", span)
    hours, minutes, seconds = clock.split(":")
    return (int(days) * 86400 if days else 0) + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@functools.cache
def function_timeout() -> float:
    span = os.environ.get(SETTING)
    if not span:
        try:
            span = json.loads((ROOT / "host.json").read_text()).get("functionTimeout")
        except (OSError, ValueError):
            span = None
    if not span or span == "-1":
        return DEFAULT_TIMEOUT
    try:
        return _seconds(str(span))
    except ValueError:
        return DEFAULT_TIMEOUT


def deadline(started: float | None = None) -> float:
    """The time.monotonic() by which an invocation that started at `started` must be done."""
    return (time.monotonic() if started is None else started) + function_timeout()
