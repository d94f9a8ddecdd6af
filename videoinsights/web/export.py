"""GET /v1/projects/{project_id}/export: a kind of data over a date range as CSV or Parquet.

Authenticated like /graphql (a project or application token, or a logged-in browser with its
CSRF token); the caller must be allowed to read the project, and session data kinds need
Advanced Insights, as in the API. Parameters are checked before the first byte is sent (4xx with
the REST error shape); then the file streams, a batch of rows at a time, read on a cursor of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from videoinsights.auth.tokens import AuthError, authenticate
from videoinsights.domain.days import la_day
from videoinsights.query.errors import MESSAGES, InsightsError
from videoinsights.query.export import ExportError, ExportRequest, columns_of, export_rows, parse_request, report_args
from videoinsights.query.export_format import MEDIA_TYPES, encode
from videoinsights.query.project import normalize_project_id
from videoinsights.web.graphql import browser_login
from videoinsights.web.ingest_limits import address_limited, project_limited
from videoinsights.web.responses import error_response
from videoinsights.web.services import Services


def _body(services: Services, request: ExportRequest) -> Iterator[bytes]:
    """The file's bytes; the cursor lives as long as the download (closed if the client goes away)."""
    now_ms = int(time.time() * 1000)
    first_daily_day = la_day(now_ms) - timedelta(days=services.settings.daily_retention_days)
    cursor = services.store.export_cursor()
    try:
        rows = export_rows(request, cursor, now_ms, first_daily_day, sql=services.store.sql)
        yield from encode(request.format, columns_of(request.kind), rows)
    finally:
        cursor.close()


async def get_export(request: Request) -> Response:
    services: Services = request.app.state.services
    if limited := address_limited(services, request.scope):
        return limited
    settings = services.settings
    try:
        auth = browser_login(request) or authenticate(request.headers, services.projects.get,
                                                       settings.clock_skew_s, settings.max_token_lifetime_s)
    except AuthError as exc:
        return error_response(401, exc.message, exc.code)
    try:
        project_id, _ = normalize_project_id(request.path_params["project_id"])
    except InsightsError as exc:
        return error_response(400, exc.message, exc.code)
    if not auth.may_read(project_id):
        return error_response(403, MESSAGES[1021], 1021)
    request.state.project_id = project_id  # for the access log
    if limited := project_limited(services, project_id):
        return limited
    project = services.projects.get(project_id)
    if project is None:
        return error_response(404, MESSAGES[1015], 1015)
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    try:
        export = parse_request(project_id, params)
        if export.kind == "projectData":
            report_args(export, int(time.time() * 1000))  # an empty range is refused before streaming starts
    except ExportError as exc:
        return error_response(400, str(exc), 1004)
    if export.kind != "projectData" and not project.advanced_insights:
        return error_response(403, "Session data exports require the Advanced Insights add-on.", 1014)
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"'}
    return StreamingResponse(_body(services, export), media_type=MEDIA_TYPES[export.format], headers=headers)
