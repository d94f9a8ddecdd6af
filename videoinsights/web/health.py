"""GET /health (liveness + database check) and GET /metrics (Prometheus text, web/metrics.py).

/metrics is open unless `settings.metrics_token` is set (like most exporters,
for a server bound to 127.0.0.1); then it needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from videoinsights import __version__
from videoinsights.web.metrics import CONTENT_TYPE
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services


async def get_health(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        await run_in_threadpool(services.store.ping)
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
    """Prometheus text exposition of this server's registry (web/metrics.py)."""
    services: Services = request.app.state.services
    if not metrics_allowed(request, services.settings.metrics_token):
        response = error_response(401, "GET /metrics needs 'Authorization: Bearer <the metrics token>'.", 1001)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # On a thread: the scrape reads the store (dirty sessions, the derive lag), and a read of a table with an index
    # can wait out a checkpoint of its file (docs/benchmarks.md): on the event loop every request would wait with it.
    return Response(await run_in_threadpool(services.metrics.render), media_type=CONTENT_TYPE)
