"""ApiLogs / ProcessLogs in real Azurite, and what happens when Table Storage is away."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.table_log import API_LOGS, PROCESS_LOGS, TableLogSink, make_entity, read_partition
from tests.conftest import free_port


def test_entities_land_in_a_daily_partition_newest_first(azurite: str) -> None:
    sink = TableLogSink(azurite, timeout=15)
    base = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    process = f"ordering_{uuid.uuid4().hex[:8]}"  # the session's Azurite is shared: a name of its own
    for minute in (1, 3, 2):
        when = base + timedelta(minutes=minute)
        sink.write(PROCESS_LOGS, make_entity(process, when, {"Process": process, "Minute": minute}))
    sink.write(PROCESS_LOGS, make_entity(process, base + timedelta(days=1), {"Minute": 99}))
    assert sink.flush()
    rows = read_partition(azurite, PROCESS_LOGS, f"{process}_20261122")
    assert [r["Minute"] for r in rows] == [3, 2, 1]
    assert rows[0]["LoggedAt"] == "2026-11-22T15:03:00+00:00"
    assert [r["Minute"] for r in read_partition(azurite, PROCESS_LOGS, f"{process}_20261123")] == [99]


def test_line_separators_and_control_characters_land(azurite: str) -> None:
    """U+2028 in a request body once made Azurite refuse the whole batch (HTTP 500)."""
    sink = TableLogSink(azurite, timeout=15)
    when = datetime(2026, 11, 21, tzinfo=UTC)
    name = f"odd_{uuid.uuid4().hex[:8]}"
    texts = ["ls\u2028ps\u2029", "nul\x00ctl\x1f", "emoji\U0001f600 ñandú"]
    for text in texts:
        sink.write(API_LOGS, make_entity(name, when, {"Request": text}))
    assert sink.flush()
    assert sorted(r["Request"] for r in read_partition(azurite, API_LOGS, f"{name}_20261121")) == sorted(texts)


def test_large_and_structured_values(azurite: str) -> None:
    sink = TableLogSink(azurite, timeout=15)
    when = datetime(2026, 11, 20, tzinfo=UTC)
    sink.write(API_LOGS, make_entity("big", when, {"Request": "x" * 70000, "Counts": {"PEN": "10.00"}, "Skip": None}))
    assert sink.flush()
    (row,) = read_partition(azurite, API_LOGS, "big_20261120")
    assert row["Request"].endswith("...[truncated]") and len(row["Request"]) < 31000
    assert row["Counts"] == '{"PEN": "10.00"}'
    assert "Skip" not in row


def test_refused_connection_falls_back_to_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens
    conn = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    sink = TableLogSink(conn, timeout=1, retry_after=60)
    caplog.set_level(logging.INFO, logger="app.logs")
    started = time.monotonic()
    sink.write(API_LOGS, make_entity("fn", datetime.now(UTC), {"Status": 200}))
    sink.write(API_LOGS, make_entity("fn", datetime.now(UTC), {"Status": 201}))
    assert time.monotonic() - started < 2
    assert sink.flush()
    messages = [r.getMessage() for r in caplog.records]
    assert any("Table Storage unavailable" in m for m in messages)
    assert sum(m.startswith("ApiLogs ") for m in messages) == 2


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Table endpoint)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    for conn in held:
        conn.close()
    thread.join(5)
    server.close()


def test_hung_table_endpoint_costs_one_short_timeout(black_hole: int, caplog: pytest.LogCaptureFixture) -> None:
    conn = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:{black_hole}/devstoreaccount1;"
    sink = TableLogSink(conn, timeout=0.5, retry_after=60)
    caplog.set_level(logging.INFO, logger="app.logs")
    started = time.monotonic()
    sink.write(API_LOGS, make_entity("fn", datetime.now(UTC), {"n": 1}))
    first = time.monotonic() - started
    for n in range(20):
        sink.write(API_LOGS, make_entity("fn", datetime.now(UTC), {"n": n}))
    total = time.monotonic() - started
    assert first < 0.1, f"a write only enqueues; it took {first:.2f}s"
    assert total < 0.5
    assert sink.flush()
    assert sum(r.getMessage().startswith("ApiLogs ") for r in caplog.records) == 21


def test_an_emulator_restarted_empty_gets_its_tables_back_and_the_gap_is_reported() -> None:
    """Azurite restarted mid-run (in memory: empty): the sink creates the tables again, writes
    on, and one ProcessLogs entity counts what went to stdout meanwhile (issue 14)."""
    from tests.conftest import azurite_connection, start_azurite, stop

    ports = free_port(), free_port(), free_port()
    conn = azurite_connection(*ports)
    proc = start_azurite(*ports)
    sink = TableLogSink(conn, timeout=2, retry_after=0.5)
    name, when = f"restart_{uuid.uuid4().hex[:8]}", datetime.now(UTC)
    try:
        for n in range(3):
            sink.write(API_LOGS, make_entity(name, when, {"N": n}))
        assert sink.flush()
        stop(proc)
        for n in range(3, 8):
            sink.write(API_LOGS, make_entity(name, when, {"N": n}))
        assert sink.flush(30)
        assert sink.missed() == {API_LOGS: 5}
        proc = start_azurite(*ports)  # empty: no ApiLogs, no ProcessLogs table
        time.sleep(0.6)  # past retry_after
        for n in range(8, 11):
            sink.write(API_LOGS, make_entity(name, when, {"N": n}))
        assert sink.flush(30)
        stored = sorted(r["N"] for r in read_partition(conn, API_LOGS, f"{name}_{when:%Y%m%d}"))
        assert stored == [8, 9, 10], "written again after the restart"
        (report,) = read_partition(conn, PROCESS_LOGS, f"log_sink_{datetime.now(UTC):%Y%m%d}")
        assert report["Kind"] == "missed" and report["Missed"] == 5 and '"ApiLogs": 5' in report["ByTable"]
        assert sink.missed() == {}
    finally:
        stop(proc)
