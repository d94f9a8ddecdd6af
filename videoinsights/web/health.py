"""GET /health (liveness + database check) and GET /metrics (Prometheus text)."""

from __future__ import annotations

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


async def get_metrics(request: Request) -> Response:
    services: Services = request.app.state.services
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
        "# HELP videoinsights_derive_lag_seconds Age of the oldest acknowledged event not yet derived (0: none).",
        "# TYPE videoinsights_derive_lag_seconds gauge",
        f"videoinsights_derive_lag_seconds {services.store.derive_lag_ms(int(time.time() * 1000)) / 1000:.3f}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
