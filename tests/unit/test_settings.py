from __future__ import annotations

import pytest

from settings import AZURITE_CONNECTION, DATA_DIR, SettingsError, load_settings

NAMES = [
    "SQL_URL", "SFTP_URL", "SFTP_KNOWN_HOSTS", "SFTP_HOST_FINGERPRINT", "SFTP_RETRIES", "SFTP_TIMEOUT_SECONDS",
    "JWT_SIGNING_KEY", "JWT_TTL_SECONDS", "LOG_STORAGE_CONNECTION", "AzureWebJobsStorage", "LOG_TIMEOUT_SECONDS",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_embedded_defaults() -> None:
    settings = load_settings()
    assert settings.sql_url == f"sqlite:///{DATA_DIR / 'app.db'}"
    assert settings.sftp_url == f"file://{DATA_DIR / 'sftp'}"
    assert settings.log_connection() == AZURITE_CONNECTION
    assert settings.blob_connection() == AZURITE_CONNECTION
    assert settings.jwt_ttl_seconds == 3600


def test_empty_values_mean_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQL_URL", "")
    assert load_settings().sql_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("SQL_URL", "not a url", "SQL_URL"),
        ("SFTP_URL", "ftp://host/x", "SFTP_URL"),
        ("SFTP_URL", "sftp:///nohost", "SFTP_URL"),
        ("SFTP_RETRIES", "many", "SFTP_RETRIES"),
        ("SFTP_RETRIES", "99", "SFTP_RETRIES"),
        ("SFTP_HOST_FINGERPRINT", "MD5:aa:bb", "SFTP_HOST_FINGERPRINT"),
        ("JWT_SIGNING_KEY", "short", "JWT_SIGNING_KEY"),
        ("JWT_TTL_SECONDS", "5", "JWT_TTL_SECONDS"),
        ("LOG_TIMEOUT_SECONDS", "-1", "LOG_TIMEOUT_SECONDS"),
    ],
)
def test_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=fragment):
        load_settings()


def test_missing_signing_key_is_named_when_needed() -> None:
    settings = load_settings()
    with pytest.raises(SettingsError, match="JWT_SIGNING_KEY is not set"):
        settings.signing_key()


def test_secrets_do_not_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SIGNING_KEY", "k" * 40)
    monkeypatch.setenv("SFTP_PASSWORD", "hunter2-password")
    text = repr(load_settings())
    assert "k" * 40 not in text
    assert "hunter2" not in text
