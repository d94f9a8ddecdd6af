"""The OpenAPI 3.1 description of the HTTP endpoints, served at GET /openapi.json.

Built from the same sources as the server (the event JSON Schema, the
settings' limits), so it can't drift from them; tests/fuzz/test_rest_fuzz.py
fuzzes a real server with it and requires every answer to be one listed here.
The GraphQL API is described by its own schema (introspection); here it
appears only as an HTTP endpoint.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from videoinsights import __version__
from videoinsights.ingest.jsonschema import event_schema
from videoinsights.settings import Settings
from videoinsights.web.body_limits import FORM_BODY_BYTES, MAX_HEADER_COUNT
from videoinsights.web.responses import JSONResponse

_ERROR = {"$ref": "#/components/schemas/Error"}
_HTML = {"text/html": {"schema": {"type": "string"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _limits(settings: Settings, body_limit: int | None) -> dict[str, Any]:
    """The answers every route may give before its handler runs."""
    answers = {"431": {"$ref": "#/components/responses/HeadersTooLarge"}}
    if body_limit is not None:
        answers["413"] = _error(f"The body is larger than {body_limit} bytes (errorCode 1004).")
    return answers


def _rate_limited() -> dict[str, Any]:
    return {"429": {"$ref": "#/components/responses/RateLimited"}}


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The whole description, for this server's settings."""
    event = {k: v for k, v in event_schema().items() if k not in ("$schema", "$id")}
    token_auth = [{"opentok": []}, {"vonage": []}]
    ingest_answers = {
        "400": _error("Unreadable body, or no event accepted (errorCode 1022; the body lists each rejection)."),
        "401": _error("Missing (1001), malformed or expired (1011), or unverifiable (1020) token."),
        **_rate_limited(),
        "503": _error("The events could not be stored; nothing was written. Retry later (errorCode 1012)."),
        **_limits(settings, settings.max_body_bytes),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "videoinsights HTTP endpoints",
            "version": __version__,
            "description": "Ingestion, the Vonage callback, health, metrics and the login form. The Insights "
                           "API is GraphQL at POST /graphql (see its schema by introspection).",
        },
        "paths": {
            "/v1/events": {"post": {
                "operationId": "postEvents",
                "summary": "Ingest telemetry events: a JSON array of events, or NDJSON (one event per line). "
                           "Browsers: a client key or an ingest token (client event types only; docs/events.md).",
                "security": [*token_auth, {"clientKey": []}, {"clientKeyQuery": []}, {"ingestTokenQuery": []}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Event"},
                                                    "maxItems": settings.max_events_per_request}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                }},
                "responses": {
                    "200": {"description": "Every accepted event is committed; rejected events are listed.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
                    **ingest_answers,
                    "403": _error("A client key or ingest token sent an event type or session it may not, or from "
                                  "an origin it does not allow; nothing was written."),
                },
            }, "options": {
                "operationId": "preflightEvents",
                "summary": "CORS preflight: allowed for the origins of active client keys and cors_origins.",
                "responses": {
                    "204": {"description": "Allowed (with Access-Control-Allow-* headers), or not a preflight."},
                    "403": _error("A preflight from an origin that may not send events (no CORS headers)."),
                    **_limits(settings, FORM_BODY_BYTES),
                },
            }},
            "/v1/events/schema": {"get": {
                "operationId": "getEventSchema",
                "summary": "The JSON Schema of one event.",
                "responses": {"200": {"description": "JSON Schema (draft 2020-12).",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_limits(settings, FORM_BODY_BYTES)},
            }},
            "/v1/projects/{project_id}/callbacks/vonage": {"post": {
                "operationId": "postVonageCallback",
                "summary": "One Vonage session-monitoring callback, authenticated by the project's callback token.",
                "parameters": [
                    {"name": "project_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "token", "in": "query", "required": True, "schema": {"type": "string"},
                     "description": "The project's callback token (`videoinsights projects create` prints it)."},
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": {"description": "The callback's event is committed (or was a duplicate).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
                    **ingest_answers,
                    "401": _error("Unknown project or wrong callback token (errorCode 1001)."),
                },
            }},
            "/v1/projects/{project_id}/callbacks/livekit": {"post": {
                "operationId": "postLivekitWebhook",
                "summary": "One LiveKit webhook, signed by LiveKit with an API key registered on the project "
                           "(`videoinsights livekit add`).",
                "security": [{"livekit": []}],
                "parameters": [{"name": "project_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {
                    "application/webhook+json": {"schema": {"type": "object"}},
                    "application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": {"description": "The webhook's events are committed (or were duplicates, or the kind "
                                           "has no Insights meaning).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
                    **ingest_answers,
                    "400": _error("Not a LiveKit webhook, or it lacks what its kind needs (errorCode 1022)."),
                    "401": _error("Missing or wrong signature, unknown API key, or a body that does not match "
                                  "the signature's sha256 (errorCode 1020)."),
                },
            }},
            "/graphql": {"post": {
                "operationId": "postGraphql",
                "summary": "The Insights GraphQL API: {query, variables, operationName}, or the bare query.",
                "security": token_auth,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/GraphqlRequest"}},
                    "application/graphql": {"schema": {"type": "string"}},
                }},
                "responses": {
                    "200": {"description": "`data` and/or `errors` (GraphQL errors are HTTP 200).",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": {"description": "Unreadable body (errorCode 1004) or no `query` (1013).",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": {"description": "Authentication failed: both `errors` and `error` carry the code.",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    **_rate_limited(),
                    **_limits(settings, settings.max_graphql_body_bytes),
                },
            }},
            "/health": {"get": {
                "operationId": "getHealth",
                "summary": "Liveness and a database check.",
                "responses": {
                    "200": {"description": "Serving.", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["status", "version", "uptimeSeconds"],
                        "properties": {"status": {"const": "ok"}, "version": {"type": "string"},
                                       "uptimeSeconds": {"type": "integer"}}}}}},
                    "503": _error("The database does not answer."),
                    **_limits(settings, FORM_BODY_BYTES),
                },
            }},
            "/metrics": {"get": {
                "operationId": "getMetrics",
                "summary": "Prometheus text. Needs `Authorization: Bearer <metrics_token>` when that setting is set.",
                "security": [{}, {"metrics": []}],
                "responses": {
                    "200": {"description": "Counters and gauges.",
                            "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": _error("metrics_token is set and the request does not carry it."),
                    **_limits(settings, FORM_BODY_BYTES),
                },
            }},
            "/login": {
                "get": {
                    "operationId": "getLogin",
                    "summary": "The sign-in form (redirects when already signed in).",
                    "parameters": [{"name": "next", "in": "query", "required": False, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "The form.", "content": _HTML},
                                  "303": {"description": "Already signed in: go to `next`."},
                                  **_limits(settings, FORM_BODY_BYTES)},
                },
                "post": {
                    "operationId": "postLogin",
                    "summary": "Sign in: the form's fields plus its CSRF cookie.",
                    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                        "type": "object", "required": ["csrf", "email", "password"],
                        "properties": {"csrf": {"type": "string"}, "next": {"type": "string"},
                                       "email": {"type": "string"}, "password": {"type": "string"}}}}}},
                    "responses": {
                        "303": {"description": "Signed in: the session cookie is set; go to `next`."},
                        "401": {"description": "Wrong email or password.", "content": _HTML},
                        "403": {"description": "The form expired or came from another site.", "content": _HTML},
                        "429": {"description": "Too many failed sign-ins from this address (or for this email).",
                                "content": _HTML},
                        **_limits(settings, FORM_BODY_BYTES),
                    },
                },
            },
            "/logout": {"post": {
                "operationId": "postLogout",
                "summary": "End the browser login (the form's CSRF token is required).",
                "requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": {"csrf": {"type": "string"}}}}}},
                "responses": {
                    "303": {"description": "Signed out: go to /login."},
                    "403": {"description": "Missing or wrong CSRF token.", "content": _HTML},
                    **_limits(settings, FORM_BODY_BYTES),
                },
            }},
            "/openapi.json": {"get": {
                "operationId": "getOpenapi",
                "summary": "This description.",
                "responses": {"200": {"description": "OpenAPI 3.1.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_limits(settings, FORM_BODY_BYTES)},
            }},
        },
        "components": {
            "securitySchemes": {
                "opentok": {"type": "apiKey", "in": "header", "name": "X-OPENTOK-AUTH",
                            "description": "HS256 JWT signed with the project secret (iss: project id)."},
                "vonage": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "RS256 JWT of a Vonage application (application_id)."},
                "metrics": {"type": "http", "scheme": "bearer", "description": "The metrics_token setting."},
                "clientKey": {"type": "apiKey", "in": "header", "name": "X-VideoInsights-Key",
                              "description": "A publishable, write-only client key (`videoinsights keys create`)."},
                "clientKeyQuery": {"type": "apiKey", "in": "query", "name": "key",
                                   "description": "The client key in the URL (for navigator.sendBeacon)."},
                "ingestTokenQuery": {"type": "apiKey", "in": "query", "name": "token",
                                     "description": "An ingest token (scope ingest, one session) in the URL."},
                "livekit": {"type": "apiKey", "in": "header", "name": "Authorization",
                            "description": "LiveKit's webhook JWT (HS256, iss: API key, sha256: the body's hash)."},
            },
            "schemas": {
                "Event": event,
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": {"error": {
                        "type": "object", "required": ["errorCode", "message", "status"],
                        "properties": {"errorCode": {"type": ["integer", "null"]}, "message": {"type": "string"},
                                       "status": {"type": "integer"}}}},
                },
                "IngestResult": {
                    "type": "object", "required": ["accepted", "duplicates", "rejected"],
                    "properties": {
                        "accepted": {"type": "integer", "minimum": 0},
                        "duplicates": {"type": "integer", "minimum": 0},
                        "rejected": {"type": "array", "items": {
                            "type": "object", "required": ["index", "error"],
                            "properties": {"index": {"type": "integer"}, "id": {"type": ["string", "null"]},
                                           "error": {"type": "string"}}}},
                    },
                },
                "GraphqlRequest": {
                    "type": "object", "required": ["query"],
                    "properties": {"query": {"type": "string"},
                                   "variables": {"type": ["object", "string", "null"]},
                                   "operationName": {"type": ["string", "null"]}},
                },
            },
            "responses": {
                "RateLimited": {
                    "description": "Over a rate limit (rate_limit_* settings): errorCode null; retry after the delay.",
                    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                    "content": {"application/json": {"schema": _ERROR}},
                },
                "HeadersTooLarge": _error(
                    f"Request line and headers over max_header_bytes ({settings.max_header_bytes}) or more than "
                    f"{MAX_HEADER_COUNT} header lines."),
            },
        },
    }


async def get_openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.services.settings))
