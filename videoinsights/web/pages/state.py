"""What the pages keep per running app: the cookie signer, a short-lived cache
of logins, and the login throttle. Created on first use, so app.py needs no
knowledge of it beyond mounting the routes."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import URLSafeTimedSerializer
from starlette.requests import HTTPConnection

from videoinsights.web.pages.throttle import LoginThrottle
from videoinsights.web.services import Services

SECRET_KEY = "pages.cookie_secret"
LOGIN_TTL_S = 12 * 3600
_lock = threading.Lock()


# argon2 verification allocates 64 MiB for tens of milliseconds: at most this many at once
CONCURRENT_HASHES = 2


@dataclass
class PagesState:
    signer: URLSafeTimedSerializer
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # held around every password hash or verification (memory bound; waiters wait on the event loop)
    hashing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENT_HASHES))
    # session hash -> (monotonic time fetched, Login or None); see session_auth.py
    logins: dict[str, tuple[float, object]] = field(default_factory=dict)


def services(conn: HTTPConnection) -> Services:
    return conn.app.state.services  # type: ignore[no-any-return]


def _cookie_secret(svc: Services) -> str:
    """The signing secret, kept in the database's meta table so logins survive restarts."""
    stored = svc.store.sql.accounts.meta_value(svc.store.reader(), SECRET_KEY)
    if stored is not None:
        return stored
    return svc.writer.call(ensure_cookie_secret).result(30)


def ensure_cookie_secret(store: Any) -> str:
    """The signing secret, written now if there is none (also by `store init` and `serve --workers` before its
    workers start: server processes that create it at their first login could race and sign with two)."""
    return store.sql.accounts.put_meta_if_absent(store.reader(), SECRET_KEY, secrets.token_urlsafe(48))


def pages_state(conn: HTTPConnection) -> PagesState:
    state = getattr(conn.app.state, "pages", None)
    if state is None:
        with _lock:
            state = getattr(conn.app.state, "pages", None)
            if state is None:
                signer = URLSafeTimedSerializer(_cookie_secret(services(conn)), salt="videoinsights.login")
                state = PagesState(signer)
                conn.app.state.pages = state
    return state


async def write(conn: HTTPConnection, fn: Callable[[Any], Any]) -> Any:
    """Run fn(store) on the writer thread and wait for it without blocking the event loop."""
    return await asyncio.wrap_future(services(conn).writer.call(fn))


def now_ms() -> int:
    return int(time.time() * 1000)
