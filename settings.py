"""Every setting the app reads, typed, with the embedded defaults used by `make run`.

Read lazily through `get_settings()`: an exception while `function_app` is imported would
hide every function from the Functions host, so nothing here runs at import time.
The names are the app-setting names (environment variables) and are documented in
`local.settings.example.json`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / ".data"

AZURITE_CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)
MIN_SIGNING_KEY_LENGTH = 32
# read, never set by us: App Service sets them on every Azure instance (and a local file that
# set them, even empty, could make a library think it runs there), so the example omits them
PLATFORM_SETTINGS = frozenset({"WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME"})


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def storage_connection(value: str) -> str:
    """Expand the `UseDevelopmentStorage=true` shorthand, which the Azure SDKs do not all accept."""
    if value.strip().rstrip(";").lower() == "usedevelopmentstorage=true":
        return AZURITE_CONNECTION
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", env_ignore_empty=True)

    sql_url: str = Field(default=f"sqlite:///{DATA_DIR / 'app.db'}", alias="SQL_URL")

    sftp_url: str = Field(default=f"file://{DATA_DIR / 'sftp'}", alias="SFTP_URL")
    sftp_known_hosts: Path | None = Field(default=None, alias="SFTP_KNOWN_HOSTS")
    sftp_host_fingerprint: str | None = Field(default=None, alias="SFTP_HOST_FINGERPRINT")
    sftp_password: SecretStr | None = Field(default=None, alias="SFTP_PASSWORD")
    sftp_private_key_path: Path | None = Field(default=None, alias="SFTP_PRIVATE_KEY_PATH")
    sftp_private_key: SecretStr | None = Field(default=None, alias="SFTP_PRIVATE_KEY")
    sftp_host_key: str | None = Field(default=None, alias="SFTP_HOST_KEY")
    sftp_private_key_passphrase: SecretStr | None = Field(default=None, alias="SFTP_PRIVATE_KEY_PASSPHRASE")
    sftp_timeout_seconds: float = Field(default=15.0, gt=0, le=300, alias="SFTP_TIMEOUT_SECONDS")
    sftp_retries: int = Field(default=3, ge=0, le=10, alias="SFTP_RETRIES")
    sftp_blob_connection: str | None = Field(default=None, alias="SFTP_BLOB_CONNECTION")

    # identity-based connections, the host's `<NAME>__...` convention (adapters/identity.py):
    # when a service URI (or account name) is set, the connection string is not used
    sftp_blob_uri: str | None = Field(default=None, alias="SFTP_BLOB__blobServiceUri")
    sftp_blob_account: str | None = Field(default=None, alias="SFTP_BLOB__accountName")
    sftp_blob_credential: str | None = Field(default=None, alias="SFTP_BLOB__credential")
    sftp_blob_client_id: str | None = Field(default=None, alias="SFTP_BLOB__clientId")
    log_storage_uri: str | None = Field(default=None, alias="LOG_STORAGE__tableServiceUri")
    log_storage_account: str | None = Field(default=None, alias="LOG_STORAGE__accountName")
    log_storage_credential: str | None = Field(default=None, alias="LOG_STORAGE__credential")
    log_storage_client_id: str | None = Field(default=None, alias="LOG_STORAGE__clientId")
    sql_credential: str | None = Field(default=None, alias="SQL__credential")
    sql_client_id: str | None = Field(default=None, alias="SQL__clientId")

    azure_web_jobs_storage: str = Field(default="UseDevelopmentStorage=true", alias="AzureWebJobsStorage")
    # the host's storage by identity, as the host reads it; the app sends its queue messages there
    host_storage_queue_uri: str | None = Field(default=None, alias="AzureWebJobsStorage__queueServiceUri")
    host_storage_account: str | None = Field(default=None, alias="AzureWebJobsStorage__accountName")
    host_storage_credential: str | None = Field(default=None, alias="AzureWebJobsStorage__credential")
    host_storage_client_id: str | None = Field(default=None, alias="AzureWebJobsStorage__clientId")
    debt_queue: str = Field(default="debt-files", alias="DEBT_QUEUE")
    payment_queue: str = Field(default="payment-files", alias="PAYMENT_QUEUE")
    log_storage_connection: str = Field(default="UseDevelopmentStorage=true", alias="LOG_STORAGE_CONNECTION")
    log_timeout_seconds: float = Field(default=2.0, gt=0, le=30, alias="LOG_TIMEOUT_SECONDS")
    log_retry_after_seconds: float = Field(default=30.0, ge=0, le=3600, alias="LOG_RETRY_AFTER_SECONDS")

    payment_cutoff_hour: int = Field(default=20, ge=0, le=24, alias="PAYMENT_CUTOFF_HOUR")
    yapago_retry_window_minutes: int = Field(default=60, ge=1, le=1440, alias="YAPAGO_RETRY_WINDOW_MINUTES")
    debt_file_max_future_minutes: int = Field(default=10, ge=0, le=1440, alias="DEBT_FILE_MAX_FUTURE_MINUTES")
    # the billers' contract: a payment file is applied within this many hours of its delivery (a file
    # taken from Pagos/ counts at once); 0: only taken files count (domain/settlement.py)
    payment_file_settlement_hours: int = Field(default=72, ge=0, le=24 * 31, alias="PAYMENT_FILE_SETTLEMENT_HOURS")
    debt_load_worker: Literal["auto", "on", "off"] = Field(default="auto", alias="DEBT_LOAD_WORKER")
    collections_rules_file: Path | None = Field(default=None, alias="COLLECTIONS_RULES_FILE")

    mambu_base_url: str = Field(default="http://127.0.0.1:8089", alias="MAMBU_BASE_URL")
    mambu_api_key: SecretStr | None = Field(default=None, alias="MAMBU_API_KEY")
    mambu_timeout_seconds: float = Field(default=5.0, gt=0, le=60, alias="MAMBU_TIMEOUT_SECONDS")
    sms_mode: Literal["outbox", "acs"] = Field(default="outbox", alias="SMS_MODE")
    sms_outbox_path: Path = Field(default=DATA_DIR / "sms-outbox.jsonl", alias="SMS_OUTBOX_PATH")
    acs_connection_string: SecretStr | None = Field(default=None, alias="ACS_CONNECTION_STRING")
    sms_from: str | None = Field(default=None, alias="SMS_FROM")
    lending_signing_key: SecretStr | None = Field(default=None, alias="LENDING_SIGNING_KEY")
    lending_qr_validity_minutes: int = Field(default=15, ge=1, le=1440, alias="LENDING_QR_VALIDITY_MINUTES")
    lending_otp_ttl_minutes: int = Field(default=5, ge=1, le=60, alias="LENDING_OTP_TTL_MINUTES")
    lending_otp_max_attempts: int = Field(default=3, ge=1, le=10, alias="LENDING_OTP_MAX_ATTEMPTS")
    lending_otp_rounds_per_order: int = Field(default=5, ge=2, le=50, alias="LENDING_OTP_ROUNDS_PER_ORDER")
    lending_otp_rounds_per_day: int = Field(default=12, ge=2, le=500, alias="LENDING_OTP_ROUNDS_PER_DAY")
    lending_otp_wrong_per_day: int = Field(default=6, ge=1, le=100, alias="LENDING_OTP_WRONG_PER_DAY")
    disbursement_max_retries: int = Field(default=3, ge=0, le=20, alias="DISBURSEMENT_MAX_RETRIES")
    lending_webhook_key: SecretStr | None = Field(default=None, alias="LENDING_WEBHOOK_KEY")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120, alias="WEBHOOK_TIMEOUT_SECONDS")
    webhook_retry_base_seconds: int = Field(default=30, ge=1, le=86400, alias="WEBHOOK_RETRY_BASE_SECONDS")
    webhook_retry_cap_seconds: int = Field(default=3600, ge=1, le=86400, alias="WEBHOOK_RETRY_CAP_SECONDS")
    webhook_give_up_seconds: int = Field(default=86400, ge=1, le=30 * 86400, alias="WEBHOOK_GIVE_UP_SECONDS")
    webhook_secret_overlap_hours: float = Field(default=72.0, ge=0, le=720, alias="WEBHOOK_SECRET_OVERLAP_HOURS")

    # set by App Service on every Azure instance: the cloud guard below keys on them
    website_instance_id: str | None = Field(default=None, alias="WEBSITE_INSTANCE_ID")
    website_site_name: str | None = Field(default=None, alias="WEBSITE_SITE_NAME")

    jwt_signing_key: SecretStr | None = Field(default=None, alias="JWT_SIGNING_KEY")
    jwt_issuer: str = Field(default="asbanc-functions", min_length=1, alias="JWT_ISSUER")
    jwt_ttl_seconds: int = Field(default=3600, ge=60, le=86400, alias="JWT_TTL_SECONDS")
    token_guesses_per_source: int = Field(default=20, ge=1, le=10_000, alias="TOKEN_GUESSES_PER_SOURCE")
    token_lock_after: int = Field(default=10, ge=1, le=1000, alias="TOKEN_LOCK_AFTER")
    token_lock_minutes: int = Field(default=15, ge=1, le=1440, alias="TOKEN_LOCK_MINUTES")
    secret_checks_at_once: int = Field(default=1, ge=1, le=16, alias="SECRET_CHECKS_AT_ONCE")

    @field_validator("sql_url")
    @classmethod
    def _sql_url(cls, value: str) -> str:
        try:
            make_url(value).get_dialect()
        except ArgumentError as exc:
            raise ValueError(f"not a SQLAlchemy URL ({exc})") from None
        except NoSuchModuleError:
            raise ValueError("unknown database kind; use sqlite://, postgresql+psycopg:// or mssql+pyodbc://") from None
        return value

    @field_validator("sftp_url")
    @classmethod
    def _sftp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"sftp", "file", "blob"}:
            raise ValueError("must start with sftp://, file:// or blob://")
        if parts.scheme == "sftp" and not parts.hostname:
            raise ValueError("sftp:// URL needs a host: sftp://user@host:port/root")
        if parts.scheme == "blob" and not parts.netloc:
            raise ValueError("blob:// URL needs a container: blob://container")
        if parts.scheme == "file" and not parts.path:
            raise ValueError("file:// URL needs a path: file:///absolute/path")
        return value

    @field_validator("sftp_host_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value and not re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}=?", value):
            raise ValueError("expected the form printed by `ssh-keygen -lf`: SHA256:<43 base64 characters>")
        return value or None

    @field_validator("jwt_signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_SIGNING_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SIGNING_KEY_LENGTH} characters")
        return value

    def signing_key(self) -> str:
        """The JWT key; required only by the code that signs or checks tokens."""
        if self.jwt_signing_key is None:
            raise SettingsError(
                f"JWT_SIGNING_KEY is not set: give it a random value of at least {MIN_SIGNING_KEY_LENGTH} characters"
            )
        return self.jwt_signing_key.get_secret_value()

    def blob_connection(self) -> str:
        return storage_connection(self.sftp_blob_connection or self.azure_web_jobs_storage)

    def host_storage(self) -> str:
        """The host's storage connection string (queues for work messages)."""
        return storage_connection(self.azure_web_jobs_storage)

    def log_connection(self) -> str:
        return storage_connection(self.log_storage_connection)

    def identity_values(self) -> dict[str, str]:
        """The identity-based settings that are set, by their app-setting names."""
        names = ("sftp_blob_uri", "sftp_blob_account", "sftp_blob_credential", "sftp_blob_client_id",
                 "log_storage_uri", "log_storage_account", "log_storage_credential", "log_storage_client_id",
                 "sql_credential", "sql_client_id", "host_storage_queue_uri", "host_storage_account",
                 "host_storage_credential", "host_storage_client_id")  # fmt: skip
        fields = type(self).model_fields
        return {str(fields[n].alias): value for n in names if (value := getattr(self, n))}

    def by_identity(self, prefix: str) -> bool:
        """Whether `<prefix>__...` names an endpoint (LOG_STORAGE, SFTP_BLOB) or a credential (SQL)."""
        return any(name.startswith(f"{prefix}__") and not name.endswith("__clientId")
                   for name in self.identity_values())  # fmt: skip

    # -- the cloud guard ------------------------------------------------------------------------

    @property
    def in_azure(self) -> bool:
        """Running on an Azure instance (App Service sets these on every one)."""
        return bool(self.website_instance_id or self.website_site_name)

    def local_defaults(self, *names: str) -> dict[str, str]:
        """Setting -> why it is wrong in Azure, for the settings of LOCAL_ONLY named (all when
        none is named) that still hold a local default; always empty outside Azure."""
        if not self.in_azure:
            return {}
        wanted = [rule for rule in LOCAL_ONLY if not names or rule.setting in names]
        found: dict[str, str] = {}
        for rule in wanted:
            if rule.setting not in found and rule.found(self):
                found[rule.setting] = rule.why
        return found

    def refuse_local(self, *names: str) -> None:
        """Raise SettingsError naming each of `names` that holds a local default in Azure: the
        first call that needs it fails with the setting's name instead of silently using SQLite,
        a local folder, Azurite, the fake Mambu or a development key."""
        found = self.local_defaults(*names)
        if found:
            where = "WEBSITE_INSTANCE_ID" if self.website_instance_id else "WEBSITE_SITE_NAME"
            problems = "; ".join(f"{name} {why}" for name, why in found.items())
            raise SettingsError(f"running in Azure ({where} is set), and {problems}")


