"""GET/POST /login and POST /logout.

The login form is protected against login CSRF with a double-submit token (a
cookie scoped to /login plus a hidden field). A successful login starts a new
server-side session (a fresh random id: no fixation) and sets the signed,
HTTP-only, SameSite=Lax cookie.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from videoinsights.accounts.model import AccountError, LoginSession, normalize_email
from videoinsights.accounts.passwords import burn_verification, hash_password, needs_rehash, verify_password
from videoinsights.web.pages import render
from videoinsights.web.pages.forms import read_form, safe_next, same_origin
from videoinsights.web.pages.session_auth import (
    COOKIE,
    current_login,
    forget_login,
    hash_login_id,
    token_matches,
)
from videoinsights.web.pages.state import LOGIN_TTL_S, now_ms, pages_state, services, write

PRELOGIN_COOKIE = "vi_login"
log = logging.getLogger(__name__)


def _login_page(request: Request, next_: str, message: str = "", email: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    notice = f'<p class="notice error" role="alert">{message}</p>' if message else ""
    body = render.fill("login.html", raw={"message": notice}, csrf=token, next=next_, email=email,
                       version=render.asset_version())
    response = render.page(body, status)
    response.set_cookie(PRELOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def get_login(request: Request) -> Response:
    next_ = safe_next(request.query_params.get("next"))
    if current_login(request) is not None:
        return RedirectResponse(next_, status_code=303)
    return _login_page(request, next_)


def _prelogin_ok(request: Request, form: dict[str, str]) -> bool:
    cookie, field = request.cookies.get(PRELOGIN_COOKIE, ""), form.get("csrf", "")
    return bool(cookie and field) and hmac.compare_digest(cookie.encode(), field.encode()) and same_origin(request)


async def post_login(request: Request) -> Response:
    form = await read_form(request)
    next_ = safe_next(form.get("next"))
    raw_email = form.get("email", "")[:254]
    if not _prelogin_ok(request, form):
        return _login_page(request, next_, "The sign-in form expired. Please try again.", raw_email, 403)
    password = form.get("password", "")[:1024]
    address = services(request).client_address(request.scope)
    state = pages_state(request)
    try:
        email = normalize_email(raw_email)
    except AccountError:
        email = raw_email.strip().lower()
    # reserve a failure slot before verifying, so concurrent guesses can't all pass the check
    stamp = state.throttle.reserve(address, email)
    if stamp is None:
        log.warning("login throttled for %r from %s", email, address)
        return _login_page(request, next_, "Too many failed sign-ins. Wait a few minutes and try again.",
                           raw_email, 429)
    store = services(request).store
    account = store.sql.accounts.account_by_email(store.reader(), email)
    async with state.hashing:
        if account is None:
            await run_in_threadpool(burn_verification, password)
            verified = False
        else:
            verified = await run_in_threadpool(verify_password, account.password_hash, password)
    if account is None or not verified:
        log.info("failed login for %r from %s", email, address)
        return _login_page(request, next_, "Wrong email or password.", raw_email, 401)
    state.throttle.succeeded(address, email, stamp)
    rehashed = None
    if needs_rehash(account.password_hash):
        async with state.hashing:
            rehashed = await run_in_threadpool(hash_password, password)

    login_id = secrets.token_urlsafe(32)
    now = now_ms()
    projects = store.sql.accounts.granted_projects(store.reader(), account.account_id)
    session = LoginSession(hash_login_id(login_id), account.account_id, account.email, secrets.token_urlsafe(32),
                           projects[0].project_id if projects else None, now, now + LOGIN_TTL_S * 1000)

    def start(store: Any) -> None:
        cur, sql = store.reader(), store.sql.accounts
        sql.delete_expired_sessions(cur, now)
        sql.insert_session(cur, session)
        if rehashed:
            sql.set_password_hash(cur, account.account_id, rehashed)

    await write(request, start)
    response = RedirectResponse(next_, status_code=303)
    response.set_cookie(COOKIE, pages_state(request).signer.dumps(login_id), max_age=LOGIN_TTL_S, path="/",
                        httponly=True, samesite="lax", secure=request.url.scheme == "https")
    response.delete_cookie(PRELOGIN_COOKIE, path="/login")
    return response


async def post_logout(request: Request) -> Response:
    form = await read_form(request)
    login = current_login(request)
    if login is not None:
        if not (token_matches(login, form.get("csrf")) and same_origin(request)):
            return render.page("<!doctype html><title>Refused</title><p>Refused: missing or wrong CSRF token.</p>", 403)
        session_hash = login.session.session_hash
        await write(request, lambda store: store.sql.accounts.delete_session(store.reader(), session_hash))
        forget_login(request, session_hash)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
