"""Lazy wiring from settings: each adapter is built on first use, once per process.

Nothing is created at import time, so a bad setting fails the call that needs it (with
the setting's name) instead of hiding every function from the Functions host. In Azure, a
setting still holding its local default (settings.LOCAL_ONLY) fails the same way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from adapters import telemetry
from adapters.files.port import FileStore
from adapters.table_log import LogSink, StdLogSink, TableLogSink
from adapters.tokens import TokenService
from settings import SettingsError, get_settings, reset_settings
from sql.uow import UnitOfWork

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def engine() -> Engine:
    from adapters.identity import sql_credential
    from sql.engine import create_engine

    settings = get_settings()
    settings.refuse_local("SQL_URL")
    return telemetry.watch_engine(create_engine(settings.sql_url, sql_credential(settings.identity_values())))


def unit_of_work() -> UnitOfWork:
    return UnitOfWork(engine())


@functools.cache
def file_store() -> FileStore:
    from adapters.files.factory import open_file_store
    from adapters.files.traced import TracedFileStore

    settings = get_settings()
    settings.refuse_local("SFTP_URL", "SFTP_BLOB_CONNECTION", "SFTP_PRIVATE_KEY", "SFTP_PASSWORD", "SFTP_HOST_KEY")
    return TracedFileStore(open_file_store(settings))


@functools.cache
def log_sink() -> LogSink:
    """Table Storage; in Azure with the emulator's connection, the standard logger (which
    reaches Application Insights) and one error naming the setting, so that no call fails
    for its log and /api/health reports it."""
    settings = get_settings()
    from adapters.identity import storage_target

    try:
        settings.refuse_local("LOG_STORAGE_CONNECTION")
        target = storage_target("LOG_STORAGE", "table", settings.identity_values(), settings.log_connection())
    except SettingsError as exc:
        logging.getLogger(__name__).error("ApiLogs and ProcessLogs go to the standard logger: %s", exc)
        return StdLogSink()
    return TableLogSink(
        target,
        timeout=settings.log_timeout_seconds,
        retry_after=settings.log_retry_after_seconds,
    )


@functools.cache
def work_queues():  # type: ignore[no-untyped-def]
    """The host's storage queues, where the dispatchers put work for the queue triggers."""
    from adapters.queues import WorkQueues, host_queues

    settings = get_settings()
    target = host_queues(settings)
    if settings.in_azure and target.connection_string is not None and "devstoreaccount1" in target.connection_string:
        raise SettingsError("AzureWebJobsStorage__queueServiceUri (or AzureWebJobsStorage) is not set: the work "
                            "queues would be the local emulator's")  # fmt: skip
    return WorkQueues(target)


def flush_logs(timeout: float = 5.0) -> None:
    """Write what the log sink still holds (a host shutting down: its atexit may never run)."""
    if log_sink.cache_info().currsize:
        log_sink().flush(timeout)


@functools.cache
def token_service() -> TokenService:
    settings = get_settings()
    settings.refuse_local("JWT_SIGNING_KEY")
    return TokenService(settings.signing_key(), settings.jwt_issuer, settings.jwt_ttl_seconds)


@functools.cache
def guess_guard():  # type: ignore[no-untyped-def]
    from usecases.clients import GuessGuard, GuessPolicy

    settings = get_settings()
    return GuessGuard(GuessPolicy(
        per_source=settings.token_guesses_per_source, lock_after=settings.token_lock_after,
        lock_for=timedelta(minutes=settings.token_lock_minutes), verifications=settings.secret_checks_at_once,
    ))  # fmt: skip


@functools.cache
def company_setups():  # type: ignore[no-untyped-def]
    from usecases.yapago import SetupCache

    settings = get_settings()
    return SetupCache(
        engine(), cutoff_hour=settings.payment_cutoff_hour, retry_window_minutes=settings.yapago_retry_window_minutes
    )


@functools.cache
def decision_rules():  # type: ignore[no-untyped-def]
    from domain.collections.rules import DecisionRules

    return DecisionRules.load(get_settings().collections_rules_file)


@functools.cache
def credit_engine():  # type: ignore[no-untyped-def]
    from adapters.mambu import MambuCreditEngine

    settings = get_settings()
    settings.refuse_local("MAMBU_BASE_URL", "MAMBU_API_KEY")
    if settings.mambu_api_key is None:
        raise SettingsError("MAMBU_API_KEY is not set (the lending routes need Mambu)")
    return MambuCreditEngine(settings.mambu_base_url, settings.mambu_api_key.get_secret_value(),
                             timeout=settings.mambu_timeout_seconds)  # fmt: skip


@functools.cache
def sms_sender():  # type: ignore[no-untyped-def]
    from adapters.sms import AcsSms, OutboxSms

    settings = get_settings()
    settings.refuse_local("SMS_MODE", "ACS_CONNECTION_STRING")
    if settings.sms_mode == "outbox":
        return OutboxSms(settings.sms_outbox_path)
    if settings.acs_connection_string is None or not settings.sms_from:
        raise SettingsError("SMS_MODE=acs needs ACS_CONNECTION_STRING and SMS_FROM")
    return AcsSms(settings.acs_connection_string.get_secret_value(), settings.sms_from)


@functools.cache
def lending_config():  # type: ignore[no-untyped-def]
    from usecases.lending import LendingConfig

    settings = get_settings()
    settings.refuse_local("LENDING_SIGNING_KEY")
    key = settings.lending_signing_key.get_secret_value() if settings.lending_signing_key else ""
    if len(key) < 32:
        raise SettingsError("LENDING_SIGNING_KEY must be set, at least 32 characters")
    return LendingConfig(signing_key=key.encode(), qr_validity_minutes=settings.lending_qr_validity_minutes,
                         otp_ttl_minutes=settings.lending_otp_ttl_minutes,
                         otp_max_attempts=settings.lending_otp_max_attempts,
                         otp_rounds_per_order=settings.lending_otp_rounds_per_order,
                         otp_rounds_per_day=settings.lending_otp_rounds_per_day,
                         otp_wrong_per_day=settings.lending_otp_wrong_per_day)  # fmt: skip


@functools.cache
def webhook_config():  # type: ignore[no-untyped-def]
    from domain.lending.webhooks import RetryPolicy
    from usecases.webhooks import WebhookConfig

    settings = get_settings()
    settings.refuse_local("LENDING_WEBHOOK_KEY")
    key = settings.lending_webhook_key.get_secret_value() if settings.lending_webhook_key else ""
    if len(key) < 32:
        raise SettingsError("LENDING_WEBHOOK_KEY must be set, at least 32 characters")
    policy = RetryPolicy(base=timedelta(seconds=settings.webhook_retry_base_seconds),
                         cap=timedelta(seconds=settings.webhook_retry_cap_seconds),
                         give_up_after=timedelta(seconds=settings.webhook_give_up_seconds))  # fmt: skip
    return WebhookConfig(master_key=key.encode(), policy=policy, timeout=settings.webhook_timeout_seconds,
                         secret_overlap=timedelta(hours=settings.webhook_secret_overlap_hours))  # fmt: skip


def reset() -> None:
    """Drop every cached adapter and setting (tests change the environment between cases)."""
    if engine.cache_info().currsize:
        engine().dispose()
    for cached in (engine, file_store, log_sink, work_queues, token_service, guess_guard, company_setups,
                   decision_rules, credit_engine, sms_sender, lending_config, webhook_config):  # fmt: skip
        cached.cache_clear()
    from usecases.clients import CLIENT_STATUS

    CLIENT_STATUS.clear()
    reset_settings()
