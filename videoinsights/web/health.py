"""GET /health (liveness + database check) and GET /metrics (Prometheus text, web/metrics.py)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from videoinsights import __version__
from videoinsights.web.metrics import CONTENT_TYPE
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
    """Prometheus text exposition of this server's registry (web/metrics.py)."""
    services: Services = request.app.state.services
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
