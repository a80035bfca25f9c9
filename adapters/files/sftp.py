"""`sftp://user@host:port/root` adapter (paramiko), with host key verification.

The server's key must match `SFTP_HOST_FINGERPRINT` (`SHA256:...` as `ssh-keygen -lf`
prints it), `SFTP_HOST_KEY` (the key itself, `ssh-ed25519 AAAA...`, as a setting value: a
Key Vault reference in Azure) or `SFTP_KNOWN_HOSTS` (an OpenSSH known_hosts file; a port
other than 22 is written `[host]:port`). Unknown keys are refused, never accepted. The
client key is `SFTP_PRIVATE_KEY` (its text, never written to disk) or the file
`SFTP_PRIVATE_KEY_PATH`. Transient
failures (dropped connection, timeout) reconnect and retry with exponential backoff;
permanent ones (no such file, permission, host key, authentication) fail at once.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import io
import logging
import posixpath
import socket
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

import paramiko

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
    wire_name,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_CHUNK = 1 << 20


class HostKeyError(FileStoreError):
    """The server's host key is unknown or does not match: possible man in the middle."""


@dataclass(frozen=True)
class SftpOptions:
    known_hosts: Path | None = None
    fingerprint: str | None = None
    password: str | None = None
    private_key_path: Path | None = None
    private_key_passphrase: str | None = None
    private_key: str | None = None  # the key's text (OpenSSH or PEM), instead of a path
    host_keys: tuple[paramiko.PKey, ...] = ()  # pinned keys of the server (SFTP_HOST_KEY)
    timeout: float = 15.0
    retries: int = 3
    backoff: float = 0.5


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def setting_text(value: str) -> str:
    """A multi-line secret as an app setting may carry it: real newlines (a Key Vault
    reference keeps them) or `\\n` escapes (a value pasted on one line)."""
    return value.replace("\\n", "\n") if "\n" not in value else value


def parse_host_keys(text: str) -> tuple[paramiko.PKey, ...]:
    """Public keys from known_hosts or authorized_keys style lines (`[host]:port ssh-ed25519
    AAAA...`, `ssh-ed25519 AAAA... comment`); ValueError names what cannot be read."""
    found = []
    for line in setting_text(text).splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        at = next((n for n, w in enumerate(words) if w.startswith(("ssh-", "ecdsa-", "sk-"))), None)
        if at is None or at + 1 >= len(words):
            raise ValueError(f"no key type and key in {line[:40]!r}")
        try:
            found.append(paramiko.PKey.from_type_string(words[at], base64.b64decode(words[at + 1], validate=True)))
        except (binascii.Error, paramiko.SSHException, ValueError) as exc:
            raise ValueError(f"cannot read the {words[at]} key: {exc}") from None
    if not found:
        raise ValueError("holds no key")
    return tuple(found)


def private_key_from_text(text: str, passphrase: str | None) -> paramiko.PKey:
    """The client key from its text, as PKey.from_path reads a file (OpenSSH first, then PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    data = setting_text(text).strip().encode() + b"\n"
    password = passphrase.encode() if passphrase else None
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password=password)
        except ValueError:
            loaded = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise FileStoreError(
            f"SFTP_PRIVATE_KEY cannot be read (wrong passphrase, or not an OpenSSH/PEM key): {exc}"
        ) from None
    kinds: list[tuple[type, type[paramiko.PKey]]] = [(rsa.RSAPrivateKey, paramiko.RSAKey),
                                                     (ed25519.Ed25519PrivateKey, paramiko.Ed25519Key),
                                                     (ec.EllipticCurvePrivateKey, paramiko.ECDSAKey)]  # fmt: skip
    key_class = next((cls for kind, cls in kinds if isinstance(loaded, kind)), None)
    if key_class is None:
        raise FileStoreError(f"SFTP_PRIVATE_KEY is a {type(loaded).__name__}, not an RSA, Ed25519 or ECDSA key")
    return key_class.from_private_key(io.StringIO(data.decode()), password=passphrase)


def _kind(mode: int | None) -> str:
    if mode is None:
        return SPECIAL
    if stat.S_ISLNK(mode):
        return LINK
    return FILE if stat.S_ISREG(mode) else FOLDER if stat.S_ISDIR(mode) else SPECIAL


def _listdir(sftp: paramiko.SFTPClient, path: bytes) -> list[tuple[str, paramiko.SFTPAttributes]]:
    """READDIR as paramiko's listdir_attr does it, but names taken as bytes: its own decoding is
    strict UTF-8, and one name a company's system wrote in Latin-1 would fail the whole listing."""
    from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR

    kind, msg = sftp._request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    handle = msg.get_binary()
    found = []
    try:
        while True:
            try:
                kind, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if kind != CMD_NAME:
                raise paramiko.SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                raw, longname = msg.get_string(), msg.get_string()
                name = raw.decode("utf-8", "surrogateescape")
                attrs = paramiko.SFTPAttributes._from_msg(msg, name, longname.decode("utf-8", "replace"))
                if name not in (".", ".."):
                    found.append((name, attrs))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return found


