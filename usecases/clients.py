"""Registering API clients and exchanging their credentials for access tokens."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.secrets import hash_secret, needs_rehash, verify_secret
from adapters.tokens import IssuedToken, TokenError, TokenService
from domain.auth import (
    Principal,
    Scope,
    granted_scopes,
    parse_banks,
    parse_channels,
    parse_scopes,
    validate_client_id,
    validate_secret,
)
from sql.repositories import StoredClient
from sql.uow import UnitOfWork

UowFactory = Callable[[], UnitOfWork]


class AuthFailure(Exception):
    """Refused credentials or token. `status` is 400, 401, 403 or 429 (with `retry_after`
    seconds); `code` follows RFC 6749/6750."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class GuessPolicy:
    """How the token service resists guessing (README, security). A client locked after
    `lock_after` wrong secrets in a row gets no new token for `lock_for` (its tokens keep
    working: a guesser cannot stop a bank, only slow its next token); one source that sent
    `per_source` wrong secrets in `window` waits for the window to pass; and no more than
    `verifications` Argon2 checks run at once in a process (each uses 19 MiB and a core
    for ~20 ms), the next ones waiting at most `wait` before a 429."""

    per_source: int = 20
    window: timedelta = timedelta(seconds=60)
    lock_after: int = 10
    lock_for: timedelta = timedelta(minutes=15)
    verifications: int = 1
    wait: float = 2.0


class GuessGuard:
    """The in-process half of GuessPolicy: the verification slots (failures per address and per
    client are counted in SQL, shared by every worker and instance)."""

    def __init__(self, policy: GuessPolicy = GuessPolicy()) -> None:
        self.policy = policy
        self._slots = threading.BoundedSemaphore(policy.verifications)

    def verify(self, secret_hash: str | None, secret: str) -> bool:
        if not self._slots.acquire(timeout=self.policy.wait):
            raise AuthFailure(429, "slow_down", "too many secret checks at once; try again shortly", 1)
        try:
            return verify_secret(secret_hash, secret)
        finally:
            self._slots.release()


GUESS_GUARD = GuessGuard()


@dataclass(frozen=True)
class ClientSaved:
    client_id: str
    scopes: frozenset[Scope]
    created: bool


def register_client(
    uow: UowFactory, client_id: str, secret: str, scopes: str, now: datetime, banks: str | None = None,
    channels: str | None = None,
) -> ClientSaved:  # fmt: skip
    """Create a client or rotate its secret, scopes, banks and channels; only the Argon2 hash is stored."""
    validate_client_id(client_id)
    validate_secret(secret)
    parsed = parse_scopes(scopes)
    bank_codes = parse_banks(banks)
    channel_codes = parse_channels(channels)
    with uow() as tx:
        created = tx.clients.upsert(client_id, hash_secret(secret), parsed, now, bank_codes, channel_codes)
        tx.commit()
    return ClientSaved(client_id, parsed, created)


def set_client_active(uow: UowFactory, client_id: str, active: bool, now: datetime) -> bool:
    with uow() as tx:
        found = tx.clients.set_active(client_id, active, now)
        tx.commit()
    return found


def issue_token(
    uow: UowFactory, tokens: TokenService, client_id: str, secret: str, scope: str | None, now: datetime,
    source: str = "unknown", guard: GuessGuard = GUESS_GUARD,
) -> IssuedToken:  # fmt: skip
    """A token for the client's credentials; `source` is the caller's address (throttling)."""
    from domain.errors import DomainError

    policy = guard.policy
    with uow() as tx:
        wait = tx.clients.source_wait(source, now, policy.window, policy.per_source)
        client = tx.clients.get(client_id) if wait is None else None
    if wait is not None:
        raise AuthFailure(429, "slow_down", "too many wrong secrets from this address; wait and try again", wait)
    if client is not None and client.locked_until is not None and client.locked_until > now:
        wait = max(1, math.ceil((client.locked_until - now).total_seconds()))
        raise AuthFailure(429, "slow_down", "this client is locked after too many wrong secrets; wait", wait)
    # verify even when the client is unknown: same cost, no way to probe for ids
    valid = guard.verify(client.secret_hash if client else None, secret)
    if client is None or not valid or not client.active:
        with uow() as tx:
            tx.clients.source_failed(source, now, policy.window)
            if client is not None and not valid:
                tx.clients.record_failure(client_id, policy.lock_after, now + policy.lock_for)
            tx.commit()
        raise AuthFailure(401, "invalid_client", "unknown client or wrong secret")
    fresher = hash_secret(secret) if needs_rehash(client.secret_hash) else None
    if client.failed_attempts or fresher:
        with uow() as tx:
            if client.failed_attempts:
                tx.clients.record_success(client_id)
            if fresher:  # a hash with yesterday's parameters: today's, same secret, same credential version
                tx.clients.rehash(client_id, client.secret_hash, fresher)
            tx.commit()
    try:
        scopes = granted_scopes(client.scopes, scope)
    except DomainError as exc:
        raise AuthFailure(400, "invalid_scope", exc.message) from None
    return tokens.issue(client.client_id, scopes, now, client.credential_version)


