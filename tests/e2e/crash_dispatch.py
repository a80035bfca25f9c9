"""Runs the dispersion dispatch (`python -m tests.e2e.crash_dispatch`) and kills its own process
with SIGKILL (as kill -9) at the checkpoint CRASH_AT: reserved, staged, uploaded or marked."""

from __future__ import annotations

import os
import signal
from datetime import datetime

import bootstrap
from usecases.disbursements import dispatch_disbursements


def main() -> None:
    step = os.environ["CRASH_AT"]
    now = datetime.fromisoformat(os.environ["FIXED_NOW"])

    def checkpoint(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    dispatch_disbursements(bootstrap.engine(), bootstrap.file_store(), lambda: now, checkpoint=checkpoint)
    print("finished without crashing")


if __name__ == "__main__":
    main()
