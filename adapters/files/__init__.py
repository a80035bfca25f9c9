"""The exchange folders behind one port: `file://`, `sftp://` and `blob://` adapters."""

from adapters.files.port import FileInfo, FileNotFound, FileStore, FileStoreError, clean_path

__all__ = ["FileInfo", "FileNotFound", "FileStore", "FileStoreError", "clean_path"]
