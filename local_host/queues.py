"""Serves queue triggers the way the Functions host does, against the storage the trigger names.

One listener thread per queue-triggered function, in `manage.py serve`'s parent process (two
`serve` processes on the same storage are two instances competing for the same messages):

- Polling with the host's back-off: after a message, look again at once; after an empty look,
  wait 100 ms, doubling up to `maxPollingInterval`.
- Up to `batchSize` messages at a time, a new batch fetched once fewer than `newBatchThreshold`
  are running; each is hidden while it runs (a lease of LEASE_SECONDS, renewed at half time, as
  the host does), so an instance killed mid-run gives its messages back when the lease ends.
- The function gets a `func.QueueMessage` (id, body decoded from Base64, dequeue_count, times).
  Success deletes the message. A failure makes it visible again after `visibilityTimeout`;
  a failure at `maxDequeueCount` moves it to `<queue>-poison` instead (same content), as the
  host does. A body that is not Base64 goes to the poison queue at once (the host's rule too).

Settings come from `host.json` `extensions.queues`, the file Azure reads as well.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage  # the worker's, with the trigger metadata

from local_host.invoke import invoke
from local_host.registry import functions_of
from local_host.timers import resolve_schedule

log = logging.getLogger("local_host")
LEASE_SECONDS = int(os.environ.get("LOCAL_HOST_QUEUE_LEASE_SECONDS", "600"))  # the host's 10 minutes
MIN_POLL = 0.1


def _seconds(value: str | int | float | None, default: float) -> float:
    """A host.json TimeSpan (`hh:mm:ss`, `hh:mm:ss.fff`) or a number of seconds."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    if ":" not in value:
        return float(value)
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    base64: bool = True

    @classmethod
    def from_host_json(cls, path: Path, env: Any = os.environ) -> QueueOptions:
        """host.json's `extensions.queues`, each value overridable by the app setting
        `AzureFunctionsJobHost__extensions__queues__<name>`, as on Azure."""
        queues = (json.loads(path.read_text()).get("extensions") or {}).get("queues") or {} if path.exists() else {}
        prefix = "AzureFunctionsJobHost__extensions__queues__"
        queues = {**queues, **{k[len(prefix):]: v for k, v in env.items() if k.startswith(prefix)}}
        batch = int(queues.get("batchSize", 16))
        return cls(
            batch_size=batch,
            new_batch_threshold=int(queues.get("newBatchThreshold", max(batch // 2, 1))),
            max_polling_interval=_seconds(queues.get("maxPollingInterval"), 60.0),
            visibility_timeout=_seconds(queues.get("visibilityTimeout"), 0.0),
            max_dequeue_count=int(queues.get("maxDequeueCount", 5)),
            base64=str(queues.get("messageEncoding", "base64")).lower() == "base64",
        )


def queue_client(connection_setting: str, queue: str, env: dict[str, str] | os._Environ[str] = os.environ) -> Any:
    """A client for `queue` in the storage the trigger's `connection` names (a connection string
    setting, or `<name>__queueServiceUri` / `__accountName` with a credential, as the host reads it)."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import QueueClient

    from adapters.identity import storage_target
    from settings import storage_connection

    target = storage_target(connection_setting, "queue", env, storage_connection(env.get(connection_setting, "")))
    if target.connection_string is not None:
        if not target.connection_string:
            raise RuntimeError(f"queue trigger: app setting {connection_setting} is not set")
        client = QueueClient.from_connection_string(target.connection_string, queue)
    else:
        client = QueueClient(target.endpoint, queue, credential=target.credential)
    try:
        client.create_queue()
    except ResourceExistsError:
        pass
    return client


class QueueListener(threading.Thread):
    def __init__(self, function: Any, options: QueueOptions, env: dict[str, str] | os._Environ[str] = os.environ):
        trigger = function.get_trigger()
        self.function = function
        self.queue = resolve_schedule(trigger.queue_name, env, function.get_function_name())
        super().__init__(name=f"queue-{self.queue}", daemon=True)
        self.options = options
        self.client = queue_client(trigger.connection or "AzureWebJobsStorage", self.queue, env)
        self.poison = queue_client(trigger.connection or "AzureWebJobsStorage", self.queue + "-poison", env)
        self._pool = ThreadPoolExecutor(options.batch_size, thread_name_prefix=f"queue-{self.queue}")
        self._busy = 0
        self._busy_lock = threading.Lock()  # (names Thread itself does not use: 3.13 has Thread._handle)
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        log.info("Queue '%s': listening for %s (batch %d, max polling %.1fs, max dequeue %d)", self.queue,
                 self.function.get_function_name(), self.options.batch_size, self.options.max_polling_interval,
                 self.options.max_dequeue_count)  # fmt: skip
        wait = MIN_POLL
        while not self._stopping.is_set():
            with self._busy_lock:
                free = self.options.batch_size - self._busy
                room = self._busy < self.options.new_batch_threshold
            messages = []
            if room and free > 0:
                try:
                    messages = list(self.client.receive_messages(max_messages=free, visibility_timeout=LEASE_SECONDS))
                except Exception as exc:  # noqa: BLE001 - the storage is away: poll again later
                    log.warning("Queue '%s': could not read (%s)", self.queue, exc)
            for message in messages:
                with self._busy_lock:
                    self._busy += 1
                self._pool.submit(self._take, message)
            if messages:
                wait = MIN_POLL
                continue
            self._stopping.wait(wait)
            wait = min(wait * 2, max(self.options.max_polling_interval, MIN_POLL))
        self._pool.shutdown(wait=True)

    def _take(self, message: Any) -> None:
        try:
            self._settle(message)
        except Exception:  # a lost lease or a storage error: the message comes back by itself
            log.exception("Queue '%s': could not settle message %s", self.queue, message.id)
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _settle(self, message: Any) -> None:
        lease = _Lease(self.client, message)
        try:
            body = base64.b64decode(message.content, validate=True) if self.options.base64 else message.content
        except (binascii.Error, ValueError):
            log.error("Queue '%s': message %s is not Base64; moved to %s-poison", self.queue, message.id, self.queue)
            self._to_poison(lease, message)
            return
        arrived = QueueMessage(
            id=message.id, body=body, dequeue_count=message.dequeue_count, expiration_time=message.expires_on,
            insertion_time=message.inserted_on, time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )  # fmt: skip
        lease.start()
        try:
            asyncio.run(invoke(self.function, arrived, f"New queue message detected on '{self.queue}'."))
        except Exception:  # noqa: BLE001 - logged by invoke: retried or poisoned here
            lease.stop()
            if message.dequeue_count >= self.options.max_dequeue_count:
                log.warning("Queue '%s': message %s failed %d times; moved to %s-poison", self.queue, message.id,
                            message.dequeue_count, self.queue)  # fmt: skip
                self._to_poison(lease, message)
            else:
                self.client.update_message(message.id, lease.receipt,
                                           visibility_timeout=int(self.options.visibility_timeout))  # fmt: skip
            return
        lease.stop()
        self.client.delete_message(message.id, lease.receipt)

    def _to_poison(self, lease: _Lease, message: Any) -> None:
        self.poison.send_message(message.content)
        self.client.delete_message(message.id, lease.receipt)


class _Lease:
    """Keeps a message hidden while its function runs: renewed at half the lease, as the host does."""

    def __init__(self, client: Any, message: Any) -> None:
        self.client = client
        self.id = message.id
        self.receipt = message.pop_receipt
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True, name=f"lease-{message.id[:8]}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _renew(self) -> None:
        while not self._done.wait(LEASE_SECONDS / 2):
            try:
                updated = self.client.update_message(self.id, self.receipt, visibility_timeout=LEASE_SECONDS)
                self.receipt = updated.pop_receipt
            except Exception:  # noqa: BLE001 - the next renewal, or the lease ends and the message returns
                log.warning("could not renew the lease of message %s", self.id)


def queue_listeners(app: func.FunctionApp, root: Path, env: dict[str, str] | os._Environ[str] = os.environ,
                    ) -> list[QueueListener]:  # fmt: skip
    options = QueueOptions.from_host_json(root / "host.json", env)
    return [QueueListener(f, options, env) for f in functions_of(app)
            if f.get_trigger().get_binding_name() == "queueTrigger"]  # fmt: skip


def wait_idle(listeners: list[QueueListener], timeout: float) -> bool:
    """Tests: until no listener runs a message (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(listener._busy == 0 for listener in listeners):
            return True
        time.sleep(0.05)
    return False
