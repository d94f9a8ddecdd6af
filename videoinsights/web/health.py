"""GET /health (liveness + database check) and GET /metrics (Prometheus text).

/metrics is open unless `settings.metrics_token` is set (like most exporters,
for a server bound to 127.0.0.1); then it needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import time

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from videoinsights import __version__
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services


async def get_health(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        services.store.ping()
    except Exception as exc:
        return error_response(503, f"database unavailable: {exc}")
    return JSONResponse(
        {"status": "ok", "version": __version__, "uptimeSeconds": round(time.time() - services.started_at)}
    )


def metrics_allowed(request: Request, token: str) -> bool:
    """No token configured, or the request's bearer token equals it (constant-time)."""
    if not token:
        return True
    scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), token.encode())


async def get_metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    if not metrics_allowed(request, services.settings.metrics_token):
        response = error_response(401, "GET /metrics needs 'Authorization: Bearer <the metrics token>'.", 1001)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    s = services.writer.stats
    dirty = services.store.dirty_session_count()
    lines = [
        "# HELP videoinsights_events_inserted_total Events committed to the raw store.",
        "# TYPE videoinsights_events_inserted_total counter",
        f"videoinsights_events_inserted_total {s.events_inserted}",
        "# HELP videoinsights_events_duplicate_total Events ignored because their id was already stored.",
        "# TYPE videoinsights_events_duplicate_total counter",
        f"videoinsights_events_duplicate_total {s.duplicates}",
        "# HELP videoinsights_commits_total Write transactions of ingested events.",
        "# TYPE videoinsights_commits_total counter",
        f"videoinsights_commits_total {s.commits}",
        "# HELP videoinsights_sessions_derived_total Session derivations written.",
        "# TYPE videoinsights_sessions_derived_total counter",
        f"videoinsights_sessions_derived_total {s.sessions_derived}",
        "# HELP videoinsights_derive_failures_total Session derivations that raised.",
        "# TYPE videoinsights_derive_failures_total counter",
        f"videoinsights_derive_failures_total {s.derive_failures}",
        "# HELP videoinsights_derive_seconds_total Time spent deriving.",
        "# TYPE videoinsights_derive_seconds_total counter",
        f"videoinsights_derive_seconds_total {s.derive_seconds:.3f}",
        "# HELP videoinsights_dirty_sessions Sessions waiting to be derived.",
        "# TYPE videoinsights_dirty_sessions gauge",
        f"videoinsights_dirty_sessions {dirty}",
        "# HELP videoinsights_undigested_commits Ingest commits not yet folded into dirty sessions and stats.",
        "# TYPE videoinsights_undigested_commits gauge",
        f"videoinsights_undigested_commits {services.store.undigested_commits()}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
