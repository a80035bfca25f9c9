"""`file://` adapter: the embedded default, a folder on the local disk."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from adapters.files.port import (
    FILE,
    FOLDER,
    LINK,
    SPECIAL,
    TEMP_FOLDER,
    FileInfo,
    FileNotFound,
    FileStoreError,
    child,
    chunks,
    clean_path,
    is_temp,
    listed_folder,
    temp_name,
)


class LocalFileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = f"file://{self.root}"

    def _abs(self, path: str) -> Path:
        return self.root / clean_path(path, posix=True)

    def list(self, folder: str, everything: bool = False) -> list[FileInfo]:
        rel = listed_folder(folder, posix=True)
        base = self.root / rel if rel else self.root
        if not base.is_dir():
            return []
        found = []
        with os.scandir(base) as entries:  # names that are not UTF-8 arrive surrogate-escaped
            for entry in entries:
                kind = (
                    LINK if entry.is_symlink() else FILE if entry.is_file(follow_symlinks=False)
                    else FOLDER if entry.is_dir(follow_symlinks=False) else SPECIAL
                )  # fmt: skip
                if is_temp(entry.name) or (kind != FILE and not everything):
                    continue
                stat = entry.stat(follow_symlinks=False)
                found.append(
                    FileInfo(
                        path=child(rel, entry.name),
                        name=entry.name,
                        size=stat.st_size,
                        modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                        kind=kind,
                    )
                )
        return sorted(found, key=lambda f: (f.modified, f.name))

    def sweep_temp(self, older_than: datetime) -> int:
        swept = 0
        folder = self.root / TEMP_FOLDER
        if not folder.is_dir():
            return 0
        with os.scandir(folder) as entries:
            for entry in entries:
                stale = entry.is_file(follow_symlinks=False) and is_temp(entry.name) and (
                    datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, UTC) < older_than
                )
                if stale:
                    Path(entry.path).unlink(missing_ok=True)
                    swept += 1
        return swept

    def open_read(self, path: str) -> BinaryIO:
        try:
            return open(self._abs(path), "rb")
        except FileNotFoundError:
            raise FileNotFound(f"no such file: {path}") from None

    def read_bytes(self, path: str) -> bytes:
        with self.open_read(path) as handle:
            return handle.read()

    def write_atomic(self, path: str, data: bytes | Iterable[bytes]) -> None:
        target = self._abs(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self._abs(temp_name(clean_path(path, posix=True), uuid.uuid4().hex))
        temp.parent.mkdir(exist_ok=True)
        try:
            with open(temp, "wb") as handle:
                for chunk in chunks(data):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)

    def move(self, source: str, target: str) -> None:
        src, dst = self._abs(source), self._abs(target)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            if not dst.exists():
                raise FileNotFound(f"no such file: {source}") from None

    def mkdir(self, path: str) -> None:
        self._abs(path).mkdir(parents=True, exist_ok=True)

    def exists(self, path: str) -> bool:
        return self._abs(path).exists()

    def delete(self, path: str) -> None:
        try:
            self._abs(path).unlink()
        except FileNotFoundError:
            raise FileNotFound(f"no such file: {path}") from None
        except IsADirectoryError:
            raise FileStoreError(f"{path} is a folder") from None
