"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile).

Verification costs tens of milliseconds on purpose; callers in the web app run
it in the thread pool. Unknown emails are checked against a dummy hash so a
login answer takes as long whether or not the account exists.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from videoinsights.accounts.model import AccountError

MIN_LENGTH = 8
_HASHER = PasswordHasher()


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AccountError(f"a password needs at least {MIN_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's defaults."""
    return _HASHER.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("not a real password, used to equalize timing")


def burn_verification(password: str) -> None:
    """Spend the time of one verification, for logins with an unknown email."""
    verify_password(_dummy_hash(), password)


def is_password_hash(value: str) -> bool:
    """Whether `value` looks like a hash this module made (admin ops accept only hashes)."""
    return value.startswith("$argon2id$")
