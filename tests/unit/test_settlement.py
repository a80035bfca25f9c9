"""domain/settlement.py: the statement time, when a payment file counts as applied, and the runs of
record ids a restatement names (exact up to MAX_RUNS; past it, each side errs its safe way)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from domain.settlement import MAX_RUNS, Run, file_known, statement_time, unknown_records

T = datetime(2026, 11, 22, 15, tzinfo=UTC)
H = timedelta(hours=1)


def test_the_statement_time_is_the_header_less_the_tolerance_capped_at_arrival_and_now() -> None:
    ten = timedelta(minutes=10)
    assert statement_time(T, T + H, T + 2 * H, ten) == T - ten
    assert statement_time(T + 3 * H, T + H, T + 2 * H, ten) == T + H  # arrived before its header says
    assert statement_time(T + 3 * H, T + 4 * H, T + 2 * H, ten) == T + 2 * H


def test_a_file_counts_as_applied_once_taken_or_settled() -> None:
    assert not file_known(None, None, T, H), "reserved: not on the exchange"
    assert not file_known(T, None, T + H - timedelta(seconds=1), H)
    assert file_known(T, None, T + H, H), "the settlement delay passed"
    assert not file_known(T, None, T + 1000 * H, timedelta(0)), "0: only taken files count"
    assert file_known(T, T + timedelta(minutes=5), T + timedelta(minutes=5), timedelta(0))
    assert not file_known(T, T + timedelta(minutes=5), T + timedelta(minutes=4), timedelta(0)), "taken after"


def test_runs_merge_touching_files_and_add_what_no_file_holds() -> None:
    runs = unknown_records([(10, 20), (20, 30), (40, 50)], 0, 60)
    assert runs.payments == runs.reversals == ((10, 30), (40, 50), (60, None))
    assert unknown_records([(50, 60)], 0, 60).payments == ((50, None),)
    assert unknown_records([], None, 0).payments == ((0, None),), "no file yet: every record"
    assert unknown_records([], 5, 60).payments == ((0, 5), (60, None)), "records before the first file"


def inside(record: int, runs: tuple[Run, ...]) -> bool:
    return any(record > lo and (hi is None or record <= hi) for lo, hi in runs)


@given(st.lists(st.booleans(), min_size=1, max_size=3 * MAX_RUNS))
@example([False, True] * (MAX_RUNS + 10))  # 60 runs: past the cap
@example([True, False] * MAX_RUNS)
def test_past_max_runs_payments_widen_and_reversals_narrow(known: list[bool]) -> None:
    """Files of 3 records each, known or not: a record of an unknown file (or after the last) is in
    the payments' runs; a record of the reversals' runs is of an unknown file (or after the last)."""
    files = [(3 * i, 3 * i + 3) for i in range(len(known))]
    runs = unknown_records([f for f, k in zip(files, known, strict=True) if not k], 0, files[-1][1])
    assert len(runs.payments) <= MAX_RUNS and len(runs.reversals) <= MAX_RUNS
    for record in range(1, files[-1][1] + 5):
        exact = record > files[-1][1] or not known[(record - 1) // 3]
        if exact:
            assert inside(record, runs.payments), record
        else:
            assert not inside(record, runs.reversals), record
    exact_runs = sum(1 for i, k in enumerate(known) if not k and (i == 0 or known[i - 1])) + (1 if known[-1] else 0)
    if exact_runs <= MAX_RUNS:
        assert runs.payments == runs.reversals
    else:
        assert runs.payments != runs.reversals
