"""The file port every exchange folder is reached through.

Paths are relative POSIX paths under the store's root (`00730/Deudas/Pending/x.TXT`);
`..` and absolute paths are refused so a file name read from outside can never escape
the root. Writes are atomic: a reader sees the old file, or the whole new one. The
half-written file lives in `TEMP_FOLDER` at the root, outside every folder a company or a
bank reads, and is renamed into place when complete; one left by a crash is swept by
`sweep_temp` (the timers call it at start). Names the system of a company wrote may be any
bytes: they are decoded as UTF-8 with surrogate escapes, so that such an entry can still be
listed and moved aside (usecases/load_debts.py) instead of failing the listing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol

TEMP_MARK = ".tmp-"
TEMP_FOLDER = ".tmp"  # at the root: no company or bank folder holds a half-written file
FILE, LINK, FOLDER, SPECIAL = "file", "link", "folder", "special"
STALE_TEMP = timedelta(hours=1)  # a temporary file older than this is a crashed write's: swept


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
    kind: str = FILE  # file, link, folder or special (FIFO, socket, device): only files are read


ROOT = "."  # list(ROOT): the store's root itself (the only path `clean_path` refuses that `list` takes)


def listed_folder(folder: str, posix: bool = False) -> str:
    """The folder a `list` reads: "" for ROOT, else the clean path."""
    return "" if folder == ROOT else clean_path(folder, posix)


def child(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def clean_path(path: str, posix: bool = False) -> str:
    """Normalise a relative path and refuse any that leaves the root. `posix`: the server is a
    POSIX file system (local, SFTP), where a backslash is an ordinary character (a company's
    file may hold one in its name and must still be movable aside); elsewhere (blob names,
    which some clients read as separators) it is refused."""
    if not path or path.startswith("/") or "\x00" in path or ("\\" in path and not posix):
        raise FileStoreError(f"bad path {path!r}: must be relative, with / separators")
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../") or normal == ".":
        raise FileStoreError(f"bad path {path!r}: leaves the store's root")
    return normal


def temp_name(path: str, token: str) -> str:
    """Where an atomic write of `path` is spooled: in TEMP_FOLDER at the root, not beside `path`."""
    name = posixpath.basename(path)
    return posixpath.join(TEMP_FOLDER, f".{name}{TEMP_MARK}{token}")


def is_temp(name: str) -> bool:
    """A temporary name (also the hidden siblings written beside their target before TEMP_FOLDER)."""
    return name.startswith(".") and TEMP_MARK in name


def wire_name(path: str) -> bytes:
    """A path as the bytes it names on the server (names that were not UTF-8 come back as they were)."""
    return path.encode("utf-8", "surrogateescape")


def printable_name(name: str) -> str:
    """A name fit for a log or another file's name: printable ASCII, every other byte as %XX."""
    raw = wire_name(name)
    return "".join(chr(b) if 0x21 <= b <= 0x7E and b != 0x25 else f"%{b:02X}" for b in raw)


def chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
    else:
        yield from data


class FileStore(Protocol):
    url: str

    def list(self, folder: str, everything: bool = False) -> list[FileInfo]:
        """Regular files directly in `folder`, oldest first (then by name); [] if it is missing.
        `everything`: links, folders and special files too (their `kind` says which)."""
        ...

    def sweep_temp(self, older_than: datetime) -> int:
        """Delete what crashed writes left in TEMP_FOLDER before `older_than`; how many."""
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
