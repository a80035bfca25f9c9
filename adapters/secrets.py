"""Client secrets are stored as Argon2id hashes and checked in constant time."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Checked when the client id is unknown, so an unknown id costs as much as a wrong secret.
_DUMMY_HASH = _hasher.hash("dummy-secret-for-unknown-clients")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
