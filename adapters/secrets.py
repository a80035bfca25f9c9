"""Client secrets are stored as Argon2id hashes and checked in constant time.

The parameters are OWASP's Argon2id recommendation (19 MiB of memory, 2 passes, 1 lane): still
memory-hard for a guesser, and about 20 ms per check here instead of 100-700 ms with the
library's defaults (64 MiB, 3 passes, 4 lanes), so a token request stays well under 100 ms.
The secrets are machine secrets of 12 characters or more, never a person's password. A hash
made with other parameters (the defaults, before) is replaced at the next right secret.
Nothing is hashed at import: a cold worker starts without paying for it.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TIME_COST, MEMORY_KIB, LANES = 2, 19456, 1
_hasher = PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=LANES)
# Checked when the client id is unknown, so an unknown id costs as much as a wrong secret. The hash
# of a random string nobody kept, made with the same parameters (a test keeps them in step).
DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$Yl/dpyFGM1eLMMyXxLX76Q$nQFLKeHoJ7jwyAxf15c5P5b72O8MmPbE4tqoB7wBRuM"


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash or DUMMY_HASH, secret) and secret_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(secret_hash: str) -> bool:
    """A stored hash made with other parameters than today's (replace it after a right secret)."""
    try:
        return _hasher.check_needs_rehash(secret_hash)
    except InvalidHashError:
        return False
