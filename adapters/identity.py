"""Identity-based connections, in the Functions host's own convention for its settings:
`<NAME>__tableServiceUri` / `__blobServiceUri` (or `__serviceUri`, or `__accountName` for the
public cloud's endpoints), `__credential=managedidentity` and `__clientId` for a
user-assigned identity. Without `__credential` the default chain of azure-identity applies
(environment, workload identity, managed identity, Azure CLI...), which is what a developer
signed in with `az login` wants. No key is kept anywhere: tokens come from Entra ID.

`StorageTarget` is what every storage adapter takes: a connection string, or an endpoint and
a token credential. `connection` strings keep working unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from settings import SettingsError

STORAGE_SCOPE = "https://storage.azure.com/.default"
SQL_SCOPE = "https://database.windows.net/.default"
Service = Literal["table", "blob", "queue"]


class IdentityError(SettingsError):
    """An identity-based setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class StorageTarget:
    """A storage service: by connection string, or by endpoint + token credential."""

    connection_string: str | None = None
    endpoint: str | None = None
    credential: Any = None  # an azure.core.credentials.TokenCredential

    def __post_init__(self) -> None:
        if (self.connection_string is None) == (self.endpoint is None):
            raise IdentityError("a storage target is a connection string or an endpoint, not both")

    @property
    def by_identity(self) -> bool:
        return self.endpoint is not None


def credential_for(prefix: str, values: Mapping[str, str]) -> Any:
    """The token credential `<prefix>__credential` / `__clientId` ask for."""
    kind = (values.get(f"{prefix}__credential") or "").strip().lower()
    client_id = (values.get(f"{prefix}__clientId") or "").strip() or None
    if kind == "managedidentity":
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=client_id)
    if kind:
        raise IdentityError(f"{prefix}__credential must be managedidentity (or unset for the default chain)")
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


def storage_endpoint(prefix: str, service: Service, values: Mapping[str, str]) -> str | None:
    """`<prefix>__<service>ServiceUri`, `__serviceUri` or the public endpoint of `__accountName`."""
    for key in (f"{prefix}__{service}ServiceUri", f"{prefix}__serviceUri"):
        if uri := (values.get(key) or "").strip():
            if not uri.startswith("https://"):
                raise IdentityError(f"{key} must be an https:// URI (a token is never sent in clear)")
            return uri.rstrip("/")
    if account := (values.get(f"{prefix}__accountName") or "").strip():
        return f"https://{account}.{service}.core.windows.net"
    return None


def sql_credential(values: Mapping[str, str]) -> Any:
    """The token credential of Azure SQL when `SQL__credential` is set, else None (a login in SQL_URL)."""
    return credential_for("SQL", values) if values.get("SQL__credential") else None


def storage_target(prefix: str, service: Service, values: Mapping[str, str], connection: str) -> StorageTarget:
    """By identity when `<prefix>__...ServiceUri` or `__accountName` is set, else `connection`."""
    endpoint = storage_endpoint(prefix, service, values)
    if endpoint is None:
        return StorageTarget(connection_string=connection)
    return StorageTarget(endpoint=endpoint, credential=credential_for(prefix, values))


class CachedToken:
    """A bearer token from a credential, fetched again five minutes before it expires: for the
    code that signs its own requests (the lean Table writer, ODBC connections)."""

    MARGIN_SECONDS = 300

    def __init__(self, credential: Any, scope: str) -> None:
        self._credential = credential
        self._scope = scope
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires - self.MARGIN_SECONDS:
                found = self._credential.get_token(self._scope)
                self._token, self._expires = found.token, float(found.expires_on)
            return self._token
