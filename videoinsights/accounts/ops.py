"""Account administration: create, set a password, grant and revoke projects, list.

Like the project operations in videoinsights/ops.py, each takes the store and
JSON-able arguments and returns JSON-able data, so the CLI can run it on the
file or through a running server's writer thread. Passwords arrive already
hashed: the CLI hashes them, so no plain password crosses even the loopback.
"""

from __future__ import annotations

import functools
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from videoinsights.accounts.model import Account, AccountError, normalize_email
from videoinsights.accounts.passwords import hash_password, is_password_hash

DEMO_EMAIL = "demo@videoinsights.local"


def _cursor(store: Any) -> Any:
    """Account SQL runs on the calling thread's cursor: the writer thread's (or the offline CLI's)."""
    return store.reader()


def _require_hash(password_hash: str) -> None:
    if not is_password_hash(password_hash):
        raise AccountError("expected an argon2id password hash (the CLI hashes passwords)")


def _account(store: Any, email: str) -> Account:
    account = store.sql.accounts.account_by_email(_cursor(store), normalize_email(email))
    if account is None:
        raise AccountError(f"no account {email}")
    return account


def account_json(account: Account, projects: list[str]) -> dict[str, Any]:
    return {"accountId": account.account_id, "email": account.email, "createdAt": account.created_at,
            "projects": projects}


def create_account(store: Any, email: str, password_hash: str) -> dict[str, Any]:
    _require_hash(password_hash)
    email = normalize_email(email)
    cur = _cursor(store)
    if store.sql.accounts.account_by_email(cur, email) is not None:
        raise AccountError(f"account {email} already exists")
    account = Account(str(uuid.uuid4()), email, password_hash, int(time.time() * 1000))
    store.sql.accounts.insert_account(cur, account)
    return account_json(account, [])


def set_password(store: Any, email: str, password_hash: str) -> dict[str, Any]:
    """Replace the password and end the account's login sessions."""
    _require_hash(password_hash)
    account = _account(store, email)
    cur = _cursor(store)
    store.sql.accounts.set_password_hash(cur, account.account_id, password_hash)
    ended = store.sql.accounts.delete_account_sessions(cur, account.account_id)
    return {"email": account.email, "sessionsEnded": ended}


def grant_project(store: Any, email: str, project_id: str) -> dict[str, Any]:
    account = _account(store, email)
    project = store.get_project(str(project_id))
    if project is None:
        raise AccountError(f"no project {project_id}")
    added = store.sql.accounts.grant_project(_cursor(store), account.account_id, project.project_id,
                                             int(time.time() * 1000))
    return {"email": account.email, "projectId": project.project_id, "granted": added}


def revoke_project(store: Any, email: str, project_id: str) -> dict[str, Any]:
    account = _account(store, email)
    removed = store.sql.accounts.revoke_project(_cursor(store), account.account_id, str(project_id))
    return {"email": account.email, "projectId": str(project_id), "revoked": removed}


def list_accounts(store: Any) -> list[dict[str, Any]]:
    return [account_json(a, projects) for a, projects in store.sql.accounts.list_accounts(_cursor(store))]


def ensure_demo_account(store: Any, project_id: str) -> tuple[str, str]:
    """The demo login: create it (or give it a fresh password) and grant it the demo project.

    Called by `videoinsights demo` on a store it owns. A new random password
    each run, printed by the caller: a fixed one would be a known login on any
    demo server reachable from elsewhere."""
    password = secrets.token_urlsafe(12)
    password_hash = hash_password(password)
    if store.sql.accounts.account_by_email(_cursor(store), DEMO_EMAIL) is None:
        create_account(store, DEMO_EMAIL, password_hash)
    else:
        set_password(store, DEMO_EMAIL, password_hash)
    grant_project(store, DEMO_EMAIL, project_id)
    return DEMO_EMAIL, password


def _as_op(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Report refusals as OpError, which the CLI and the admin endpoint turn into a message."""
    @functools.wraps(fn)
    def op(store: Any, **args: Any) -> Any:
        from videoinsights.ops import OpError  # imported here: ops.py imports this module

        try:
            return fn(store, **args)
        except AccountError as exc:
            raise OpError(str(exc)) from None
    return op


ACCOUNT_OPS = {fn.__name__: _as_op(fn) for fn in (create_account, set_password, grant_project, revoke_project,
                                                   list_accounts)}
