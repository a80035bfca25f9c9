"""ApiLogs and ProcessLogs in Azure Table Storage, never at the business call's expense.

Keys: PartitionKey is `<function or process>_<YYYYMMDD>` (UTC day), so a day's logs of
one process are one partition; RowKey starts with the inverted time in microseconds, so
a partition reads newest first. Entries are written from a background thread in batches
(a business call only enqueues); a write has a short timeout and no retries; after a
failure the sink stops trying for `retry_after` seconds and every entry goes to the
standard logger meanwhile.

A table that disappears (the emulator restarted, a new storage account) is created again on
the next write instead of being remembered as there. Entries that could not be stored are
counted per table, and once the store answers again the sink writes one ProcessLogs entity
(`Process=log_sink`, `Kind=missed`) saying how many, from when to when: an outage is never
silent, and never fails a call.
"""

from __future__ import annotations

import atexit
import json
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from adapters import telemetry
from adapters.identity import STORAGE_SCOPE, CachedToken, StorageTarget
from adapters.table_batch import BatchError, TableBatchWriter

API_LOGS = "ApiLogs"
PROCESS_LOGS = "ProcessLogs"
_MAX_MICROS = 10**17 - 1
_MAX_STRING = 30000  # Table Storage allows 64 KiB per string property (UTF-16)

fallback_logger = logging.getLogger("app.logs")


def partition_key(name: str, when: datetime) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return f"{safe}_{when.astimezone(UTC):%Y%m%d}"


def time_keys(start: datetime, end: datetime) -> tuple[str, str]:
    """RowKey bounds [newest, oldest) of the entities logged in [start, end) (keys invert time)."""
    newest = _MAX_MICROS - (int(end.timestamp() * 1_000_000) - 1)
    oldest = _MAX_MICROS - int(start.timestamp() * 1_000_000) + 1
    return f"{newest:017d}", f"{oldest:017d}"


def row_key(when: datetime) -> str:
    micros = int(when.timestamp() * 1_000_000)
    return f"{_MAX_MICROS - micros:017d}_{uuid.uuid4().hex[:12]}"


def make_entity(name: str, when: datetime, fields: dict[str, Any]) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": partition_key(name, when), "RowKey": row_key(when)}
    entity["LoggedAt"] = when.isoformat()
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, str) and len(value) > _MAX_STRING:
            value = value[:_MAX_STRING] + "...[truncated]"
        entity[key] = value
    return entity


Invocation = telemetry.Invocation


class LogSink(Protocol):
    def write(self, table: str, entity: dict[str, Any]) -> None: ...

    def flush(self, timeout: float = 10.0) -> bool: ...


class StdLogSink:
    """The standard logger; also where entries go while Table Storage is down."""

    def write(self, table: str, entity: dict[str, Any]) -> None:
        fallback_logger.info("%s %s", table, json.dumps(entity, ensure_ascii=False, default=str))

    def flush(self, timeout: float = 10.0) -> bool:
        return True


