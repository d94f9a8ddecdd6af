"""Every SQL statement about dashboard accounts, grants and login sessions, in ClickHouse SQL: the same
functions and results as store/duckdb/accounts.py. The tables are versioned (store/clickhouse/versioned.py):
an update or delete reads the current rows (FINAL) and inserts their next version. A "first writer wins"
(`put_meta_if_absent`) or "only if absent" (`grant_project`) check and its insert are two statements:
they are exact within a process (writes run on its writer thread), not between processes.
"""

from __future__ import annotations

from typing import Any

from videoinsights.accounts.model import Account, GrantedProject, LoginSession
from videoinsights.store.clickhouse.versioned import put

Cursor = Any  # a store/clickhouse/client.py Client

_ACCOUNT_COLUMNS = ("account_id", "email", "password_hash", "created_at")
_SESSION_COLUMNS = ("session_hash", "account_id", "csrf_token", "project_id", "created_at", "expires_at")

# -- accounts ----------------------------------------------------------------


def insert_account(cur: Cursor, account: Account) -> None:
    put(cur, "accounts", dict(zip(_ACCOUNT_COLUMNS, (account.account_id, account.email, account.password_hash,
                                                     account.created_at), strict=True)))


def account_by_email(cur: Cursor, email: str) -> Account | None:
    rows = cur.query_rows(f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts FINAL WHERE email = {{e:String}} "
                          "ORDER BY created_at LIMIT 1", {"e": email})
    return Account(*rows[0]) if rows else None


def list_accounts(cur: Cursor) -> list[tuple[Account, list[str]]]:
    """Every account with the ids of the projects it was granted."""
    rows = cur.query_rows(
        "SELECT a.account_id, a.email, a.password_hash, a.created_at, "
        "arraySort(groupArrayIf(g.project_id, g.project_id IS NOT NULL)) "
        "FROM (SELECT * FROM accounts FINAL) a LEFT JOIN (SELECT * FROM account_projects FINAL) g "
        "ON g.account_id = a.account_id GROUP BY a.account_id, a.email, a.password_hash, a.created_at "
        "ORDER BY a.created_at SETTINGS join_use_nulls = 1")
    return [(Account(*r[:4]), list(r[4])) for r in rows]


def _account(cur: Cursor, account_id: str) -> tuple[Any, ...] | None:
    rows = cur.query_rows(f"SELECT {', '.join(_ACCOUNT_COLUMNS)} FROM accounts FINAL "
                          "WHERE account_id = {a:String}", {"a": account_id})
    return rows[0] if rows else None


def set_password_hash(cur: Cursor, account_id: str, password_hash: str) -> None:
    row = _account(cur, account_id)
    if row is not None:
        put(cur, "accounts", {**dict(zip(_ACCOUNT_COLUMNS, row, strict=True)), "password_hash": password_hash})


# -- grants --------------------------------------------------------------------

def _granted(cur: Cursor, account_id: str, project_id: str) -> bool:
    return bool(cur.query_rows("SELECT 1 FROM account_projects FINAL WHERE account_id = {a:String} "
                               "AND project_id = {p:String}", {"a": account_id, "p": project_id}))


def grant_project(cur: Cursor, account_id: str, project_id: str, at_ms: int) -> bool:
    """Let the account see the project. False when it already could."""
    if _granted(cur, account_id, project_id):
        return False
    put(cur, "account_projects", {"account_id": account_id, "project_id": project_id, "granted_at": at_ms})
    return True


def revoke_project(cur: Cursor, account_id: str, project_id: str) -> bool:
    if not _granted(cur, account_id, project_id):
        return False
    put(cur, "account_projects", {"account_id": account_id, "project_id": project_id}, deleted=True)
    return True


def granted_projects(cur: Cursor, account_id: str) -> list[GrantedProject]:
    """The projects (still existing) the account may see, by name."""
    rows = cur.query_rows(
        "SELECT p.project_id, p.name, p.advanced_insights FROM (SELECT project_id FROM account_projects FINAL "
        "WHERE account_id = {a:String}) g JOIN (SELECT project_id, name, advanced_insights FROM projects FINAL) p "
        "ON p.project_id = g.project_id ORDER BY lower(p.name), p.project_id", {"a": account_id})
    return [GrantedProject(*r) for r in rows]


# -- login sessions --------------------------------------------------------------

def insert_session(cur: Cursor, s: LoginSession) -> None:
    put(cur, "login_sessions", dict(zip(_SESSION_COLUMNS, (s.session_hash, s.account_id, s.csrf_token, s.project_id,
                                                           s.created_at, s.expires_at), strict=True)))


def session_by_hash(cur: Cursor, session_hash: str, now_ms: int) -> LoginSession | None:
    """The unexpired login with this id hash, with its account's email."""
    rows = cur.query_rows(
        "SELECT s.session_hash, s.account_id, a.email, s.csrf_token, s.project_id, s.created_at, s.expires_at "
        "FROM (SELECT * FROM login_sessions FINAL WHERE session_hash = {h:String} AND expires_at > {now:Int64}) s "
        "JOIN (SELECT account_id, email FROM accounts FINAL) a ON a.account_id = s.account_id",
        {"h": session_hash, "now": now_ms})
    return LoginSession(*rows[0]) if rows else None


def _sessions(cur: Cursor, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = cur.query_rows(f"SELECT {', '.join(_SESSION_COLUMNS)} FROM login_sessions FINAL WHERE {where}", params)
    return [dict(zip(_SESSION_COLUMNS, r, strict=True)) for r in rows]


def set_session_project(cur: Cursor, session_hash: str, project_id: str) -> None:
    for row in _sessions(cur, "session_hash = {h:String}", {"h": session_hash}):
        put(cur, "login_sessions", {**row, "project_id": project_id})


def _delete_sessions(cur: Cursor, where: str, params: dict[str, Any]) -> int:
    rows = _sessions(cur, where, params)
    for row in rows:
        put(cur, "login_sessions", {"session_hash": row["session_hash"]}, deleted=True)
    return len(rows)


def delete_session(cur: Cursor, session_hash: str) -> None:
    _delete_sessions(cur, "session_hash = {h:String}", {"h": session_hash})


def delete_account_sessions(cur: Cursor, account_id: str) -> int:
    """Log the account out everywhere (after a password change)."""
    return _delete_sessions(cur, "account_id = {a:String}", {"a": account_id})


def delete_expired_sessions(cur: Cursor, now_ms: int) -> int:
    return _delete_sessions(cur, "expires_at <= {now:Int64}", {"now": now_ms})


# -- the cookie-signing secret -----------------------------------------------------

def meta_value(cur: Cursor, key: str) -> str | None:
    rows = cur.query_rows("SELECT value FROM meta FINAL WHERE key = {k:String}", {"k": key})
    return str(rows[0][0]) if rows else None


def put_meta_if_absent(cur: Cursor, key: str, value: str) -> str:
    """Store value under key unless one is there; return the stored value (first writer wins in a process)."""
    stored = meta_value(cur, key)
    if stored is None:
        put(cur, "meta", {"key": key, "value": value})
        stored = meta_value(cur, key)
    assert stored is not None
    return stored
