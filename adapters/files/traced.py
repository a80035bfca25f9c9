"""A file store whose operations are dependency spans (SFTP, blob or local) when tracing is on.

It wraps whatever `open_file_store` built, so the three stores are traced the same way and
none of them knows about telemetry. Attributes: the store's scheme and host (never user or
password) and the exchange path, which names a company or bank folder and a file, not a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from adapters import telemetry
from adapters.files.port import FileInfo, FileStore


class TracedFileStore:
    def __init__(self, store: FileStore) -> None:
        self.inner = store
        self.url = store.url
        parts = urlsplit(store.url)
        self._system = parts.scheme or "file"
        self._host = parts.hostname

    def __getattr__(self, name: str) -> Any:  # what the port does not name (close, options...)
        return getattr(self.inner, name)

    def _span(self, operation: str, path: str, **extra: Any) -> AbstractContextManager[Any]:
        return telemetry.span(
            f"{self._system} {operation}",
            {"file.system": self._system, "file.operation": operation, "file.path": path,
             "server.address": self._host, **extra},
        )  # fmt: skip

    def list(self, folder: str, everything: bool = False) -> list[FileInfo]:
        with self._span("list", folder) as span:
            found = self.inner.list(folder, everything)
            if span is not None:
                span.set_attribute("file.count", len(found))
            return found

    def sweep_temp(self, older_than: Any) -> int:
        with self._span("sweep_temp", ".tmp"):
            return self.inner.sweep_temp(older_than)

    def open_read(self, path: str) -> Any:
        """The store's own handle (a file object that is also its context manager, as the
        loader uses it); the span covers opening it."""
        with self._span("open", path):
            return self.inner.open_read(path)

    def read_bytes(self, path: str) -> bytes:
        with self._span("read", path) as span:
            data = self.inner.read_bytes(path)
            if span is not None:
                span.set_attribute("file.size", len(data))
            return data

    def write_atomic(self, path: str, data: bytes | Iterable[bytes]) -> None:
        size = len(data) if isinstance(data, bytes | bytearray) else None
        with self._span("write", path, **({"file.size": size} if size is not None else {})):
            self.inner.write_atomic(path, data)

    def move(self, source: str, target: str) -> None:
        with self._span("move", source, **{"file.target": target}):
            self.inner.move(source, target)

    def mkdir(self, path: str) -> None:
        with self._span("mkdir", path):
            self.inner.mkdir(path)

    def exists(self, path: str) -> bool:
        with self._span("exists", path):
            return self.inner.exists(path)

    def delete(self, path: str) -> None:
        with self._span("delete", path):
            self.inner.delete(path)
