"""Identity-based connections against Azurite with OAuth on (HTTPS, bearer tokens checked for
issuer, audience and lifetime): the log tables (lean writer and SDK path) and `blob://` reached
with a token credential and no key, the settings' `<NAME>__...` names wired to them, and the
Azure SQL access token handed to the ODBC driver. A local credential stands in for the managed
identity: it issues tokens shaped as Entra ID's (Azurite does not check signatures)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from azure.core.credentials import AccessToken

import bootstrap
from adapters import identity
from adapters.files.blob import BlobFileStore
from adapters.identity import IdentityError, StorageTarget, storage_endpoint
from adapters.table_log import TableLogSink, make_entity, partition_key, read_partition
from sql.engine import SQL_COPT_SS_ACCESS_TOKEN, access_token_struct, create_engine
from tests.conftest import ROOT, free_port, stop, wait_port

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


class LocalToken:
    """A TokenCredential issuing Entra-shaped tokens for `audience`; counts its calls."""

    def __init__(self, audience: str = "https://storage.azure.com", lifetime: int = 3600) -> None:
        self.audience = audience
        self.lifetime = lifetime
        self.calls = 0

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.calls += 1
        now = int(time.time())
        claims = {"aud": self.audience, "iss": f"https://sts.windows.net/{TENANT}/", "iat": now, "nbf": now - 60,
                  "exp": now + self.lifetime, "oid": str(uuid.uuid4()), "tid": TENANT, "scp": " ".join(scopes)}  # fmt: skip
        return AccessToken(jwt.encode(claims, "local-test-key-" + "x" * 32, algorithm="HS256"), now + self.lifetime)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


class OAuthAzurite:
    def __init__(self, blob: int, table: int, cert: Path) -> None:
        self.blob = f"https://127.0.0.1:{blob}/devstoreaccount1"
        self.table = f"https://127.0.0.1:{table}/devstoreaccount1"
        self.cert = cert


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    """Azurite over HTTPS with `--oauth basic`: requests need a valid bearer token (or a key)."""
    work = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = _self_signed(work)
    blob, queue, table = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [str(ROOT / "node_modules" / ".bin" / "azurite"), "--inMemoryPersistence", "--silent", "--skipApiVersionCheck",
         "--loose", "--oauth", "basic", "--cert", str(cert), "--key", str(key), "--blobHost", "127.0.0.1",
         "--blobPort", str(blob), "--queueHost", "127.0.0.1", "--queuePort", str(queue), "--tableHost", "127.0.0.1",
         "--tablePort", str(table)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for port in (blob, table):
            wait_port(port, 60, proc)
        yield OAuthAzurite(blob, table, cert)
    finally:
        stop(proc)


@pytest.fixture
def trusted(oauth_azurite: OAuthAzurite, monkeypatch: pytest.MonkeyPatch) -> OAuthAzurite:
    """The emulator's certificate trusted the way a private CA would be (REQUESTS_CA_BUNDLE)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(oauth_azurite.cert))
    return oauth_azurite


def _entities(n: int, name: str) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    return [make_entity(name, now, {"Function": name, "N": i}) for i in range(n)]


@pytest.mark.parametrize("lean", [True, False], ids=["lean-writer", "sdk"])
def test_log_tables_by_identity_take_entries_without_a_key(trusted: OAuthAzurite, lean: bool) -> None:
    credential = LocalToken()
    target = StorageTarget(endpoint=trusted.table, credential=credential)
    sink = TableLogSink(target, timeout=5, retry_after=60)
    if not lean:
        sink._lean = False  # the SDK path (a SAS connection takes it too)
    name = f"identity_{uuid.uuid4().hex[:8]}"
    for entity in _entities(30, name):
        sink.write("IdentityLogs", entity)
    assert sink.flush(20) and sink.missed() == {}
    stored = read_partition(target, "IdentityLogs", partition_key(name, dt.datetime.now(dt.UTC)))
    assert sorted(e["N"] for e in stored) == list(range(30))
    assert credential.calls >= 1
    sink.close()


def test_a_token_for_another_audience_is_refused(trusted: OAuthAzurite) -> None:
    """Azurite checks the token: one for SQL does not open the storage (the entries go to the
    standard logger, counted), so the test above proves the token is used."""
    sink = TableLogSink(StorageTarget(endpoint=trusted.table, credential=LocalToken("https://database.windows.net/")),
                        timeout=5, retry_after=60)  # fmt: skip
    for entity in _entities(3, "wrong_audience"):
        sink.write("IdentityLogs", entity)
    sink.flush(20)
    assert sink.missed() == {"IdentityLogs": 3}
    sink.close()


def test_blob_exchange_by_identity(trusted: OAuthAzurite) -> None:
    from azure.storage.blob import BlobServiceClient

    container = f"exchange{uuid.uuid4().hex[:8]}"
    credential = LocalToken()
    BlobServiceClient(trusted.blob, credential=credential).create_container(container)
    store = BlobFileStore(f"blob://{container}", StorageTarget(endpoint=trusted.blob, credential=credential))
    store.write_atomic("00730/Deudas/Pending/D0073003122026001.TXT", b"line\r\n")
    assert [f.name for f in store.list("00730/Deudas/Pending")] == ["D0073003122026001.TXT"]
    store.move("00730/Deudas/Pending/D0073003122026001.TXT", "00730/Deudas/Complete/D0073003122026001.TXT")
    assert store.read_bytes("00730/Deudas/Complete/D0073003122026001.TXT") == b"line\r\n"


