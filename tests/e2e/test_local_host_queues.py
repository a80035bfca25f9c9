"""Queue triggers on the local host, against Azurite's queue service, as the Functions host
serves them: delete on success, retry after visibilityTimeout, `<queue>-poison` after
maxDequeueCount (or at once for a body that is not Base64), host.json overridden by
`AzureFunctionsJobHost__extensions__queues__*`, and two `serve` processes as two instances."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from tests.conftest import stop
from tests.e2e.test_local_host import start_host


def encoded(body: dict) -> str:
    return base64.b64encode(json.dumps(body).encode()).decode()


class Sample:
    def __init__(self, tmp: Path, azurite: str) -> None:
        self.queue = f"work-{uuid.uuid4().hex[:12]}"
        self.out = tmp / "work.txt"
        self.env = {**os.environ, "AzureWebJobsStorage": azurite, "SAMPLE_QUEUE": self.queue,
                    "SAMPLE_SCHEDULE": "0 0 0 1 1 *", "SAMPLE_OUT": str(self.out),
                    "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
                    "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "3",
                    "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500"}  # fmt: skip
        self.client = QueueClient.from_connection_string(azurite, self.queue)
        self.poison = QueueClient.from_connection_string(azurite, self.queue + "-poison")
        for client in (self.client, self.poison):
            client.create_queue()
        self.procs: list = []
        self.tmp = tmp

    def start(self) -> int:
        proc, _, _ = start_host(self.tmp, self.env, "--app", "tests.e2e.sample_app", "--workers", "1")
        self.procs.append(proc)
        return proc.pid

    def send(self, body: dict) -> None:
        self.client.send_message(encoded(body))

    def lines(self) -> list[tuple[int, int, int]]:
        if not self.out.exists():
            return []
        return [tuple(int(x) for x in line.split()) for line in self.out.read_text().splitlines()]  # type: ignore[misc]

    def wait(self, done, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():
            time.sleep(0.1)
        assert done(), (self.lines(), [p.pid for p in self.procs])

    def remaining(self, client: QueueClient) -> int:
        return client.get_queue_properties().approximate_message_count


@pytest.fixture
def sample(tmp_path: Path, azurite: str) -> Iterator[Sample]:
    running = Sample(tmp_path, azurite)
    yield running
    for proc in running.procs:
        stop(proc)


def test_a_message_runs_once_and_is_deleted(sample: Sample) -> None:
    sample.start()
    sample.send({"n": 1})
    sample.wait(lambda: len(sample.lines()) == 1)
    time.sleep(1.5)
    assert [(count, n) for _, count, n in sample.lines()] == [(1, 1)]
    assert sample.remaining(sample.client) == 0


def test_a_failure_is_retried_with_the_dequeue_count(sample: Sample) -> None:
    sample.start()
    sample.send({"n": 7, "fail_until": 2})
    sample.wait(lambda: len(sample.lines()) == 3)
    time.sleep(1.0)
    assert [(count, n) for _, count, n in sample.lines()] == [(1, 7), (2, 7), (3, 7)]
    assert sample.remaining(sample.client) == 0 and sample.remaining(sample.poison) == 0


def test_after_max_dequeue_count_the_message_is_poison(sample: Sample) -> None:
    sample.start()
    sample.send({"n": 9, "fail_until": 99})
    sample.wait(lambda: sample.remaining(sample.poison) == 1)
    assert [(count, n) for _, count, n in sample.lines()] == [(1, 9), (2, 9), (3, 9)], "maxDequeueCount=3 tries"
    (parked,) = sample.poison.peek_messages()
    assert json.loads(base64.b64decode(parked.content)) == {"n": 9, "fail_until": 99}, "the same content"
    assert sample.remaining(sample.client) == 0


def test_a_body_that_is_not_base64_is_poison_at_once(sample: Sample) -> None:
    sample.start()
    sample.client.send_message("{not base64}")
    sample.wait(lambda: sample.remaining(sample.poison) == 1)
    assert sample.lines() == []


def test_two_instances_share_the_messages_each_once(sample: Sample) -> None:
    first, second = sample.start(), sample.start()
    for n in range(24):
        sample.send({"n": n, "sleep": 0.3})
    sample.wait(lambda: len(sample.lines()) >= 24, timeout=60)
    time.sleep(1.0)
    lines = sample.lines()
    assert sorted(n for _, _, n in lines) == list(range(24)), "each message once"
    assert {pid for pid, _, _ in lines} == {first, second}, "both instances took messages"


def test_two_instances_fire_each_timer_tick_once(tmp_path: Path, azurite: str) -> None:
    """As the host's singleton lock does: two `serve` processes of one app share the ticks."""
    out = tmp_path / "ticks.txt"
    env = {**os.environ, "AzureWebJobsStorage": azurite, "SAMPLE_QUEUE": f"t-{uuid.uuid4().hex[:10]}",
           "SAMPLE_SCHEDULE": "*/1 * * * * *", "SAMPLE_OUT": str(out),
           "AzureFunctionsWebHost__hostid": f"sample-{uuid.uuid4().hex[:10]}"}  # fmt: skip
    procs = [start_host(tmp_path, env, "--app", "tests.e2e.sample_app", "--workers", "1")[0] for _ in range(2)]
    try:
        time.sleep(6)
    finally:
        for proc in procs:
            stop(proc)
    ticks = [line.split() for line in out.read_text().splitlines()]
    assert len(ticks) >= 3, ticks
    nexts = [t[2] for t in ticks]
    assert len(nexts) == len(set(nexts)), f"a tick ran twice: {ticks}"