class SftpFileStore:
    def __init__(self, url: str, options: SftpOptions) -> None:
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname or not parts.username:
            raise FileStoreError("SFTP_URL must look like sftp://user@host:port/root")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 22
        self.username = unquote(parts.username)
        self.root = parts.path.rstrip("/") or "/"
        self.options = options
        self._password = options.password or (unquote(parts.password) if parts.password else None)
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.RLock()

    # -- connection -------------------------------------------------------------------------

    def _check_host_key(self, key: paramiko.PKey) -> None:
        opts = self.options
        if opts.fingerprint:
            if fingerprint(key) != opts.fingerprint.rstrip("="):
                raise HostKeyError(
                    f"host key of {self.host}:{self.port} is {fingerprint(key)}, not the pinned SFTP_HOST_FINGERPRINT"
                )
            return
        if opts.host_keys:
            if not any(key.get_name() == pinned.get_name() and key == pinned for pinned in opts.host_keys):
                raise HostKeyError(
                    f"host key of {self.host}:{self.port} ({key.get_name()} {fingerprint(key)}) is not SFTP_HOST_KEY"
                )
            return
        if opts.known_hosts:
            try:
                known = paramiko.HostKeys(str(opts.known_hosts))
            except OSError as exc:
                raise HostKeyError(f"cannot read SFTP_KNOWN_HOSTS {opts.known_hosts}: {exc}") from None
            name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
            entry = known.lookup(name)
            if entry is None or key.get_name() not in entry:
                raise HostKeyError(f"host {name} ({key.get_name()}) is not in SFTP_KNOWN_HOSTS {opts.known_hosts}")
            if entry[key.get_name()] != key:
                raise HostKeyError(f"host key of {name} does not match SFTP_KNOWN_HOSTS {opts.known_hosts}")
            return
        raise HostKeyError(
            "set SFTP_HOST_KEY, SFTP_HOST_FINGERPRINT or SFTP_KNOWN_HOSTS: unknown host keys are never accepted"
        )

    def _connect(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._transport is not None and self._transport.is_active():
            return self._sftp
        self.close()
        sock = socket.create_connection((self.host, self.port), timeout=self.options.timeout)
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = self.options.timeout
            transport.start_client(timeout=self.options.timeout)
            self._check_host_key(transport.get_remote_server_key())
            if self.options.private_key:
                key = private_key_from_text(self.options.private_key, self.options.private_key_passphrase)
                transport.auth_publickey(self.username, key)
            elif self.options.private_key_path:
                key = paramiko.PKey.from_path(self.options.private_key_path, self.options.private_key_passphrase)
                transport.auth_publickey(self.username, key)
            elif self._password:
                transport.auth_password(self.username, self._password)
            else:
                raise FileStoreError(
                    "set SFTP_PRIVATE_KEY, SFTP_PRIVATE_KEY_PATH or SFTP_PASSWORD to log in to the SFTP server"
                )
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise paramiko.SSHException("could not open the sftp subsystem")
            sftp.get_channel().settimeout(self.options.timeout)
        except paramiko.AuthenticationException as exc:
            transport.close()
            raise FileStoreError(f"SFTP login refused for {self.username}@{self.host}: {exc}") from None
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, sftp
        return sftp

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
        if self._transport is not None:
            self._transport.close()
        self._sftp = self._transport = None

    def _transient(self, exc: BaseException) -> bool:
        if isinstance(exc, FileStoreError):
            return False
        if isinstance(exc, paramiko.SSHException | EOFError | ConnectionError | TimeoutError | socket.timeout):
            return True
        return isinstance(exc, OSError) and (self._transport is None or not self._transport.is_active())

    def _run(self, what: str, operation: Callable[[paramiko.SFTPClient], T]) -> T:
        delay = self.options.backoff
        for attempt in range(self.options.retries + 1):
            try:
                with self._lock:
                    return operation(self._connect())
            except FileNotFoundError as exc:
                raise FileNotFound(f"{what}: {exc}") from None
            except BaseException as exc:
                if not self._transient(exc) or attempt == self.options.retries:
                    if isinstance(exc, FileStoreError):
                        raise
                    if isinstance(exc, OSError | paramiko.SSHException | EOFError):
                        raise FileStoreError(f"{what}: {exc!r}") from exc
                    raise
                log.warning("SFTP %s failed (%r); retry %d in %.1fs", what, exc, attempt + 1, delay)
                self.close()
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # -- the port ----------------------------------------------------------------------------

    def _abs(self, path: str) -> str:
        return posixpath.join(self.root, clean_path(path, posix=True))

    def list(self, folder: str, everything: bool = False) -> list[FileInfo]:
        base = listed_folder(folder, posix=True)

        def op(sftp: paramiko.SFTPClient) -> list[FileInfo]:
            try:
                entries = _listdir(sftp, wire_name(self._abs(base) if base else self.root))
            except FileNotFoundError:
                return []
            found = []
            for name, a in entries:  # READDIR's attributes are the entry's own (lstat): links stay links
                kind = _kind(a.st_mode)
                if is_temp(name) or (kind != FILE and not everything):
                    continue
                found.append(FileInfo(path=child(base, name), name=name, size=a.st_size or 0,
                                      modified=datetime.fromtimestamp(a.st_mtime or 0, UTC), kind=kind))  # fmt: skip
            return found

        return sorted(self._run(f"list {base or '/'}", op), key=lambda f: (f.modified, f.name))

    def sweep_temp(self, older_than: datetime) -> int:
        def op(sftp: paramiko.SFTPClient) -> int:
            try:
                entries = _listdir(sftp, wire_name(self._abs(TEMP_FOLDER)))
            except FileNotFoundError:
                return 0
            swept = 0
            for name, a in entries:
                stale = datetime.fromtimestamp(a.st_mtime or 0, UTC) < older_than
                if _kind(a.st_mode) == FILE and is_temp(name) and stale:
                    try:
                        sftp.remove(wire_name(self._abs(f"{TEMP_FOLDER}/{name}")))
                        swept += 1
                    except FileNotFoundError:
                        pass  # another sweeper was first
            return swept

        return self._run("sweep temp", op)

    def open_read(self, path: str) -> BinaryIO:
        def op(sftp: paramiko.SFTPClient) -> BinaryIO:
            handle = sftp.open(self._abs(path), "rb", bufsize=_CHUNK)
            handle.prefetch()
            return handle  # type: ignore[return-value]

        return self._run(f"open {path}", op)

    def read_bytes(self, path: str) -> bytes:
        def op(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(self._abs(path), "rb", bufsize=_CHUNK) as handle:
                handle.prefetch()
                return handle.read()

        return self._run(f"read {path}", op)

    def _mkdirs(self, sftp: paramiko.SFTPClient, folder: str) -> None:
        current = self.root
        for part in [p for p in folder.split("/") if p]:
            current = posixpath.join(current, part)
            try:
                sftp.stat(current)
            except FileNotFoundError:
                try:
                    sftp.mkdir(current)
                except OSError:
                    sftp.stat(current)  # created meanwhile by someone else: fine

    def write_atomic(self, path: str, data: bytes | Iterable[bytes]) -> None:
        rel = clean_path(path, posix=True)
        # Spool a stream to local disk first: a retry must be able to send it again,
        # and memory stays flat however large the file.
        spool = tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK)  # noqa: SIM115
        for chunk in chunks(data):
            spool.write(chunk)

        def op(sftp: paramiko.SFTPClient) -> None:
            self._mkdirs(sftp, posixpath.dirname(rel))
            self._mkdirs(sftp, TEMP_FOLDER)
            temp = self._abs(temp_name(rel, uuid.uuid4().hex))
            spool.seek(0)
            try:
                with sftp.open(temp, "wb", bufsize=_CHUNK) as handle:
                    handle.set_pipelined(True)
                    while block := spool.read(_CHUNK):
                        handle.write(block)
                sftp.posix_rename(temp, self._abs(rel))
            except BaseException:
                try:
                    sftp.remove(temp)
                except Exception:  # noqa: BLE001 - best effort cleanup; the temp name is never listed
                    pass
                raise

        try:
            self._run(f"write {rel}", op)
        finally:
            spool.close()

    def move(self, source: str, target: str) -> None:
        src, dst = clean_path(source, posix=True), clean_path(target, posix=True)

        def op(sftp: paramiko.SFTPClient) -> None:
            self._mkdirs(sftp, posixpath.dirname(dst))
            try:
                sftp.posix_rename(wire_name(self._abs(src)), wire_name(self._abs(dst)))
            except FileNotFoundError:
                sftp.lstat(wire_name(self._abs(dst)))  # a retried move whose first reply was lost: done

        self._run(f"move {src} -> {dst}", op)

    def mkdir(self, path: str) -> None:
        rel = clean_path(path, posix=True)
        self._run(f"mkdir {rel}", lambda sftp: self._mkdirs(sftp, rel))

    def exists(self, path: str) -> bool:
        def op(sftp: paramiko.SFTPClient) -> bool:
            try:
                sftp.stat(self._abs(path))
                return True
            except FileNotFoundError:
                return False

        return self._run(f"stat {path}", op)

    def delete(self, path: str) -> None:
        def op(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.remove(self._abs(path))
            except OSError as exc:
                if exc.errno == errno.ENOENT or isinstance(exc, FileNotFoundError):
                    raise FileNotFoundError(path) from None
                raise

        self._run(f"delete {path}", op)
