"""/collector-demo: a loopback call in the logged-in user's browser, instrumented by the collector.

The page asks `POST /collector-demo/credential` (login cookie + CSRF token) for a short-lived
credential of the project it shows, so no project secret or long-lived key reaches the browser.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from videoinsights.auth.tokens import issue_ingest_token
from videoinsights.web.pages.forms import same_origin
from videoinsights.web.pages.session_auth import CSRF_HEADER, current_login, token_matches
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services

CREDENTIAL_TTL_S = 900  # the page asks for a new one before each request; a call outliving it still works


def mint_ingest_credential(services: Services, project_id: str, session_id: str) -> str | None:
    """A short-lived ingest token: it may only send client events of this one session (None: no secret)."""
    project = services.projects.get(project_id)
    if project is None or not project.api_secret:
        return None
    return issue_ingest_token(project_id, project.api_secret, session_id, CREDENTIAL_TTL_S)


async def post_demo_credential(request: Request) -> Response:
    login = current_login(request)
    if login is None:
        return error_response(401, "Log in first.", 1001)
    if not (token_matches(login, request.headers.get(CSRF_HEADER)) and same_origin(request)):
        return error_response(403, "Missing or wrong CSRF token.", 1001)
    project = login.project(request.query_params.get("project"))
    if project is None:
        return error_response(403, "This account was not granted that project.", 1010)
    session_id = request.query_params.get("session") or f"demo-{secrets.token_hex(6)}"
    if len(session_id) > 200 or not session_id.startswith("demo-"):
        return error_response(400, "The demo's session id must start with 'demo-' (at most 200 characters).", 1022)
    services: Services = request.app.state.services
    token = mint_ingest_credential(services, project.project_id, session_id)
    if token is None:
        return error_response(409, "This project has no API secret to sign a token with (an application?).", 1000)
    return JSONResponse({"token": token, "expiresIn": CREDENTIAL_TTL_S, "sessionId": session_id,
                         "projectId": project.project_id})
