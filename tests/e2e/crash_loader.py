"""Runs the debt loader (`python -m tests.e2e.crash_loader`) and kills its own process (SIGKILL, as kill -9) at a chosen step.

Used by test_debt_crash.py: CRASH_AT names the checkpoint, CRASH_COUNT which occurrence.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime

import bootstrap
from usecases.load_debts import load_debts


def main() -> None:
    step, count = os.environ["CRASH_AT"], int(os.environ.get("CRASH_COUNT", "1"))
    now = datetime.fromisoformat(os.environ["FIXED_NOW"])
    seen = {"n": 0}

    def checkpoint(name: str) -> None:
        if name == step:
            seen["n"] += 1
            if seen["n"] == count:
                os.kill(os.getpid(), signal.SIGKILL)

    load_debts(
        bootstrap.engine(),
        bootstrap.file_store(),
        lambda: now,
        checkpoint=checkpoint,
        line_worker=os.environ.get("DEBT_LOAD_WORKER", "auto"),
    )
    print("finished without crashing")


if __name__ == "__main__":
    main()
