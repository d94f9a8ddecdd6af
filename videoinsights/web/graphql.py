"""POST /graphql: the Insights API over HTTP (GET answers browsers until the explorer lands).

Body: JSON `{query, variables, operationName}` (`variables` may also be a
JSON string), or the bare query with `Content-Type: application/graphql`.
Authentication failures answer HTTP 401 with both error shapes clients use:
a GraphQL `errors` array and a REST-style `error` object (the advanced
dashboard sample retries when `error.errorCode == 1001`).

Rate limits (when the app is built from the server's Services) come first:
per client address before anything else is read, per project once the token
is verified; past them the answer is 429 with `Retry-After` and, again, both
error shapes.

Queries execute on a pool of their own (`api_threads`, one per core and one): they read
DuckDB, which blocks, and a slow session query must not stall the event loop for
everyone else; a thread per waiting request instead (Starlette's pool of 40) spends
the CPU on turns at the interpreter lock. Repeats
are answered from a response cache keyed by the store's data version
(query/response_cache.py) without leaving the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import os
import time
from collections.abc import Callable
from concurrent.futures import Executor as ThreadPool
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from videoinsights.auth.cache import ProjectCache
from videoinsights.auth.tokens import DEFAULT_MAX_LIFETIME_S, AuthContext, AuthError, authenticate, login_context
from videoinsights.derive.wanted import WantedSessions
from videoinsights.query.executor import Executor, error_response
from videoinsights.query.response_cache import ResponseCache
from videoinsights.settings import Settings
from videoinsights.store.base import Store
from videoinsights.web.pages.session_auth import csrf_ok, logged_in_projects
from videoinsights.web.ratelimit import RATE_LIMITED_CODE, rate_limited_response
from videoinsights.web.services import RateLimits

_EXPLORER_NOTE = "The GraphQL explorer is served at / . Send queries to this URL with POST."
_CORS_HEADERS = ["authorization", "content-type", "x-opentok-auth"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def auth_failure(code: int, message: str) -> Response:
    entry = {"message": message, "errorCode": code, "extensions": {"code": code}}
    return _json({"errors": [entry], "error": {"errorCode": code, "message": message, "status": 401}}, 401)


def rate_limited(retry_after_s: float, what: str) -> Response:
    """429 with Retry-After, the REST `error` object and a GraphQL `errors` array (like auth_failure)."""
    response = rate_limited_response(retry_after_s, what)
    body = orjson.loads(response.body)
    message = body["error"]["message"]
    entry = {"message": message, "errorCode": RATE_LIMITED_CODE, "extensions": {"code": RATE_LIMITED_CODE}}
    limited = _json({"errors": [entry], **body}, 429)
    limited.headers["Retry-After"] = response.headers["Retry-After"]
    return limited


class VerifiedTokens:
    """Tokens verified in the last few seconds, so repeats skip the JWT checks (~0.1 ms each).

    An entry lives at most `ttl_s` (the staleness ProjectCache already allows
    for a rotated secret) and never past the token's own exp + leeway."""

    def __init__(self, project_cache: ProjectCache, leeway_s: int, ttl_s: float = 5.0,
                 max_entries: int = 10_000, max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S) -> None:
        self._projects = project_cache
        self._leeway = leeway_s
        self._max_lifetime = max_lifetime_s
        self._ttl = ttl_s
        self._max = max_entries
        self._entries: dict[tuple[str, str], tuple[AuthContext, float]] = {}

    def authenticate(self, headers: Any) -> AuthContext:
        key = (headers.get("x-opentok-auth", ""), headers.get("authorization", ""))
        now = time.time()
        hit = self._entries.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        auth = authenticate(headers, self._projects.get, self._leeway, self._max_lifetime)  # raises AuthError
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (auth, min(now + self._ttl, _expiry(key) + self._leeway))
        return auth


