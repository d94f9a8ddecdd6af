"""Who may POST /v1/events, and the browser side of it: client keys, ingest tokens, CORS.

Three kinds of callers send events:

* the app's server with a project token (X-OPENTOK-AUTH) or an application
  token: any event type, any session; browsers only from `cors_origins`;
* a browser with a client key (`X-VideoInsights-Key` or `?key=`): client event
  types only, from the key's origins, rate-limited per key and per address;
* a browser with an ingest token (`X-OPENTOK-AUTH` or `?token=`): client event
  types of its one session only, from `cors_origins` or the origins of the
  project's client keys, rate-limited per token session and per address.

A request breaking these rules is refused whole (403), so nothing of it is
written. Browser events without a country get one from the client address
(ingest/geolocate.py); the address is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from videoinsights.auth.client_keys import CLIENT_EVENT_TYPES
from videoinsights.auth.tokens import AuthError, authenticate
from videoinsights.domain.events import EVENT_TYPES
from videoinsights.web.ratelimit import rate_limited_response
from videoinsights.web.responses import error_response
from videoinsights.web.services import Services

KEY_HEADER = "x-videoinsights-key"
ALLOWED_HEADERS = "content-type, x-videoinsights-key, x-opentok-auth, authorization"
PREFLIGHT_MAX_AGE_S = 600
# Event types whose endpoint fields include the location (connections and attempts).
_LOCATED_TYPES = frozenset(t.name for t in EVENT_TYPES.values() if "country" in t.optional)


@dataclass(frozen=True)
class Caller:
    """The authenticated sender of a POST /v1/events request."""

    project_id: str
    kind: str  # "project" | "application" | "client_key" | "ingest_token"
    session_id: str = ""  # ingest tokens: their one session
    origin_allowed: bool = False  # may the request's Origin read the answer (CORS)?

    @property
    def browser(self) -> bool:
        return self.kind in ("client_key", "ingest_token")

    @property
    def what(self) -> str:
        return "client key" if self.kind == "client_key" else "ingest token"


def _server_origin_allowed(services: Services, origin: str | None) -> bool:
    origins = {o.strip().rstrip("/") for o in services.settings.cors_origins.split(",") if o.strip()}
    return origin is not None and (origin in origins or "*" in origins)


def _limit(services: Services, request: Request, rate_key: str, what: str) -> Response | None:
    wait = services.limits.client_key.check(rate_key)
    if wait:
        return rate_limited_response(wait, what)
    wait = services.limits.client_address.check(services.client_address(request.scope))
    return rate_limited_response(wait, "address") if wait else None


def identify(request: Request, services: Services) -> Caller | Response:
    """Authenticate a POST /v1/events request, check its origin and its rate limits."""
    origin = request.headers.get("origin")
    key = request.headers.get(KEY_HEADER) or request.query_params.get("key")
    if key:
        client_key = services.client_keys.get(key.strip())
        if client_key is None:
            # Echo the origin: reading "unknown or revoked" tells a browser collector to stop, and leaks nothing.
            return with_cors(error_response(401, "Unknown or revoked client key.", 1011), origin)
        if not client_key.allows_origin(origin):
            return error_response(403, f"This client key does not allow the origin {origin}.", 1001)
        refused = _limit(services, request, client_key.key_hash, "client key")
        caller = Caller(client_key.project_id, "client_key", origin_allowed=origin is not None)
        return with_cors(refused, origin) if refused else caller
    headers: Any = request.headers
    token = request.query_params.get("token")
    if token and "x-opentok-auth" not in headers:
        headers = {"x-opentok-auth": token}
    try:
        ctx = authenticate(headers, services.projects.get, services.settings.clock_skew_s, allow_ingest=True)
    except AuthError as exc:
        return with_cors(error_response(401, exc.message, exc.code), origin)
    if token and not ctx.session_id:
        return error_response(401, "Only ingest tokens may travel in the URL (?token=); send this one in a header.",
                              1001)
    if not ctx.session_id:
        return Caller(ctx.project_id, ctx.kind, origin_allowed=_server_origin_allowed(services, origin))
    allowed = origin is None or _server_origin_allowed(services, origin) or services.client_keys.any_allows(
        origin, ctx.project_id)
    if not allowed:
        return error_response(403, f"Ingest tokens of this project are not allowed from the origin {origin}.", 1001)
    refused = _limit(services, request, f"ingest:{ctx.project_id}:{ctx.session_id}", "ingest token")
    caller = Caller(ctx.project_id, "ingest_token", ctx.session_id, origin_allowed=origin is not None)
    return with_cors(refused, origin) if refused else caller


def refuse_events(caller: Caller, events: list[Any]) -> Response | None:
    """403 for the whole request if a browser caller sent what it may not (nothing is written)."""
    if not caller.browser:
        return None
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            continue  # validation rejects it as an event
        kind = event.get("type")
        if kind in EVENT_TYPES and kind not in CLIENT_EVENT_TYPES:
            return error_response(403, f"Event {index}: a {caller.what} may not send {kind} events (only "
                                       f"{', '.join(sorted(CLIENT_EVENT_TYPES))}); nothing was written.", 1001)
        if caller.session_id and event.get("sessionId") != caller.session_id:
            return error_response(403, f"Event {index}: this ingest token is for session {caller.session_id} only; "
                                       "nothing was written.", 1001)
    return None


def locate_events(services: Services, request: Request, caller: Caller, events: list[Any]) -> None:
    """Fill country/region/city of browser connection and attempt events that carry no country."""
    if not caller.browser:
        return
    wanting = [e for e in events if isinstance(e, dict) and e.get("type") in _LOCATED_TYPES and not e.get("country")]
    if not wanting:
        return
    place = services.geo.locate(services.client_address(request.scope))
    if place is None:
        return
    fields = place.as_fields()
    for event in wanting:
        for name, value in fields.items():
            event.setdefault(name, value)


def with_cors(response: Response, origin: str | None) -> Response:
    """Let the browser at `origin` read this answer."""
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.append("Vary", "Origin")
    return response


async def options_events(request: Request) -> Response:
    """The CORS preflight of POST /v1/events: allowed for the origins of active client keys and `cors_origins`.

    The preflight carries no credentials, so the actual POST is checked again against its own key or token."""
    services: Services = request.app.state.services
    origin = request.headers.get("origin")
    if origin is None or "access-control-request-method" not in request.headers:
        return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})
    if not (_server_origin_allowed(services, origin) or services.client_keys.any_allows(origin)):
        return error_response(403, f"The origin {origin} may not send events here.", 1001)
    return with_cors(Response(status_code=204, headers={
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
    }), origin)