def test_settings_wire_the_identity_to_the_adapters(trusted: OAuthAzurite, monkeypatch: pytest.MonkeyPatch) -> None:
    """`LOG_STORAGE__tableServiceUri` / `SFTP_BLOB__blobServiceUri` + `__credential` +
    `__clientId` reach the sink and the file store; the connection strings are not used."""
    asked: list[tuple[str, dict]] = []
    real = identity.credential_for

    def recorded(prefix: str, values: Any) -> LocalToken:
        real(prefix, values)  # the real one is built (ManagedIdentityCredential), then stood in for
        asked.append((prefix, {k: v for k, v in values.items() if k.startswith(prefix)}))
        return LocalToken()

    monkeypatch.setattr(identity, "credential_for", recorded)
    container = f"exchange{uuid.uuid4().hex[:8]}"
    from azure.storage.blob import BlobServiceClient

    BlobServiceClient(trusted.blob, credential=LocalToken()).create_container(container)
    monkeypatch.setenv("LOG_STORAGE__tableServiceUri", trusted.table)
    monkeypatch.setenv("LOG_STORAGE__credential", "managedidentity")
    monkeypatch.setenv("LOG_STORAGE__clientId", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("LOG_STORAGE_CONNECTION", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=eA==")
    monkeypatch.setenv("SFTP_URL", f"blob://{container}")
    monkeypatch.setenv("SFTP_BLOB__blobServiceUri", trusted.blob)
    monkeypatch.setenv("SFTP_BLOB__credential", "managedidentity")
    bootstrap.reset()
    try:
        sink, store = bootstrap.log_sink(), bootstrap.file_store()
        assert isinstance(sink, TableLogSink) and isinstance(store.inner, BlobFileStore)
        sink.write("IdentityLogs", _entities(1, "wired")[0])
        assert sink.flush(20) and sink.missed() == {}
        store.write_atomic("x/ok.TXT", b"ok")
        assert store.read_bytes("x/ok.TXT") == b"ok"
        assert asked[0] == ("LOG_STORAGE", {"LOG_STORAGE__tableServiceUri": trusted.table,
                                             "LOG_STORAGE__credential": "managedidentity",
                                             "LOG_STORAGE__clientId": "11111111-2222-3333-4444-555555555555"})  # fmt: skip
        assert asked[1][0] == "SFTP_BLOB"
    finally:
        bootstrap.reset()


@pytest.mark.parametrize(
    ("values", "expected"),
    [({"LOG_STORAGE__tableServiceUri": "https://logs.table.core.windows.net/"}, "https://logs.table.core.windows.net"),
     ({"LOG_STORAGE__serviceUri": "https://logs.table.core.windows.net"}, "https://logs.table.core.windows.net"),
     ({"LOG_STORAGE__accountName": "logs"}, "https://logs.table.core.windows.net"), ({}, None)],
)  # fmt: skip
def test_endpoint_forms_of_the_hosts_convention(values: dict[str, str], expected: str | None) -> None:
    assert storage_endpoint("LOG_STORAGE", "table", values) == expected


def test_identity_settings_that_cannot_work_name_themselves() -> None:
    with pytest.raises(IdentityError, match="LOG_STORAGE__tableServiceUri must be an https"):
        storage_endpoint("LOG_STORAGE", "table", {"LOG_STORAGE__tableServiceUri": "http://logs.example"})
    with pytest.raises(IdentityError, match="SQL__credential must be managedidentity"):
        identity.credential_for("SQL", {"SQL__credential": "password"})


class _RecordingOdbc:
    """A stand-in for the pyodbc module (there is no ODBC driver here), enough for the dialect."""

    paramstyle = "qmark"
    version = "5.5.0"

    class Cursor:
        def nextset(self) -> None: ...


def test_azure_sql_gets_an_access_token_and_no_login() -> None:
    credential = LocalToken("https://database.windows.net/")
    url = "mssql+pyodbc://@sql-app.database.windows.net:1433/app?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes"
    engine = create_engine(url, credential, module=_RecordingOdbc)
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cargs = list(cargs)
    assert "Trusted_Connection=Yes" in cargs[0], "what SQLAlchemy asks for without a user"
    engine.dialect.dispatch.do_connect(engine.dialect, None, cargs, cparams)  # what each new connection goes through
    assert "Trusted_Connection" not in cargs[0] and "UID=" not in cargs[0] and "PWD=" not in cargs[0]
    token = cparams["attrs_before"][SQL_COPT_SS_ACCESS_TOKEN]
    (length,) = struct.unpack("<I", token[:4])
    assert length == len(token) - 4 and jwt.decode(token[4:].decode("utf-16-le"), options={
        "verify_signature": False})["aud"] == "https://database.windows.net/"  # fmt: skip
    assert access_token_struct("ab") == b"\x04\x00\x00\x00a\x00b\x00"
    with pytest.raises(ValueError, match="names a user"):
        create_engine("mssql+pyodbc://app:pw@sql-app.database.windows.net/app?driver=x", credential,
                      module=_RecordingOdbc)  # fmt: skip
