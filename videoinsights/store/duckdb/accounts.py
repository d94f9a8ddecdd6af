"""Every SQL statement about dashboard accounts, grants and login sessions (DuckDB).

Functions take a cursor and fetch every result (an unconsumed result keeps a
read transaction open). Writes must run on the writer thread (through
`Writer.call`) or on a store no server owns (the offline CLI); reads may use
any thread's `store.reader()`.
"""

from __future__ import annotations

from typing import Any

from videoinsights.accounts.model import Account, GrantedProject, LoginSession

Cursor = Any  # a DuckDB connection or cursor

_ACCOUNT_COLUMNS = "account_id, email, password_hash, created_at"

# -- accounts ----------------------------------------------------------------


def insert_account(cur: Cursor, account: Account) -> None:
    cur.execute(f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?)",
                [account.account_id, account.email, account.password_hash, account.created_at])


def account_by_email(cur: Cursor, email: str) -> Account | None:
    rows = cur.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE email = ?", [email]).fetchall()
    return Account(*rows[0]) if rows else None


def list_accounts(cur: Cursor) -> list[tuple[Account, list[str]]]:
    """Every account with the ids of the projects it was granted."""
    rows = cur.execute("""
SELECT a.account_id, a.email, a.password_hash, a.created_at,
       coalesce(list(g.project_id ORDER BY g.project_id) FILTER (WHERE g.project_id IS NOT NULL), [])
FROM accounts a LEFT JOIN account_projects g USING (account_id)
GROUP BY ALL ORDER BY a.created_at""").fetchall()
    return [(Account(*r[:4]), list(r[4])) for r in rows]


def set_password_hash(cur: Cursor, account_id: str, password_hash: str) -> None:
    cur.execute("UPDATE accounts SET password_hash = ? WHERE account_id = ?", [password_hash, account_id])


# -- grants --------------------------------------------------------------------


def grant_project(cur: Cursor, account_id: str, project_id: str, at_ms: int) -> bool:
    """Let the account see the project. False when it already could."""
    rows = cur.execute("INSERT OR IGNORE INTO account_projects VALUES (?, ?, ?) RETURNING project_id",
                       [account_id, project_id, at_ms]).fetchall()
    return bool(rows)


def revoke_project(cur: Cursor, account_id: str, project_id: str) -> bool:
    rows = cur.execute("DELETE FROM account_projects WHERE account_id = ? AND project_id = ? RETURNING project_id",
                       [account_id, project_id]).fetchall()
    return bool(rows)


def granted_projects(cur: Cursor, account_id: str) -> list[GrantedProject]:
    """The projects (still existing) the account may see, by name."""
    rows = cur.execute("""
SELECT p.project_id, p.name, p.advanced_insights
FROM account_projects g JOIN projects p USING (project_id)
WHERE g.account_id = ? ORDER BY lower(p.name), p.project_id""", [account_id]).fetchall()
    return [GrantedProject(*r) for r in rows]


# -- login sessions --------------------------------------------------------------


def insert_session(cur: Cursor, s: LoginSession) -> None:
    cur.execute("INSERT INTO login_sessions VALUES (?, ?, ?, ?, ?, ?)",
                [s.session_hash, s.account_id, s.csrf_token, s.project_id, s.created_at, s.expires_at])


def session_by_hash(cur: Cursor, session_hash: str, now_ms: int) -> LoginSession | None:
    """The unexpired login with this id hash, with its account's email."""
    rows = cur.execute("""
SELECT s.session_hash, s.account_id, a.email, s.csrf_token, s.project_id, s.created_at, s.expires_at
FROM login_sessions s JOIN accounts a USING (account_id)
WHERE s.session_hash = ? AND s.expires_at > ?""", [session_hash, now_ms]).fetchall()
    return LoginSession(*rows[0]) if rows else None


def set_session_project(cur: Cursor, session_hash: str, project_id: str) -> None:
    cur.execute("UPDATE login_sessions SET project_id = ? WHERE session_hash = ?", [project_id, session_hash])


def delete_session(cur: Cursor, session_hash: str) -> None:
    cur.execute("DELETE FROM login_sessions WHERE session_hash = ?", [session_hash])


def delete_account_sessions(cur: Cursor, account_id: str) -> int:
    """Log the account out everywhere (after a password change)."""
    rows = cur.execute("DELETE FROM login_sessions WHERE account_id = ? RETURNING session_hash",
                       [account_id]).fetchall()
    return len(rows)


def delete_expired_sessions(cur: Cursor, now_ms: int) -> int:
    rows = cur.execute("DELETE FROM login_sessions WHERE expires_at <= ? RETURNING session_hash",
                       [now_ms]).fetchall()
    return len(rows)


# -- the cookie-signing secret -----------------------------------------------------


def meta_value(cur: Cursor, key: str) -> str | None:
    rows = cur.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return str(rows[0][0]) if rows else None


def put_meta_if_absent(cur: Cursor, key: str, value: str) -> str:
    """Store value under key unless one is there; return the stored value (first writer wins)."""
    cur.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", [key, value])
    stored = meta_value(cur, key)
    assert stored is not None
    return stored
