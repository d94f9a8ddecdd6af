"""ASGI middleware around every HTTP request: a request id, latency metrics and the access log.

The request id is the client's `X-Request-Id` when it is sane (1-128 letters, digits, `.`, `_`,
`-`: it is echoed in a header and written to logs, so nothing else is accepted), otherwise a new
random one; either way it is returned in `X-Request-Id`. Handlers that know the project a request
is for set `request.state.project_id`; it appears in the access log, with the client's address as
Services.client_address tells it (the forwarded one from a trusted proxy).

Access lines are logged at INFO by the `videoinsights.access` logger; with the text format the
server lowers that logger to WARNING unless the level is debug (web/server.py), so a terminal
stays quiet while JSON logs get a line per request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from videoinsights.logs import REQUEST_ID
from videoinsights.web.metrics import Metrics

access_log = logging.getLogger("videoinsights.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UNMATCHED = "unmatched"


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template (bounded label set), set in the scope by Starlette's router.

    A request answered before routing (a 413 or 431 of web/body_limits.py) is matched here."""
    route = scope.get("route")
    if route is None:
        for candidate in getattr(scope.get("app"), "routes", ()):
            if candidate.matches(scope)[0] is Match.FULL:
                route = candidate
                break
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _client(scope: Scope) -> str:
    """The client's address as throttling sees it (X-Forwarded-For believed from trusted proxies only)."""
    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    if services is not None:
        return str(services.client_address(scope))
    peer = scope.get("client")
    return peer[0] if peer else "-"


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(scope)
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe_request(route, scope["method"], status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                project = scope.get("state", {}).get("project_id")
                access_log.info(
                    "%s %s %d %.1f ms", scope["method"], scope["path"], status, seconds * 1000,
                    extra={"method": scope["method"], "path": scope["path"], "route": route, "status": status,
                           "duration_ms": round(seconds * 1000, 3), "project": project, "request_id": rid,
                           "client": _client(scope)},
                )
            REQUEST_ID.reset(token)
