"""Runs the payment-file generator (`python -m tests.e2e.crash_generator`) and kills itself
with SIGKILL at the checkpoint CRASH_AT."""

from __future__ import annotations

import os
import signal
from datetime import datetime

import bootstrap
from usecases.payment_files import generate_payment_files


def main() -> None:
    step = os.environ["CRASH_AT"]
    now = datetime.fromisoformat(os.environ["FIXED_NOW"])

    def checkpoint(name: str) -> None:
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    generate_payment_files(bootstrap.engine(), bootstrap.file_store(), lambda: now, checkpoint=checkpoint)
    print("finished without crashing")


if __name__ == "__main__":
    main()
