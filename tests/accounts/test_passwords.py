"""Password hashing: argon2id, verification, refusals."""

from __future__ import annotations

import pytest

from videoinsights.accounts.model import AccountError, normalize_email
from videoinsights.accounts.passwords import hash_password, is_password_hash, needs_rehash, verify_password


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$argon2id$") and is_password_hash(first)
    assert first != second  # a random salt each time
    assert verify_password(first, "correct horse")
    assert not verify_password(first, "correct horsE")
    assert not verify_password("not a hash", "correct horse")
    assert not needs_rehash(first)


def test_short_passwords_and_bad_emails_are_refused() -> None:
    with pytest.raises(AccountError, match="at least 8"):
        hash_password("short")
    with pytest.raises(AccountError, match="not an email"):
        normalize_email("nobody")
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"
