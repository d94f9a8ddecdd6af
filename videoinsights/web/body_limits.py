"""Request size limits for every route, enforced once, before any handler buffers a body.

A pure ASGI middleware: it refuses a declared `Content-Length` above the
route's limit at once, and counts the bytes of the `http.request` messages a
handler reads (chunked bodies included), so reading stops at the limit and
the answer is 413 whatever the handler was doing. It also refuses requests
with too many header lines (431); their total size is bounded earlier, in the
HTTP protocol (web/http_protocol.py), where an oversized header is still
being received.

Limits by route class: ingestion (`/v1/events`, every `/v1/projects/*/callbacks/*`) allows
`settings.max_body_bytes`, `/graphql` `settings.max_graphql_body_bytes`, and
everything else (login, logout, forms, admin) `FORM_BODY_BYTES`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from videoinsights.settings import Settings
from videoinsights.web.responses import JSONResponse, error_response

FORM_BODY_BYTES = 64 * 1024
MAX_HEADER_COUNT = 100


class BodyTooLarge(Exception):
    """Raised into the handler that read past its route's limit; the middleware answers 413."""


def body_limit(path: str, settings: Settings) -> int:
    """The largest body accepted on `path`."""
    if path == "/v1/events" or (path.startswith("/v1/projects/") and "/callbacks/" in path):
        return settings.max_body_bytes
    if path == "/graphql":
        return settings.max_graphql_body_bytes
    return FORM_BODY_BYTES


def too_large_response(path: str, limit: int) -> JSONResponse:
    """413 in the REST error shape; /graphql answers carry the GraphQL `errors` array too."""
    message = f"The body is larger than {limit} bytes."
    extra = {"errors": [{"message": message, "extensions": {"code": 1004}}]} if path == "/graphql" else {}
    # no "Connection: close": closing while the client still sends would reset the connection and
    # lose this answer; uvicorn reads and drops the rest of the body instead
    return error_response(413, message, 1004, **extra)


class RequestLimits:
    """Wraps the app: 431 for too many header lines, 413 for bodies over the route's limit."""

    def __init__(self, app: ASGIApp, settings: Settings, max_header_count: int = MAX_HEADER_COUNT) -> None:
        self.app = app
        self.settings = settings
        self.max_header_count = max_header_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope["headers"]) > self.max_header_count:
            response = error_response(431, f"More than {self.max_header_count} header lines.")
            await response(scope, receive, send)
            return
        path = scope["path"]
        limit = body_limit(path, self.settings)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await too_large_response(path, limit)(scope, receive, send)
            return
        await _Guard(self.app, limit, path)(scope, receive, send)


class _Guard:
    """One request: counts body bytes as the handler receives them."""

    def __init__(self, app: ASGIApp, limit: int, path: str) -> None:
        self.app = app
        self.limit = limit
        self.path = path
        self.received = 0
        self.exceeded = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if self.exceeded:
                return  # the handler's own answer to the exception (e.g. a 500) is replaced by the 413
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.exceeded:
                raise
        if self.exceeded and not self.started:
            await too_large_response(self.path, self.limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
