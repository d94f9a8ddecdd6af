"""Who is logged in: the signed session cookie, resolved to an account and its projects.

The cookie holds a random login id signed with a secret from the database
(itsdangerous); the server keeps only the id's SHA-256 in `login_sessions`,
so logging out, or changing a password, ends a login for real. Lookups are
cached for a couple of seconds: the dashboard sends bursts of queries.

For /graphql (wired in web/graphql.py): `logged_in_projects(request)` and
`csrf_ok(request)`. Browser requests carry the CSRF token of the login in
the `X-CSRF-Token` header; forms carry it in a `csrf` field.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from itsdangerous import BadSignature
from starlette.requests import HTTPConnection

from videoinsights.accounts.model import GrantedProject, LoginSession
from videoinsights.web.pages.state import LOGIN_TTL_S, now_ms, pages_state, services

COOKIE = "vi_session"
CSRF_HEADER = "x-csrf-token"
CACHE_TTL_S = 2.0
_MAX_CACHED = 10_000


@dataclass(frozen=True)
class Login:
    """A valid login: the session row plus the projects the account may see now."""

    session: LoginSession
    projects: tuple[GrantedProject, ...]

    @property
    def email(self) -> str:
        return self.session.email

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def project_ids(self) -> frozenset[str]:
        return frozenset(p.project_id for p in self.projects)

    def project(self, project_id: str | None) -> GrantedProject | None:
        return next((p for p in self.projects if p.project_id == project_id), None)


def hash_login_id(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()


def _session_hash(conn: HTTPConnection) -> str | None:
    """The login id hash from a cookie with a valid signature and age, else None."""
    value = conn.cookies.get(COOKIE)
    if not value:
        return None
    try:
        login_id = pages_state(conn).signer.loads(value, max_age=LOGIN_TTL_S)
    except BadSignature:
        return None
    return hash_login_id(login_id) if isinstance(login_id, str) else None


def _load(conn: HTTPConnection, session_hash: str) -> Login | None:
    store = services(conn).store
    cur, sql = store.reader(), store.sql.accounts
    session = sql.session_by_hash(cur, session_hash, now_ms())
    if session is None:
        return None
    return Login(session, tuple(sql.granted_projects(cur, session.account_id)))


def current_login(conn: HTTPConnection) -> Login | None:
    """The request's login, or None (no cookie, bad signature, expired, logged out)."""
    if "login" in conn.scope.setdefault("state", {}):
        return conn.scope["state"]["login"]  # type: ignore[no-any-return]
    login: Login | None = None
    session_hash = _session_hash(conn)
    if session_hash is not None:
        cache = pages_state(conn).logins
        entry = cache.get(session_hash)
        if entry is not None and time.monotonic() - entry[0] < CACHE_TTL_S:
            login = entry[1]  # type: ignore[assignment]
        else:
            login = _load(conn, session_hash)
            if len(cache) > _MAX_CACHED:
                cache.clear()
            cache[session_hash] = (time.monotonic(), login)
    conn.scope["state"]["login"] = login
    return login


def forget_login(conn: HTTPConnection, session_hash: str) -> None:
    """Drop a cached login after it changed (logout, project switch)."""
    pages_state(conn).logins.pop(session_hash, None)
    conn.scope.setdefault("state", {}).pop("login", None)


def logged_in_projects(request: HTTPConnection) -> frozenset[str] | None:
    """None without a valid login; else the ids of the projects the account was granted."""
    login = current_login(request)
    return None if login is None else login.project_ids


def token_matches(login: Login | None, supplied: str | None) -> bool:
    return bool(login and supplied) and hmac.compare_digest(login.csrf_token.encode(), supplied.encode())  # type: ignore[union-attr]


def csrf_ok(request: HTTPConnection) -> bool:
    """True when the request carries its login's CSRF token in the X-CSRF-Token header."""
    return token_matches(current_login(request), request.headers.get(CSRF_HEADER))
