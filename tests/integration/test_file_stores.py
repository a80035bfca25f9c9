"""The file port's contract, on every adapter: local folder, real sshd SFTP, Azurite blob."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from adapters.files.blob import BlobFileStore
from adapters.files.local import LocalFileStore
from adapters.files.port import FOLDER, ROOT, TEMP_FOLDER, FileNotFound, FileStore, FileStoreError
from adapters.files.sftp import HostKeyError, SftpFileStore, SftpOptions
from tests.conftest import Sshd, _keygen


def sftp_store(sshd: Sshd, **overrides: object) -> SftpFileStore:
    options = {"known_hosts": sshd.known_hosts, "private_key_path": sshd.user_key, "timeout": 5.0, "backoff": 0.05}
    options.update(overrides)
    return SftpFileStore(sshd.url, SftpOptions(**options))  # type: ignore[arg-type]


@pytest.fixture(params=["file", "sftp", "blob"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FileStore]:
    if request.param == "file":
        yield LocalFileStore(tmp_path / "exchange")
    elif request.param == "sftp":
        sshd: Sshd = request.getfixturevalue("sshd")
        sub = sshd.root / uuid.uuid4().hex
        sub.mkdir()
        store = SftpFileStore(
            f"{sshd.url}/{sub.name}",
            SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key, timeout=5.0, backoff=0.05),
        )
        yield store
        store.close()
    else:
        connection: str = request.getfixturevalue("azurite")
        blob = BlobFileStore(f"blob://exchange/{uuid.uuid4().hex}", connection)
        blob.ensure_container()
        yield blob


def test_write_read_list_move_delete(store: FileStore) -> None:
    assert store.list("00730/Deudas/Pending") == []
    store.write_atomic("00730/Deudas/Pending/D0073022102021002.TXT", b"second\r\n")
    time.sleep(1.1)  # listing is by modification time (one-second resolution on SFTP)
    store.write_atomic("00730/Deudas/Pending/D0073022102021001.TXT", [b"first", b"\r\n"])
    store.mkdir("00730/Deudas/Pending/sub")  # folders are not listed as files
    listed = store.list("00730/Deudas/Pending")
    assert [f.name for f in listed] == ["D0073022102021002.TXT", "D0073022102021001.TXT"]
    assert listed[0].path == "00730/Deudas/Pending/D0073022102021002.TXT"
    assert listed[0].size == 8
    assert store.read_bytes(listed[1].path) == b"first\r\n"
    with store.open_read(listed[0].path) as handle:
        assert handle.read() == b"second\r\n"

    store.write_atomic(listed[1].path, b"replaced")
    assert store.read_bytes(listed[1].path) == b"replaced"

    store.move(listed[0].path, "00730/Deudas/Complete/D0073022102021002.TXT")
    assert not store.exists(listed[0].path)
    assert store.read_bytes("00730/Deudas/Complete/D0073022102021002.TXT") == b"second\r\n"
    # a retried move whose first reply was lost: source gone, target there -> done
    store.move(listed[0].path, "00730/Deudas/Complete/D0073022102021002.TXT")
    with pytest.raises(FileNotFound):
        store.move("00730/Deudas/Pending/none.TXT", "00730/Deudas/Complete/none.TXT")

    store.delete(listed[1].path)
    assert not store.exists(listed[1].path)
    with pytest.raises(FileNotFound):
        store.read_bytes(listed[1].path)

    with pytest.raises(FileNotFound):
        store.delete(listed[1].path)


def test_move_replaces_the_target(store: FileStore) -> None:
    store.write_atomic("a/x.TXT", b"new")
    store.write_atomic("b/x.TXT", b"old")
    store.move("a/x.TXT", "b/x.TXT")
    assert store.read_bytes("b/x.TXT") == b"new"


def test_large_streamed_write(store: FileStore) -> None:
    line = b"D" * 208 + b"\r\n"
    store.write_atomic("big/file.TXT", (line for _ in range(20_000)))
    data = store.read_bytes("big/file.TXT")
    assert len(data) == 210 * 20_000 and data[:210] == line


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs/path", "a/../../x", "", "a\x00b"])
def test_paths_cannot_leave_the_root(store: FileStore, bad: str) -> None:
    with pytest.raises(FileStoreError):
        store.write_atomic(bad, b"x")


def test_a_backslash_is_a_character_on_posix_servers_only(store: FileStore) -> None:
    """A company's file may be named `a\\b.TXT` on SFTP; it must stay movable. Blob names refuse it."""
    if store.url.startswith("blob"):
        with pytest.raises(FileStoreError):
            store.write_atomic("in/a\\b.TXT", b"x")
        return
    store.write_atomic("in/a\\b.TXT", b"x")
    assert [f.name for f in store.list("in")] == ["a\\b.TXT"]
    store.move("in/a\\b.TXT", "out/a\\b.TXT")
    assert store.read_bytes("out/a\\b.TXT") == b"x"


