"""When a biller could have applied what YAPAGO took (issue 29), the rule a reload restates by.

A biller's debt file states its amounts as of the moment it was made. A payment YAPAGO took
is already deducted there only if the biller could have applied it by then, and it can only
apply what it was sent in a payment file (`[company]/Pagos/P*.TXT`). Being written to
Pagos/ is not enough: the biller picks its files up and applies them on its own schedule. So
a payment file counts as applied ("known") by a moment when either

- the biller TOOK it (moved or deleted it from Pagos/, which its guide asks it to do once the
  file is applied) no later than that moment; the take is recorded when a sweep of the
  folder first sees the file gone, never earlier, so the record errs late; or
- the SETTLEMENT delay had passed since its delivery (the billers' contract: "a payment file
  is applied within N hours of its delivery"; 0: only taken files count).

The moment is the debt file's statement time: its header's transmission time less the clock
tolerance (a biller's clock may run that far ahead of ours, so its true time may be that much
earlier), capped at the file's arrival on the exchange and at the loader's clock.

Everything here errs the same way: when in doubt a payment keeps counting against the
reloaded balance (a customer is refused for a while, which is recoverable) rather than being
taken to be in the biller's amount (which would let the debt be collected twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_SETTLEMENT = timedelta(hours=72)  # PAYMENT_FILE_SETTLEMENT_HOURS: Friday evening's file by Monday evening
MAX_RUNS = 50  # runs of not-yet-known records a restatement names one by one (beyond: see unknown_records)

Run = tuple[int, int | None]  # record ids lo < id <= hi; hi None: no end


def statement_time(header_at: datetime, arrived: datetime, now: datetime, tolerance: timedelta) -> datetime:
    """The latest moment a debt file can be taken to state the biller's books at: its header's
    time less the clock tolerance (DEBT_FILE_MAX_FUTURE_MINUTES), its arrival, the loader's now."""
    return min(header_at - tolerance, arrived, now)


def file_known(uploaded_at: datetime | None, taken_at: datetime | None, at: datetime, settlement: timedelta) -> bool:
    """Whether a payment file counts as applied by its biller at `at` (the SQL in
    sql/debt_repository.py `known_files` says the same)."""
    if uploaded_at is None:
        return False  # reserved, not on the exchange yet
    if taken_at is not None and taken_at <= at:
        return True
    return settlement > timedelta(0) and uploaded_at + settlement <= at


@dataclass(frozen=True)
class UnknownRecords:
    """The company's payment-record ids its biller cannot be taken to have applied, as runs:
    `payments` (a payment there still counts against the reload) and `reversals` (a reversal
    there of a payment it had applied gives the amount back). Exact up to MAX_RUNS runs; past
    that, each errs its own safe way: `payments` widens (more payments count), `reversals`
    narrows (fewer reversals give back)."""

    payments: tuple[Run, ...]
    reversals: tuple[Run, ...]


def unknown_records(unknown_files: Iterable[tuple[int, int]], first_after: int | None,
                    filed_to: int) -> UnknownRecords:  # fmt: skip
    """From the company's payment files not known yet, as (after, last] record ranges in order,
    the first file's `after` and the last record any file holds (`filed_to`): records before
    the first file or after the last one are in no file, so unknown as well. (A company's files
    are contiguous: each starts where the previous one ended, sql/payment_file_repository.py.)"""
    ranges: list[Run] = []
    if first_after:
        ranges.append((0, first_after))
    ranges += [(after, last) for after, last in unknown_files]
    ranges.append((filed_to, None))
    runs: list[Run] = []
    for lo, hi in ranges:
        if runs:
            last_lo, last_hi = runs[-1]
            if last_hi is None or lo <= last_hi:  # touching or overlapping: one run
                runs[-1] = (last_lo, None if hi is None or last_hi is None else max(hi, last_hi))
                continue
        if hi is None or hi > lo:
            runs.append((lo, hi))
    if len(runs) <= MAX_RUNS:
        return UnknownRecords(tuple(runs), tuple(runs))
    kept = runs[-(MAX_RUNS - 1):]
    widened = ((runs[0][0], runs[-MAX_RUNS][1]), *kept)  # the earliest runs and the known gaps between them
    return UnknownRecords(widened, tuple(runs[-MAX_RUNS:]))
