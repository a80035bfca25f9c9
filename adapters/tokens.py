"""Signed JWT access tokens (HS256) for the API clients."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from domain.auth import Principal, format_scopes, parse_scopes
from domain.errors import DomainError

ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


class TokenError(Exception):
    """The token is missing, malformed, forged or expired; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


class TokenService:
    def __init__(self, signing_key: str, issuer: str, ttl_seconds: int) -> None:
        self._key = signing_key
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        # A bank sends the same token for up to an hour: remember what verified, until it expires.
        self._verified: dict[str, tuple[float, Principal]] = {}

    def issue(self, client_id: str, scopes: frozenset, now: datetime, credential_version: int = 1) -> IssuedToken:
        scope = format_scopes(scopes)
        claims = {
            "iss": self.issuer,
            "sub": client_id,
            "scope": scope,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
            "ver": credential_version,  # the guard refuses it once the client's version moved on
        }
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), self.ttl_seconds, scope)

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[0] - LEEWAY_SECONDS:
                return cached[1]
            self._verified.pop(token, None)
        principal, expires = self._decode(token)
        if len(self._verified) >= 4096:
            self._verified.clear()
        self._verified[token] = (expires, principal)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "scope", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token expired") from None
        except jwt.InvalidSignatureError:
            raise TokenError("token signature is not valid") from None
        except jwt.PyJWTError as exc:
            raise TokenError(f"token is not valid: {exc}") from None
        # Lifetime capped here too: a token signed with the key but living longer than this
        # service issues them (a leaked key, a forged exp) is refused.
        issued, expires = int(claims["iat"]), int(claims["exp"])
        if expires - issued > self.ttl_seconds + LEEWAY_SECONDS or issued > time.time() + LEEWAY_SECONDS:
            raise TokenError("token lifetime is not one this service issues")
        try:
            scopes = parse_scopes(str(claims["scope"]))
        except DomainError:
            raise TokenError("token carries an unknown scope") from None
        version = claims.get("ver", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise TokenError("token carries a malformed credential version")
        principal = Principal(client_id=str(claims["sub"]), scopes=scopes, token_id=str(claims["jti"]),
                              credential_version=version)  # fmt: skip
        return principal, float(expires)