def _emulator(connection: str) -> bool:
    text = storage_connection(connection).lower()
    return "devstoreaccount1" in text or "127.0.0.1" in text or "localhost" in text


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _development_key(secret: SecretStr | None) -> bool:
    """The example's keys ("dev-only-... change-me"), which anyone with the repository has."""
    value = secret.get_secret_value() if secret else ""
    return value.startswith("dev-only-") or "change-me" in value


def _unresolved(secret: SecretStr | str | None) -> bool:
    """A Key Vault reference App Service could not resolve stays the literal text: a signing key
    would then be a public string (the vault's URI), an API key a wrong one."""
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret or ""
    return value.lstrip().startswith("@Microsoft.KeyVault(")


_UNRESOLVED = "is a Key Vault reference that did not resolve: create the secret, and give the app's identity " \
              "Key Vault Secrets User on the vault"  # fmt: skip


@dataclass(frozen=True)
class LocalOnly:
    """A setting whose value is fine on a developer's machine and wrong in Azure."""

    setting: str
    why: str
    found: Callable[[Settings], bool]


LOCAL_ONLY = (
    LocalOnly("SQL_URL", "is SQLite (a file in the app's read-only package folder): set the Azure SQL URL",
              lambda s: make_url(s.sql_url).get_backend_name() == "sqlite"),
    LocalOnly("SFTP_URL", "is a local folder (file://): set blob://container or sftp://user@host/root",
              lambda s: urlsplit(s.sftp_url).scheme == "file"),
    LocalOnly("LOG_STORAGE_CONNECTION", "is the local storage emulator (Azurite): set LOG_STORAGE__tableServiceUri "
              "(identity) or the log storage account", lambda s: not s.by_identity("LOG_STORAGE") and _emulator(
                  s.log_storage_connection)),
    LocalOnly("SFTP_BLOB_CONNECTION", "is the local storage emulator (or AzureWebJobsStorage's, which is): set "
              "SFTP_BLOB__blobServiceUri (identity) or the exchange storage account",
              lambda s: urlsplit(s.sftp_url).scheme == "blob" and not s.by_identity("SFTP_BLOB") and _emulator(
                  s.blob_connection())),
    LocalOnly("MAMBU_BASE_URL", "is a loopback address (the local fake Mambu): set https://TENANT.mambu.com",
              lambda s: _loopback(s.mambu_base_url)),
    LocalOnly("MAMBU_API_KEY", "is the fake Mambu's demo key", lambda s: bool(
        s.mambu_api_key and s.mambu_api_key.get_secret_value() == "demo-mambu-key")),
    LocalOnly("SMS_MODE", "is outbox (OTP codes written to a file and the log): set acs",
              lambda s: s.sms_mode == "outbox"),
    LocalOnly("JWT_SIGNING_KEY", "is a development key from the example", lambda s: _development_key(
        s.jwt_signing_key)),
    LocalOnly("LENDING_SIGNING_KEY", "is the example's development key", lambda s: _development_key(
        s.lending_signing_key)),
    LocalOnly("LENDING_WEBHOOK_KEY", "is the example's development key", lambda s: _development_key(
        s.lending_webhook_key)),
    *(LocalOnly(name, _UNRESOLVED, lambda s, field=field: _unresolved(getattr(s, field))) for name, field in (
        ("JWT_SIGNING_KEY", "jwt_signing_key"), ("LENDING_SIGNING_KEY", "lending_signing_key"),
        ("LENDING_WEBHOOK_KEY", "lending_webhook_key"), ("MAMBU_API_KEY", "mambu_api_key"),
        ("ACS_CONNECTION_STRING", "acs_connection_string"), ("SFTP_PRIVATE_KEY", "sftp_private_key"),
        ("SFTP_PASSWORD", "sftp_password"), ("SFTP_HOST_KEY", "sftp_host_key"))),
)  # fmt: skip


def load_settings() -> Settings:
    """Read the environment now; a bad value raises SettingsError naming the setting."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
