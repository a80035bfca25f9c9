"""Build the file store that `SFTP_URL` names."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from adapters.files.blob import BlobFileStore
from adapters.files.local import LocalFileStore
from adapters.files.port import FileStore, FileStoreError
from adapters.files.sftp import SftpFileStore, SftpOptions, parse_host_keys
from adapters.identity import storage_target
from settings import Settings


def open_file_store(settings: Settings) -> FileStore:
    url = settings.sftp_url
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return LocalFileStore(unquote(urlsplit(url).path))
    if scheme == "blob":
        target = storage_target("SFTP_BLOB", "blob", settings.identity_values(), settings.blob_connection())
        return BlobFileStore(url, target, timeout=settings.sftp_timeout_seconds)
    try:
        host_keys = parse_host_keys(settings.sftp_host_key) if settings.sftp_host_key else ()
    except ValueError as exc:
        raise FileStoreError(f"SFTP_HOST_KEY {exc}") from None
    return SftpFileStore(
        url,
        SftpOptions(
            host_keys=host_keys,
            private_key=settings.sftp_private_key.get_secret_value() if settings.sftp_private_key else None,
            known_hosts=settings.sftp_known_hosts,
            fingerprint=settings.sftp_host_fingerprint,
            password=settings.sftp_password.get_secret_value() if settings.sftp_password else None,
            private_key_path=settings.sftp_private_key_path,
            private_key_passphrase=(
                settings.sftp_private_key_passphrase.get_secret_value()
                if settings.sftp_private_key_passphrase
                else None
            ),
            timeout=settings.sftp_timeout_seconds,
            retries=settings.sftp_retries,
        ),
    )
