"""Storage queues: the work items dispatchers hand to queue-triggered functions.

The queues live in the host's storage (AzureWebJobsStorage, or its identity-based
`AzureWebJobsStorage__queueServiceUri` / `__accountName` / `__credential` / `__clientId`, as the
host reads it), where the host's queue triggers look. A message is a small JSON object that
names the work (a company, a file and its size), never the data, Base64-encoded: the host's
default `messageEncoding`. A message may arrive twice or late; exactly-once is kept where it
always was, in SQL.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.identity import StorageTarget, storage_target
from settings import Settings

POISON_SUFFIX = "-poison"


def encode(body: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(body, separators=(",", ":"), sort_keys=True).encode()).decode("ascii")


def decode(text: str | bytes) -> dict[str, Any]:
    """A message body as the function receives it (the host has already decoded the Base64)."""
    raw = text.encode() if isinstance(text, str) else text
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("a work message is a JSON object")
    return value


def host_queues(settings: Settings) -> StorageTarget:
    return storage_target("AzureWebJobsStorage", "queue", settings.identity_values(), settings.host_storage())


@dataclass(frozen=True)
class Parked:
    """A message of a poison queue, as an operator sees it."""

    id: str
    body: str
    inserted: datetime | None
    dequeue_count: int


class WorkQueues:
    """Send, list and re-queue messages of the host's queues (one client per queue, created once)."""

    def __init__(self, target: StorageTarget) -> None:
        self._target = target
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, queue: str) -> Any:
        with self._lock:
            if queue not in self._clients:
                from azure.core.exceptions import ResourceExistsError
                from azure.storage.queue import QueueClient

                if self._target.connection_string is not None:
                    client = QueueClient.from_connection_string(self._target.connection_string, queue)
                else:
                    client = QueueClient(self._target.endpoint, queue, credential=self._target.credential)
                try:
                    client.create_queue()
                except ResourceExistsError:
                    pass
                self._clients[queue] = client
            return self._clients[queue]

    def send(self, queue: str, body: dict[str, Any], *, delay_seconds: int = 0) -> None:
        self.client(queue).send_message(encode(body), visibility_timeout=delay_seconds or None)

    def parked(self, queue: str, limit: int = 32) -> list[Parked]:
        """What waits in `<queue>-poison`, without taking it (peek)."""
        return [Parked(m.id, _text(m.content), m.inserted_on, m.dequeue_count)
                for m in self.client(queue + POISON_SUFFIX).peek_messages(max_messages=min(limit, 32))]  # fmt: skip

    def requeue_poison(self, queue: str, limit: int = 1000) -> int:
        """Move messages from `<queue>-poison` back to `<queue>` (each sent, then deleted): how many."""
        poison = self.client(queue + POISON_SUFFIX)
        moved = 0
        while moved < limit:
            batch = list(poison.receive_messages(max_messages=min(32, limit - moved), visibility_timeout=60))
            if not batch:
                break
            for message in batch:
                self.client(queue).send_message(message.content)
                poison.delete_message(message)
                moved += 1
        return moved


def _text(content: str) -> str:
    try:
        return base64.b64decode(content, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return content