class ClientStatus:
    """Whether a client is active, as SQL says, remembered a few seconds per process.

    Every API call checks it; a disabled client's tokens stop working within `ttl` seconds.
    """

    def __init__(self, ttl_seconds: float = 10.0) -> None:
        self.ttl = ttl_seconds
        self._seen: dict[str, tuple[float, StoredClient | None]] = {}

    def active(self, uow: UowFactory, client_id: str, fresh: bool = False) -> StoredClient | None:
        """The client if it exists and is active, else None; `fresh`: read SQL, not the cache."""
        now = time.monotonic()
        cached = self._seen.get(client_id)
        if cached is not None and cached[0] > now and not fresh:
            return cached[1]
        with uow() as tx:
            client = tx.clients.get(client_id)
        found = client if client is not None and client.active else None
        self._seen[client_id] = (now + self.ttl, found)
        return found

    def clear(self) -> None:
        self._seen.clear()


CLIENT_STATUS = ClientStatus()


def authorize(
    uow: UowFactory,
    tokens: TokenService,
    authorization: str | None,
    scope: Scope | None,
    status: ClientStatus = CLIENT_STATUS,
) -> Principal:
    """Check a `Bearer` header for `scope` (None: any valid token); failures raise AuthFailure (401 or 403)."""
    if not authorization:
        raise AuthFailure(401, "invalid_request", "missing Authorization: Bearer token")
    kind, _, token = authorization.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise AuthFailure(401, "invalid_request", "Authorization header must be 'Bearer <token>'")
    try:
        principal = tokens.verify(token.strip())
    except TokenError as exc:
        raise AuthFailure(401, "invalid_token", exc.reason) from None
    client = status.active(uow, principal.client_id)
    if client is None:
        raise AuthFailure(401, "invalid_token", "client is disabled")
    if principal.credential_version > client.credential_version:  # newer than the cache: a rotation just now
        client = status.active(uow, principal.client_id, fresh=True)
        if client is None:
            raise AuthFailure(401, "invalid_token", "client is disabled")
    if principal.credential_version != client.credential_version:
        raise AuthFailure(401, "invalid_token", "token revoked: the client's credentials changed since it was issued")
    if scope is not None and (not principal.has(scope) or scope not in client.scopes):
        raise AuthFailure(403, "insufficient_scope", f"token lacks scope '{scope.value}'")
    return dataclasses.replace(principal, banks=client.banks, channels=client.channels)


class SecretChecks:
    """Secrets already verified for a client, remembered a few seconds per process by their
    SHA-256: APIs that send the secret on every call (collections) pay Argon2 once, not per call."""

    def __init__(self, ttl_seconds: float = 60.0) -> None:
        self.ttl = ttl_seconds
        self._ok: dict[tuple[str, str, int], float] = {}

    def valid(self, uow: UowFactory, client_id: str, secret: str, version: int = 1,
              guard: GuessGuard = GUESS_GUARD) -> bool:  # fmt: skip
        """`version`: the client's current credential version; a check remembered under another
        one (before a rotation) does not count."""
        key = (client_id, hashlib.sha256(secret.encode()).hexdigest(), version)
        now = time.monotonic()
        if self._ok.get(key, 0.0) > now:
            return True
        with uow() as tx:
            client = tx.clients.get(client_id)
        valid = (
            guard.verify(client.secret_hash if client else None, secret) and client is not None and client.active
            and client.credential_version == version
        )  # fmt: skip
        if valid:
            self._ok[key] = now + self.ttl
        return valid

    def clear(self) -> None:
        self._ok.clear()


SECRET_CHECKS = SecretChecks()


def check_header_credentials(
    uow: UowFactory,
    principal: Principal,
    client_id: str | None,
    secret: str | None,
    checks: SecretChecks = SECRET_CHECKS,
    guard: GuessGuard = GUESS_GUARD,
) -> None:
    """`client_id` / `client_secret` headers: the token's own client, with its right secret (AuthFailure 401)."""
    if not client_id or not secret:
        raise AuthFailure(401, "invalid_client", "client_id and client_secret headers are required")
    if client_id != principal.client_id:
        raise AuthFailure(401, "invalid_client", "client_id does not match the token")
    if not checks.valid(uow, client_id, secret, principal.credential_version, guard):
        raise AuthFailure(401, "invalid_client", "unknown client or wrong secret")