def test_local_write_is_atomic_on_failure(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    store.write_atomic("out/P.TXT", b"complete")

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        store.write_atomic("out/P.TXT", broken())
    assert store.read_bytes("out/P.TXT") == b"complete"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["P.TXT"]  # no temp left behind


# -- SFTP specifics -------------------------------------------------------------------------------


def test_sftp_pinned_fingerprint(sshd: Sshd) -> None:
    store = sftp_store(sshd, known_hosts=None, fingerprint=sshd.fingerprint)
    store.write_atomic("pin/ok.TXT", b"ok")
    assert (sshd.root / "pin" / "ok.TXT").read_bytes() == b"ok"
    store.close()


def test_sftp_refuses_a_wrong_fingerprint(sshd: Sshd) -> None:
    store = sftp_store(sshd, known_hosts=None, fingerprint="SHA256:" + "A" * 43, retries=3)
    started = time.monotonic()
    with pytest.raises(HostKeyError, match="not the pinned"):
        store.list("x")
    assert time.monotonic() - started < 3, "a host key mismatch must not be retried"


def test_sftp_refuses_a_host_not_in_known_hosts(sshd: Sshd, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _keygen(other)
    known = tmp_path / "known_hosts"
    kind, key = (tmp_path / "other.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    with pytest.raises(HostKeyError, match="does not match"):
        sftp_store(sshd, known_hosts=known).list("x")
    known.write_text(f"[127.0.0.1]:1 {kind} {key}\n")
    with pytest.raises(HostKeyError, match="not in SFTP_KNOWN_HOSTS"):
        sftp_store(sshd, known_hosts=known).list("x")


def test_sftp_never_accepts_an_unknown_host(sshd: Sshd) -> None:
    with pytest.raises(HostKeyError, match="never accepted"):
        sftp_store(sshd, known_hosts=None).list("x")


def test_sftp_wrong_key_is_a_clear_login_error(sshd: Sshd, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    _keygen(stranger)
    with pytest.raises(FileStoreError, match="login refused"):
        sftp_store(sshd, private_key_path=stranger).list("x")


def test_sftp_reconnects_after_a_dropped_connection(sshd: Sshd) -> None:
    store = sftp_store(sshd)
    store.write_atomic("drop/one.TXT", b"1")
    assert store._transport is not None
    store._transport.close()  # the server or the network dropped us
    store.write_atomic("drop/two.TXT", b"2")
    assert sorted(f.name for f in store.list("drop")) == ["one.TXT", "two.TXT"]
    store.close()


def test_sftp_retries_transient_failures_with_backoff(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    store = sftp_store(sshd, retries=3)
    calls = {"n": 0}
    real = SftpFileStore._connect

    def flaky(self: SftpFileStore) -> paramiko.SFTPClient:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise paramiko.SSHException("Error reading SSH protocol banner")
        return real(self)

    monkeypatch.setattr(SftpFileStore, "_connect", flaky)
    store.write_atomic("flaky/x.TXT", b"x")
    assert calls["n"] == 3
    assert (sshd.root / "flaky" / "x.TXT").read_bytes() == b"x"
    store.close()


def test_sftp_gives_up_after_the_configured_retries(sshd: Sshd) -> None:
    store = SftpFileStore(
        f"sftp://nobody@127.0.0.1:{sshd.port + 0}/",
        SftpOptions(known_hosts=sshd.known_hosts, private_key_path=sshd.user_key, retries=1, backoff=0.01, timeout=2),
    )
    store.port = 1  # nothing listens there: connection refused, transient, retried once
    with pytest.raises(FileStoreError):
        store.list("x")


# -- secrets as setting values (Key Vault references in Azure) ---------------------------------


def _from_settings(monkeypatch: pytest.MonkeyPatch, sshd: Sshd, **values: str) -> FileStore:
    from adapters.files.factory import open_file_store
    from settings import load_settings

    for name in ("SFTP_KNOWN_HOSTS", "SFTP_HOST_FINGERPRINT", "SFTP_PRIVATE_KEY_PATH", "SFTP_PRIVATE_KEY",
                 "SFTP_HOST_KEY", "SFTP_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SFTP_URL", sshd.url)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return open_file_store(load_settings())


@pytest.mark.parametrize("escaped", [False, True], ids=["newlines", "one-line"])
def test_sftp_keys_given_as_setting_values(sshd: Sshd, monkeypatch: pytest.MonkeyPatch, escaped: bool) -> None:
    """SFTP_PRIVATE_KEY and SFTP_HOST_KEY hold the keys themselves (nothing to ship in the
    package or write to /home); a value pasted on one line with \\n escapes works too."""
    private = sshd.user_key.read_text()
    host = (sshd.directory / "host_ed25519.pub").read_text()
    if escaped:
        private = private.replace("\n", "\\n")
    store = _from_settings(monkeypatch, sshd, SFTP_PRIVATE_KEY=private, SFTP_HOST_KEY=host)
    store.write_atomic("values/ok.TXT", b"ok")
    assert (sshd.root / "values" / "ok.TXT").read_bytes() == b"ok"
    store.close()


def test_sftp_host_key_value_refuses_another_server_key(sshd: Sshd, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:  # fmt: skip
    other = tmp_path / "other"
    _keygen(other)
    store = _from_settings(monkeypatch, sshd, SFTP_PRIVATE_KEY=sshd.user_key.read_text(),
                           SFTP_HOST_KEY=f"[127.0.0.1]:{sshd.port} {(tmp_path / 'other.pub').read_text()}")  # fmt: skip
    with pytest.raises(HostKeyError, match="is not SFTP_HOST_KEY"):
        store.list("x")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [("SFTP_HOST_KEY", "not a key", "SFTP_HOST_KEY no key type"),
     ("SFTP_HOST_KEY", "ssh-ed25519 !!!notbase64", "SFTP_HOST_KEY cannot read"),
     ("SFTP_PRIVATE_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----",
      "SFTP_PRIVATE_KEY cannot be read")],
)  # fmt: skip
def test_unreadable_key_values_name_their_setting(sshd: Sshd, monkeypatch: pytest.MonkeyPatch, name: str,
                                                  value: str, reason: str) -> None:  # fmt: skip
    values = {"SFTP_PRIVATE_KEY": sshd.user_key.read_text(), "SFTP_HOST_FINGERPRINT": sshd.fingerprint, name: value}
    with pytest.raises(FileStoreError, match=reason) as caught:
        _from_settings(monkeypatch, sshd, **values).list("x")
    assert "AAAA" not in str(caught.value) or name != "SFTP_PRIVATE_KEY", "a key's text never reaches a message"


def test_the_root_and_its_folders_one_level_at_a_time(store: FileStore) -> None:
    """list(ROOT): what the root holds, folders with `everything` (the console's unknown company
    folders); never what lies below them."""
    store.write_atomic("00730/Deudas/Pending/D0073022102021001.TXT", b"x")
    store.write_atomic("00999/Deudas/Pending/D0099922102021001.TXT", b"x")
    store.write_atomic("README.TXT", b"hello")
    assert [(f.path, f.kind) for f in store.list(ROOT)] == [("README.TXT", "file")]
    found = {f.path: f.kind for f in store.list(ROOT, everything=True) if f.path != TEMP_FOLDER}  # the app's own
    assert found == {"00730": FOLDER, "00999": FOLDER, "README.TXT": "file"}
    assert {f.path: f.kind for f in store.list("00730", everything=True)} == {"00730/Deudas": FOLDER}
