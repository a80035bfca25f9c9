"""The small parsers of the scale-out: Event Grid blob subjects, work messages, host.json
TimeSpans and queue options, and the time budget. Any input: an answer or a clear refusal."""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.queues import decode, encode
from blueprints.time_budget import _seconds as timespan
from local_host.queues import QueueOptions
from usecases.load_debts import Budget, company_of_blob

PREFIX = "/blobServices/default/containers/exchange/blobs/"


@given(st.integers(1, 99999), st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=40))
def test_a_pending_file_names_its_company(company: int, name: str) -> None:
    assert company_of_blob(f"{PREFIX}{company:05d}/Deudas/Pending/{name}", "blob://exchange") == company
    assert company_of_blob(f"{PREFIX}root/{company:05d}/Deudas/Pending/{name}", "blob://exchange/root") == company


@given(st.text(max_size=200), st.sampled_from(["blob://exchange", "blob://exchange/root", "file:///x", "sftp://h/"]))
def test_any_subject_is_a_company_or_none(subject: str, store: str) -> None:
    found = company_of_blob(subject, store)
    assert found is None or (1 <= found <= 99999 and "/Deudas/Pending/" in subject)


@pytest.mark.parametrize("subject", [
    f"{PREFIX}00730/Deudas/Pending/",  # the folder itself
    f"{PREFIX}00730/Deudas/Pending/sub/x.TXT",  # deeper
    f"{PREFIX}730/Deudas/Pending/x.TXT",  # not five digits
    f"{PREFIX}00730/deudas/pending/x.TXT",  # another folder (names are case-sensitive in blob storage)
    "/blobServices/default/containers/exchange2/blobs/00730/Deudas/Pending/x.TXT",
])  # fmt: skip
def test_other_subjects_name_no_company(subject: str) -> None:
    assert company_of_blob(subject, "blob://exchange") is None


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=20), st.none()), max_size=5))
def test_work_messages_round_trip_through_base64(body: dict) -> None:
    encoded = encode(body)
    assert decode(base64.b64decode(encoded)) == body


@given(st.binary(max_size=200))
def test_any_body_decodes_or_is_refused_with_value_error(raw: bytes) -> None:
    try:
        value = decode(raw)
    except (ValueError, UnicodeDecodeError):
        return
    assert isinstance(value, dict) and value == json.loads(raw)


@pytest.mark.parametrize(("span", "seconds"), [("01:00:00", 3600), ("00:00:02.5", 2.5), ("1.02:00:00", 93600),
                                                ("00:10:00", 600)])  # fmt: skip
def test_timespans(span: str, seconds: float) -> None:
    assert timespan(span) == seconds


def test_queue_options_from_host_json_and_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = tmp_path / "host.json"
    host.write_text(json.dumps({"extensions": {"queues": {"batchSize": 4, "maxPollingInterval": "00:00:02",
                                                          "visibilityTimeout": "00:00:30", "maxDequeueCount": 5}}}))
    options = QueueOptions.from_host_json(host, {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "3"})
    assert (options.batch_size, options.new_batch_threshold, options.max_polling_interval) == (4, 2, 2.0)
    assert (options.visibility_timeout, options.max_dequeue_count, options.base64) == (30.0, 3, True)
    assert QueueOptions.from_host_json(tmp_path / "missing.json", {}) == QueueOptions()


def test_the_budget_starts_a_file_only_when_its_estimate_fits() -> None:
    budget = Budget(deadline=time.monotonic() + 40)
    assert budget.allows(1_000_000)  # 0.5 s + 30 s margin
    assert not budget.allows(40_000_000)  # 20 s + 30 s
    assert not Budget(deadline=time.monotonic() + 29).allows(0)


def test_the_progress_bar_counts_lines_and_time_left() -> None:
    from manage import ProgressBar

    now = [100.0]
    bar = ProgressBar(clock=lambda: now[0])
    assert "time left: measuring" in bar.line("D.TXT", 0, 212_000)
    now[0] = 102.0
    text = bar.line("D.TXT", 53_000, 212_000)  # a quarter in 2 s: 6 s to go
    assert "25.0%" in text and "250 lines" in text and "6s left" in text
    now[0] = 108.0
    assert "1,000 lines" in bar.line("D.TXT", 212_000, 212_000) and "done in 8.0s" in bar.line("D.TXT", 212_000, 212_000)
