"""The cloud guard: on an Azure instance (WEBSITE_INSTANCE_ID or WEBSITE_SITE_NAME set) no
local default is used silently. The first call that needs one fails naming the setting,
/api/health answers 503 listing each, and the logs go to the standard logger rather than to
an emulator that is not there. Outside Azure nothing changes."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

import pytest

import bootstrap
from adapters.table_log import StdLogSink
from settings import LOCAL_ONLY, SettingsError, load_settings
from tests.e2e.calls import call

CLOUD = {
    "SQL_URL": "postgresql+psycopg://app@db.example.net:5432/app",
    "SFTP_URL": "blob://exchange",
    "SFTP_BLOB_CONNECTION": "DefaultEndpointsProtocol=https;AccountName=xchg;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    "LOG_STORAGE_CONNECTION": "DefaultEndpointsProtocol=https;AccountName=logs;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    "MAMBU_BASE_URL": "https://bank.mambu.com", "MAMBU_API_KEY": "k" * 40, "SMS_MODE": "acs",
    "ACS_CONNECTION_STRING": "endpoint=https://acs.example.net/;accesskey=a2V5", "SMS_FROM": "+525500000000",
    "JWT_SIGNING_KEY": "j" * 40, "LENDING_SIGNING_KEY": "l" * 40, "LENDING_WEBHOOK_KEY": "w" * 40,
}  # fmt: skip
NAMES = [*CLOUD, "WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME", "AzureWebJobsStorage"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    bootstrap.reset()
    yield
    bootstrap.reset()


def in_azure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-collections-prod")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    bootstrap.reset()


def test_outside_azure_the_local_defaults_are_the_point() -> None:
    assert load_settings().local_defaults() == {}
    load_settings().refuse_local(*(rule.setting for rule in LOCAL_ONLY))


def test_in_azure_every_local_default_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    in_azure(monkeypatch, MAMBU_API_KEY="demo-mambu-key", LENDING_SIGNING_KEY="dev-only-lending-signing-key-change-me-0000",
             LENDING_WEBHOOK_KEY="dev-only-lending-webhook-key-change-me-00000", SFTP_URL="blob://exchange")  # fmt: skip
    found = load_settings().local_defaults()
    unresolved_only = {"ACS_CONNECTION_STRING", "SFTP_PRIVATE_KEY", "SFTP_PASSWORD", "SFTP_HOST_KEY"}
    assert set(found) == {rule.setting for rule in LOCAL_ONLY} - {"JWT_SIGNING_KEY", "SFTP_URL", *unresolved_only}
    assert "SQLite" in found["SQL_URL"] and "Azurite" in found["LOG_STORAGE_CONNECTION"]
    monkeypatch.delenv("SFTP_URL")
    assert "file://" in load_settings().local_defaults()["SFTP_URL"]


def test_in_azure_with_real_settings_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    in_azure(monkeypatch, **CLOUD)
    assert load_settings().local_defaults() == {}
    assert not isinstance(bootstrap.log_sink(), StdLogSink)
    bootstrap.engine()  # built, not connected


@pytest.mark.parametrize(
    ("accessor", "setting", "fix"),
    [
        ("engine", "SQL_URL", {}), ("file_store", "SFTP_URL", {}),
        ("file_store", "SFTP_BLOB_CONNECTION", {"SFTP_URL": "blob://exchange"}),
        ("credit_engine", "MAMBU_BASE_URL", {"MAMBU_API_KEY": "k" * 40}),
        ("credit_engine", "MAMBU_API_KEY", {"MAMBU_BASE_URL": "https://bank.mambu.com", "MAMBU_API_KEY": "demo-mambu-key"}),
        ("sms_sender", "SMS_MODE", {}),
        ("lending_config", "LENDING_SIGNING_KEY", {"LENDING_SIGNING_KEY": "dev-only-lending-signing-key-change-me-0000"}),
        ("webhook_config", "LENDING_WEBHOOK_KEY", {"LENDING_WEBHOOK_KEY": "dev-only-lending-webhook-key-change-me-00000"}),
        ("token_service", "JWT_SIGNING_KEY", {"JWT_SIGNING_KEY": "dev-only-jwt-signing-key-change-me-000000000"}),
    ],
)  # fmt: skip
def test_the_first_call_that_needs_a_local_default_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch, accessor: str, setting: str, fix: dict[str, str]
) -> None:
    in_azure(monkeypatch, **{k: v for k, v in CLOUD.items() if k != setting and k not in fix}, **fix)
    with pytest.raises(SettingsError, match=setting) as caught:
        getattr(bootstrap, accessor)()
    assert "WEBSITE_SITE_NAME" in str(caught.value)
    for value in (*CLOUD.values(), *fix.values()):
        if len(value) >= 20 and "://" not in value:
            assert value not in str(caught.value), "a refusal never shows a setting's value"


def test_logs_go_to_the_standard_logger_not_to_a_missing_emulator(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    in_azure(monkeypatch, **{k: v for k, v in CLOUD.items() if k != "LOG_STORAGE_CONNECTION"})
    with caplog.at_level(logging.ERROR):
        assert isinstance(bootstrap.log_sink(), StdLogSink)
    assert "LOG_STORAGE_CONNECTION" in caplog.text


def test_health_lists_every_wrong_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    in_azure(monkeypatch, SQL_URL=os.environ.get("TEST_PG_URL") or "sqlite:///:memory:")
    answer = call("health")
    body = json.loads(answer.get_body())
    assert answer.status_code == 503 and body["status"] == "unavailable"
    assert {"SFTP_URL", "LOG_STORAGE_CONNECTION", "MAMBU_BASE_URL", "SMS_MODE"} <= set(body["settings"])
    monkeypatch.delenv("WEBSITE_SITE_NAME")
    monkeypatch.setenv("SQL_URL", "sqlite:///:memory:")
    bootstrap.reset()
    assert call("health").status_code == 200


@pytest.mark.parametrize(
    ("accessor", "setting"),
    [("token_service", "JWT_SIGNING_KEY"), ("lending_config", "LENDING_SIGNING_KEY"),
     ("webhook_config", "LENDING_WEBHOOK_KEY"), ("credit_engine", "MAMBU_API_KEY"),
     ("sms_sender", "ACS_CONNECTION_STRING")],
)  # fmt: skip
def test_a_key_vault_reference_that_did_not_resolve_is_never_used_as_the_secret(
    monkeypatch: pytest.MonkeyPatch, accessor: str, setting: str
) -> None:
    """App Service leaves `@Microsoft.KeyVault(...)` as the value when the secret is missing or
    the identity cannot read it: a JWT key would then be the vault's (public) URI."""
    reference = f"@Microsoft.KeyVault(SecretUri=https://kv-app.vault.azure.net/secrets/{setting.replace('_', '-')}/)"
    in_azure(monkeypatch, **{**CLOUD, setting: reference})
    with pytest.raises(SettingsError, match=f"{setting} is a Key Vault reference that did not resolve"):
        getattr(bootstrap, accessor)()
    assert call("health").status_code == 503
