"""The account vocabulary shared by the store, the CLI operations and the web pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class AccountError(ValueError):
    """An account operation was refused; the message says why."""


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively: store them lower-cased and trimmed."""
    value = email.strip().lower()
    if not _EMAIL.fullmatch(value) or len(value) > 254:
        raise AccountError(f"not an email address: {email!r}")
    return value


@dataclass(frozen=True)
class Account:
    account_id: str
    email: str
    password_hash: str
    created_at: int


@dataclass(frozen=True)
class GrantedProject:
    """A project an account may see, with what the project switcher shows."""

    project_id: str
    name: str
    advanced_insights: bool


@dataclass(frozen=True)
class LoginSession:
    """A browser login: who, which project is selected, and the CSRF token of its forms."""

    session_hash: str
    account_id: str
    email: str
    csrf_token: str
    project_id: str | None
    created_at: int
    expires_at: int
