"""The dashboard's Alerts page and its JSON endpoints: list, create and delete rules, and the delivery log.

The endpoints act for the logged-in account on a project it was granted (the
`project` parameter), with the login's CSRF token in X-CSRF-Token on every
write. They call the same operations as `videoinsights alerts` (alerts/rules.py)
on the writer thread, so the page and the CLI refuse the same bad input.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from videoinsights.alerts.rules import (
    AlertError,
    create_alert,
    delete_alert,
    get_alert,
    list_alerts,
    list_deliveries,
)
from videoinsights.web.pages.session_auth import csrf_ok, current_login
from videoinsights.web.pages.state import write
from videoinsights.web.pages.views import ALERTS, app_page
from videoinsights.web.responses import JSONResponse, error_response

_CREATE_FIELDS = {"metric", "threshold", "webhook", "window", "quiet", "direction", "countries", "sdks", "browsers",
                  "issue_type"}


async def alerts_page(request: Request) -> Response:
    return await app_page(request, ALERTS)


def _granted(request: Request) -> str | Response:
    """The project the request may manage, or the refusal."""
    login = current_login(request)
    if login is None:
        return error_response(401, "Log in first.")
    project = login.project(request.query_params.get("project"))
    if project is None:
        return error_response(403, "This account was not granted that project.")
    return project.project_id


async def get_alerts(request: Request) -> Response:
    project_id = _granted(request)
    if isinstance(project_id, Response):
        return project_id

    def read(store: Any) -> dict[str, Any]:
        return {"rules": list_alerts(store, project_id), "deliveries": list_deliveries(store, project_id, 50)}

    return JSONResponse(await write(request, read))  # the writer's view: a rule just created is there


async def post_alert(request: Request) -> Response:
    project_id = _granted(request)
    if isinstance(project_id, Response):
        return project_id
    if not csrf_ok(request):
        return error_response(403, "Missing or wrong CSRF token.")
    try:
        body = await request.json()
    except ValueError:
        return error_response(400, "The body must be a JSON object.")
    if not isinstance(body, dict) or set(body) - _CREATE_FIELDS:
        return error_response(400, f"The body is a JSON object with: {', '.join(sorted(_CREATE_FIELDS))}.")
    if not all(isinstance(body.get(k, []), list) and all(isinstance(v, str) for v in body.get(k, []))
               for k in ("countries", "sdks", "browsers")):
        return error_response(400, "countries, sdks and browsers are lists of names.")
    if not all(isinstance(body.get(k, ""), str) for k in ("metric", "webhook", "window", "quiet", "direction")):
        return error_response(400, "metric, webhook, window, quiet and direction are strings.")
    body.setdefault("threshold", None)  # meeting_ended rules have none
    try:
        rule = await write(request, lambda store: create_alert(store, project_id, **body))
    except (AlertError, TypeError) as exc:
        return error_response(400, str(exc))
    return JSONResponse(rule, status_code=201)


async def post_delete_alert(request: Request) -> Response:
    project_id = _granted(request)
    if isinstance(project_id, Response):
        return project_id
    if not csrf_ok(request):
        return error_response(403, "Missing or wrong CSRF token.")
    rule_id = request.path_params["rule_id"]

    def delete(store: Any) -> dict[str, Any]:
        rule = get_alert(store, rule_id)
        if rule is None or rule["projectId"] != int(project_id):
            raise AlertError(f"no alert rule {rule_id} in this project")
        return delete_alert(store, rule_id)

    try:
        return JSONResponse(await write(request, delete))
    except AlertError as exc:
        return error_response(404, str(exc))
