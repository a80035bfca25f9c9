"""What the stateful models (tests/integration/test_model_*.py) share: crashes in process and
their sizes.

A use case's checkpoint raises `Crash`, so nothing after it runs and the open transaction rolls
back, as when the process is killed there (the SIGKILL crash tests, tests/e2e/crash_*.py, kill
real processes). Sizes: the default runs in `make test`; MODEL_PROFILE=deep is the run reported
per issue; MODEL_EXAMPLES / MODEL_STEPS set them by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings

DEEP = os.environ.get("MODEL_PROFILE") == "deep"


class Crash(BaseException):
    """The process dies at a checkpoint (a BaseException: no `except Exception` of the code under
    test may swallow it)."""


def crash_at(step: str | None) -> Callable[[str], None]:
    """A checkpoint callback that dies at `step` (None: never)."""

    def checkpoint(name: str) -> None:
        if name == step:
            raise Crash(name)

    return checkpoint


def model_settings(examples: int, steps: int, deep_examples: int, deep_steps: int = 60) -> settings:
    """The hypothesis settings of a model at the profile asked for (no example database: a run
    is its own search, and the deep one is reported as such)."""
    return settings(
        max_examples=int(os.environ.get("MODEL_EXAMPLES", deep_examples if DEEP else examples)),
        stateful_step_count=int(os.environ.get("MODEL_STEPS", deep_steps if DEEP else steps)),
        deadline=None, suppress_health_check=list(HealthCheck), database=None,
    )  # fmt: skip


# the deep profile runs for many minutes on PostgreSQL: not cut by the suite's 300 s
timeout = pytest.mark.timeout(6 * 3600 if DEEP else 600)
