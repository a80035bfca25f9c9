"""The file port every exchange folder is reached through.

Paths are relative POSIX paths under the store's root (`00730/Deudas/Pending/x.TXT`);
`..` and absolute paths are refused so a file name read from outside can never escape
the root. Writes are atomic: a reader sees the old file, or the whole new one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

TEMP_MARK = ".tmp-"


class FileStoreError(Exception):
    """A permanent failure of the store (not found, permission, bad path, host key)."""


class FileNotFound(FileStoreError):
    pass


@dataclass(frozen=True)
class FileInfo:
    path: str
    name: str
    size: int
    modified: datetime


def clean_path(path: str) -> str:
    """Normalise a relative path and refuse any that leaves the root."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise FileStoreError(f"bad path {path!r}: must be relative, with / separators")
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../") or normal == ".":
        raise FileStoreError(f"bad path {path!r}: leaves the store's root")
    return normal


def temp_name(path: str, token: str) -> str:
    """A hidden sibling name for an atomic write; listings skip it."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, f".{name}{TEMP_MARK}{token}")


def is_temp(name: str) -> bool:
    return name.startswith(".") and TEMP_MARK in name


def chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    else:
        yield from data


class FileStore(Protocol):
    url: str

    def list(self, folder: str) -> list[FileInfo]:
        """Regular files directly in `folder`, oldest first (then by name); [] if it is missing."""
        ...

    def open_read(self, path: str) -> AbstractContextManager[BinaryIO]: ...

    def read_bytes(self, path: str) -> bytes: ...

    def write_atomic(self, path: str, data: bytes | Iterable[bytes]) -> None:
        """Write under a temporary name, then rename over `path`; creates the folder."""
        ...

    def move(self, source: str, target: str) -> None:
        """Rename, replacing `target`; creates the target folder. Safe to retry after a lost reply."""
        ...

    def mkdir(self, path: str) -> None:
        """Create the folder and its parents; no error if it exists."""
        ...

    def exists(self, path: str) -> bool: ...

    def delete(self, path: str) -> None: ...
