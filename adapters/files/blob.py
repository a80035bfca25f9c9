"""`blob://container[/prefix]` adapter: an SFTP-enabled storage account read through the Blob API.

Block blob uploads are atomic (the blob appears when its block list is committed), so a
reader never sees half a file. A move is a server-side copy then a delete; a retried
move whose source is gone but whose target exists counts as done.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from adapters.files.port import (
    FOLDER,
    FileInfo,
    FileNotFound,
    FileStoreError,
    child,
    chunks,
    clean_path,
    is_temp,
    listed_folder,
)  # fmt: skip
from adapters.identity import StorageTarget

_COPY_WAIT_SECONDS = 60
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # a virtual folder's: listed before the files


class _ChunkStream(io.RawIOBase):
    """The chunks of a download as a readable raw stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class BlobFileStore:
    def __init__(self, url: str, target: str | StorageTarget, timeout: float = 30.0) -> None:
        """`target`: a connection string, or the exchange account's blob endpoint and the app's
        identity (`SFTP_BLOB__blobServiceUri`, adapters/identity.py)."""
        from azure.storage.blob import ContainerClient

        parts = urlsplit(url)
        if parts.scheme != "blob" or not parts.netloc:
            raise FileStoreError("SFTP_URL must look like blob://container or blob://container/prefix")
        self.url = url
        self.prefix = parts.path.strip("/")
        target = target if isinstance(target, StorageTarget) else StorageTarget(connection_string=target)
        options = {"connection_timeout": timeout, "read_timeout": timeout}
        if target.by_identity:
            self.container = ContainerClient(target.endpoint, parts.netloc, credential=target.credential, **options)
        else:
            self.container = ContainerClient.from_connection_string(target.connection_string, parts.netloc, **options)

    def _name(self, path: str) -> str:
        rel = clean_path(path)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def ensure_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        try:
            self.container.create_container()
        except ResourceExistsError:
            pass

    def list(self, folder: str, everything: bool = False) -> list[FileInfo]:
        """One level of the flat namespace (a delimiter listing): a "folder" is a common prefix, so
        a listing never walks what lies below it, however much that is."""
        from azure.core.exceptions import ResourceNotFoundError

        base = listed_folder(folder)
        name = self._name(base) if base else self.prefix
        start = f"{name}/" if name else ""
        found = []
        folders: list[FileInfo] = []
        try:
            for item in self.container.walk_blobs(name_starts_with=start, delimiter="/"):
                name = item.name[len(start) :]
                path = child(base, name)
                if name.endswith("/"):  # a prefix: a virtual folder (it has no time of its own)
                    if everything:
                        folders.append(FileInfo(path[:-1], name[:-1], 0, _NO_TIME, FOLDER))
                    continue
                if not name or is_temp(name):
                    continue
                found.append(FileInfo(path=path, name=name, size=item.size, modified=item.last_modified))
        except ResourceNotFoundError:
            return []
        return sorted([*found, *folders], key=lambda f: (f.modified, f.name))

    def sweep_temp(self, older_than: datetime) -> int:
        return 0  # an upload is committed whole or not at all: no temporary blob is ever written

    def open_read(self, path: str) -> BinaryIO:
        """A stream over the blob's chunks as they download (memory: one chunk, not the file)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            downloader = self.container.download_blob(self._name(path), max_concurrency=2)
        except ResourceNotFoundError:
            raise FileNotFound(f"no such file: {path}") from None
        return io.BufferedReader(_ChunkStream(downloader.chunks()), buffer_size=1 << 20)  # type: ignore[return-value]

    def read_bytes(self, path: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self.container.download_blob(self._name(path)).readall()
        except ResourceNotFoundError:
            raise FileNotFound(f"no such file: {path}") from None

    def write_atomic(self, path: str, data: bytes | Iterable[bytes]) -> None:
        payload = data if isinstance(data, bytes) else b"".join(chunks(data))
        self.container.upload_blob(self._name(path), payload, overwrite=True)

    def move(self, source: str, target: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        src = self.container.get_blob_client(self._name(source))
        dst = self.container.get_blob_client(self._name(target))
        if not src.exists():
            if dst.exists():
                return
            inner = [b.name for b in self.container.list_blobs(name_starts_with=self._name(source) + "/")]
            if inner:  # a "folder": every blob under it
                for name in inner:
                    rest = name[len(self._name(source)) + 1 :]
                    self.move(f"{clean_path(source)}/{rest}", f"{clean_path(target)}/{rest}")
                return
            raise FileNotFound(f"no such file: {source}")
        dst.start_copy_from_url(src.url)
        deadline = time.monotonic() + _COPY_WAIT_SECONDS
        while dst.get_blob_properties().copy.status == "pending":
            if time.monotonic() > deadline:
                raise FileStoreError(f"copy {source} -> {target} did not finish in {_COPY_WAIT_SECONDS}s")
            time.sleep(0.2)
        if dst.get_blob_properties().copy.status != "success":
            raise FileStoreError(f"copy {source} -> {target} failed")
        try:
            src.delete_blob()
        except ResourceNotFoundError:
            pass

    def mkdir(self, path: str) -> None:
        clean_path(path)  # a flat namespace has no folders; names carry them

    def exists(self, path: str) -> bool:
        return self.container.get_blob_client(self._name(path)).exists()

    def delete(self, path: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.container.delete_blob(self._name(path))
        except ResourceNotFoundError:
            raise FileNotFound(f"no such file: {path}") from None