def _expiry(key: tuple[str, str]) -> float:
    """exp of the (already verified) token in the headers."""
    token = key[0] or key[1][7:]
    payload = token.strip().split(".")[1]
    return float(orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


class BadRequest(Exception):
    def __init__(self, message: str, code: int = 1004) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def parse_request(body: bytes, content_type: str) -> tuple[str, dict[str, Any] | None, str | None]:
    """-> (query, variables, operationName) from a POST body."""
    if content_type.startswith("application/graphql"):
        return body.decode("utf-8", "replace"), None, None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The body must be JSON: {\"query\": \"...\", \"variables\": {...}}.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise BadRequest("The JSON body must be an object with a string `query`.", 1013)
    variables = payload.get("variables")
    if isinstance(variables, str):
        try:
            variables = orjson.loads(variables) if variables.strip() else None
        except orjson.JSONDecodeError:
            raise BadRequest("`variables` must be a JSON object.") from None
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("`variables` must be a JSON object.")
    operation = payload.get("operationName")
    return payload["query"], variables, operation if isinstance(operation, str) and operation else None


def api_pool(settings: Settings) -> ThreadPoolExecutor:
    """The threads GraphQL queries execute on (setting api_threads; 0: one per core and one more, for a slow query
    to hold while each core still has one)."""
    threads = settings.api_threads or (os.cpu_count() or 1) + 1
    return ThreadPoolExecutor(threads, thread_name_prefix="videoinsights-api")


def graphql_app(store: Store, settings: Settings, project_cache: ProjectCache, *,
                clock: Callable[[], float] = time.time, limits: RateLimits | None = None,
                client_address: Callable[[Scope], str] | None = None, pool: ThreadPool | None = None,
                wanted: WantedSessions | None = None) -> ASGIApp:
    """The /graphql ASGI app (CORS included). Without `limits` (and the `client_address` of a
    request) nothing is rate limited. Queries run on `pool` (without: a pool of its own, api_pool). The sessions
    sessionData reads go to `wanted` (this process's derive loop: derive/wanted.py)."""
    executor = Executor(settings, store.reader, project_cache.get, clock, sql=store.sql,
                        want_derived=wanted.want if wanted is not None else None)
    threads = pool if pool is not None else api_pool(settings)
    cache = ResponseCache(lambda: getattr(store, "data_version", None), lambda: int(clock() * 1000))
    tokens = VerifiedTokens(project_cache, settings.clock_skew_s, max_lifetime_s=settings.max_token_lifetime_s)

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET":
            response = await _explorer_note(request)
        elif request.method == "POST":
            response = await _post(request)
        else:
            response = _json({"errors": [{"message": "Use POST."}]}, 405)
        await response(scope, receive, send)

    async def _post(request: Request) -> Response:
        if limits is not None and client_address is not None:
            wait = limits.address.check(client_address(request.scope))
            if wait > 0:
                return rate_limited(wait, "address")
        try:
            auth = browser_login(request) or tokens.authenticate(request.headers)
        except AuthError as exc:
            return auth_failure(exc.code, exc.message)
        if auth.project_id:
            request.state.project_id = auth.project_id  # for the access log
        if limits is not None and auth.kind != "login":  # a login is limited by its address
            wait = limits.project.check(auth.project_id)
            if wait > 0:
                return rate_limited(wait, "project")
        declared = request.headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > settings.max_body_bytes
        body = b"" if too_large else await request.body()
        if too_large or len(body) > settings.max_body_bytes:
            return _json(error_response(1004, f"The body is larger than {settings.max_body_bytes} bytes."), 413)
        try:
            query, variables, operation = parse_request(body, request.headers.get("content-type", ""))
        except BadRequest as exc:
            return _json(error_response(exc.code, exc.message), 400)
        key = cache.key(auth, query, variables, operation)
        payload = cache.get(key) if key is not None else None
        if payload is None:
            # the request's context (its id, for log records) goes along, as with Starlette's run_in_threadpool
            run = contextvars.copy_context().run
            result = await asyncio.get_running_loop().run_in_executor(threads, run, executor.run, auth, query,
                                                                      variables, operation)
            payload = orjson.dumps(result)
            if key is not None and "errors" not in result:
                cache.put(key, payload)
        return Response(payload, media_type="application/json")

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    return CORSMiddleware(endpoint, allow_origins=origins, allow_methods=["GET", "POST", "OPTIONS"],
                          allow_headers=_CORS_HEADERS, max_age=600)


def browser_login(request: Request) -> AuthContext | None:
    """A logged-in browser (explorer, dashboard) instead of a token: the session cookie plus
    its CSRF token in X-CSRF-Token. Requests with a token header always use the token."""
    if "x-opentok-auth" in request.headers or "authorization" in request.headers:
        return None
    granted = logged_in_projects(request)
    if granted is None:
        return None
    if not csrf_ok(request):
        raise AuthError(1001, "This login needs its CSRF token in the X-CSRF-Token header.")
    return login_context(granted)


async def _explorer_note(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(f"<!doctype html><title>Insights GraphQL</title><p>{_EXPLORER_NOTE}</p>"
                            '<p><a href="/">Open the explorer</a></p>')
    return _json({"message": _EXPLORER_NOTE})


def graphql_routes(store: Store, settings: Settings, project_cache: ProjectCache, *,
                   clock: Callable[[], float] = time.time) -> list[Route]:
    """Routes serving /graphql. `clock` (epoch seconds) is what "now" means for
    defaults and retention windows; tests pin it."""
    return [Route("/graphql", graphql_app(store, settings, project_cache, clock=clock),
                  methods=["GET", "POST", "OPTIONS"])]


def graphql_routes_from_state() -> list[Route]:
    """The same routes for an app whose store opens in its lifespan (web/app.py): the /graphql
    app is built on the first request from `app.state.services` (store, settings, projects)."""
    return [Route("/graphql", _FromState(), methods=["GET", "POST", "OPTIONS"])]


class _FromState:
    """An ASGI app (Starlette treats plain functions as request handlers) built lazily."""

    def __init__(self) -> None:
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            services = scope["app"].state.services
            derives_here = services.settings.derive_in_server
            self._app = graphql_app(services.store, services.settings, services.projects,
                                    limits=services.limits, client_address=services.client_address,
                                    wanted=services.writer.wanted if derives_here else None)
        await self._app(scope, receive, send)