class TableLogSink:
    """Writes entities from a background thread, in batches (one transaction per partition).

    `write` only enqueues, so a call is never slowed by the log store; a full queue or a
    failed batch sends the entries to the standard logger instead, and after a failure
    the sink does not try Table Storage again for `retry_after` seconds.
    """

    def __init__(
        self,
        target: str | StorageTarget,
        timeout: float = 2.0,
        retry_after: float = 30.0,
        *,
        max_queue: int = 20_000,
        linger: float = 0.2,
    ) -> None:
        self._target = target if isinstance(target, StorageTarget) else StorageTarget(connection_string=target)
        self._timeout = timeout
        self._retry_after = retry_after
        self._linger = linger
        self._queue: queue.Queue[tuple[str, dict[str, Any], Invocation | None] | None] = queue.Queue(max_queue)
        self._service = None
        self._created: set[str] = set()
        self._down_until = 0.0
        self._fallback = StdLogSink()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._lean: TableBatchWriter | bool | None = None
        self._missed: dict[str, int] = {}  # table -> entries that went to the fallback instead
        self._missed_since: datetime | None = None

    def write(self, table: str, entity: dict[str, Any]) -> None:
        self._ensure_thread()
        try:
            self._queue.put_nowait((table, entity, telemetry.current()))
        except queue.Full:
            self._fallback.write(table, entity)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything written so far is stored or handed to the fallback."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self.flush(self._timeout * 2)
            self._queue.put(None)
            self._thread.join(self._timeout * 2)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="table-log", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch = [first]
            deadline = time.monotonic() + self._linger
            while len(batch) < 500:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self._queue.task_done()
                    self._store(batch)
                    return
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[tuple[str, dict[str, Any], Invocation | None]]) -> None:
        """Each chunk is written as part of the invocation of its first entry (its log lines
        and span belong there, telemetry.within), with links to the others' invocations."""
        groups: dict[tuple[str, str], list[tuple[dict[str, Any], Invocation | None]]] = {}
        for table, entity, origin in batch:
            groups.setdefault((table, entity["PartitionKey"]), []).append((entity, origin))
        for (table, _), entries in groups.items():
            for start in range(0, len(entries), 100):  # a Table transaction holds at most 100
                chunk = entries[start : start + 100]
                origins = list({id(o): o for _, o in chunk if o is not None}.values())
                attributes = {"db.system": "azure_table", "db.name": table, "app.entities": len(chunk)}
                with (
                    telemetry.within(origins[0] if origins else None),
                    telemetry.span(f"Table insert {table}", attributes, links=origins[1:]),
                ):
                    self._store_chunk(table, [entity for entity, _ in chunk])
        for _ in batch:
            self._queue.task_done()

    def ping(self, timeout: float = 2.0) -> str:
        """Does the log store answer? One page of its table list (the health check's)."""
        service = table_service(self._target, connection_timeout=timeout, read_timeout=timeout)
        next(iter(service.list_tables(results_per_page=1)), None)
        return "table storage"

    def count_by(self, table: str, names: list[str], start: datetime, end: datetime, prop: str,
                 limit: int = 200_000) -> tuple[dict[str, Counter[str]], bool]:  # fmt: skip
        """For each name, how many of its entities logged in [start, end) have each value of `prop`
        (missing: "-"); reads only the partitions of those days and that one property. The second
        value is True when `limit` entities were read and the counts stop there."""
        from azure.core.exceptions import ResourceNotFoundError

        client = table_service(self._target).get_table_client(table)
        counts: dict[str, Counter[str]] = {name: Counter() for name in names}
        newest, oldest = time_keys(start, end)
        read = 0
        for name in names:
            day = start.astimezone(UTC).date()
            while day <= (end - timedelta(microseconds=1)).astimezone(UTC).date():
                partition = partition_key(name, datetime.combine(day, datetime.min.time(), UTC))
                query = f"PartitionKey eq '{partition}' and RowKey ge '{newest}' and RowKey lt '{oldest}'"
                try:
                    for entity in client.query_entities(query, select=[prop]):
                        counts[name][str(entity.get(prop, "-"))] += 1
                        read += 1
                        if read >= limit:
                            return counts, True
                except ResourceNotFoundError:  # no log written yet: no table
                    return counts, False
                day += timedelta(days=1)
        return counts, False

    def missed(self) -> dict[str, int]:
        """Entries not stored since the last report, per table (also in ProcessLogs once it works)."""
        return dict(self._missed)

    def _insert(self, table: str, entities: list[dict[str, Any]]) -> None:
        lean = self._lean_writer()
        if lean is not None:
            if table not in self._created:
                lean.create_table(table)
                self._created.add(table)
            lean.insert(table, entities)
        else:
            client = self._client(table)
            client.submit_transaction([("create", entity) for entity in entities])

    def _miss(self, table: str, entities: list[dict[str, Any]]) -> None:
        self._missed[table] = self._missed.get(table, 0) + len(entities)
        self._missed_since = self._missed_since or datetime.now(UTC)
        for entity in entities:
            self._fallback.write(table, entity)

    def _store_chunk(self, table: str, entities: list[dict[str, Any]]) -> None:
        if time.monotonic() < self._down_until:
            self._miss(table, entities)
            return
        try:
            try:
                self._insert(table, entities)
            except Exception:  # noqa: BLE001 - perhaps the table is gone: create it again, once
                self._created.discard(table)
                self._insert(table, entities)
        except Exception as exc:  # noqa: BLE001 - any failure of the log store must not reach the caller
            self._down_until = time.monotonic() + self._retry_after
            fallback_logger.warning("Table Storage unavailable (%s); logging to stdout for %ss", exc, self._retry_after)
            self._miss(table, entities)
            return
        if self._missed:
            self._report_missed()

    def _report_missed(self) -> None:
        """The store answers again: say in ProcessLogs what it did not get meanwhile."""
        now = datetime.now(UTC)
        counts = dict(self._missed)
        entity = make_entity("log_sink", now, {
            "Process": "log_sink", "Kind": "missed", "Missed": sum(counts.values()), "ByTable": counts,
            "Since": (self._missed_since or now).isoformat(), "Until": now.isoformat(),
            "Note": "these entries went to the standard logger (stdout) instead",
        })  # fmt: skip
        try:
            self._insert(PROCESS_LOGS, [entity])
        except Exception:  # noqa: BLE001 - tried again after the next successful write
            self._created.discard(PROCESS_LOGS)
            return
        for table, count in counts.items():
            self._missed[table] -= count
            if not self._missed[table]:
                del self._missed[table]
        self._missed_since = None if not self._missed else self._missed_since

    def _lean_writer(self) -> TableBatchWriter | None:
        """The direct REST writer: with the account key of a connection string, or with a bearer
        token of the target's identity."""
        if self._lean is None:
            target = self._target
            try:
                if target.by_identity:
                    token = CachedToken(target.credential, STORAGE_SCOPE)
                    self._lean = TableBatchWriter("", self._timeout, endpoint_url=target.endpoint, token=token)
                else:
                    self._lean = TableBatchWriter(target.connection_string or "", self._timeout)
            except BatchError:
                self._lean = False
        return self._lean or None

    def _client(self, table: str):  # type: ignore[no-untyped-def]
        if self._service is None:
            self._service = table_service(self._target, connection_timeout=self._timeout,
                                          read_timeout=self._timeout, retry_total=0)  # fmt: skip
        if table not in self._created:
            self._service.create_table_if_not_exists(table)
            self._created.add(table)
        return self._service.get_table_client(table)


def table_service(target: StorageTarget, **options: Any) -> Any:
    """The SDK's TableServiceClient for a target (connection string or identity)."""
    from azure.data.tables import TableServiceClient

    if target.by_identity:
        return TableServiceClient(endpoint=target.endpoint, credential=target.credential, **options)
    return TableServiceClient.from_connection_string(target.connection_string, **options)


def read_partition(target: str | StorageTarget, table: str, partition: str) -> list[dict[str, Any]]:
    """A partition's entities, newest first (operators and tests)."""
    target = target if isinstance(target, StorageTarget) else StorageTarget(connection_string=target)
    client = table_service(target).get_table_client(table)
    escaped = partition.replace("'", "''")
    return [dict(e) for e in client.query_entities(f"PartitionKey eq '{escaped}'")]
