"""The one ASGI app: ingestion, /graphql, health, metrics and admin.

All routes are listed in `routes()`; the lifespan opens the store, starts
the single writer thread and publishes the admin sidecar for the CLI.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from videoinsights.alerts.runner import AlertRunner
from videoinsights.auth.cache import ProjectCache
from videoinsights.control import remove_sidecar, write_sidecar
from videoinsights.settings import Settings
from videoinsights.store.base import Retention
from videoinsights.store.open import duckdb_options, duckdb_path, open_store
from videoinsights.store.writer import Writer
from videoinsights.web.admin import post_admin
from videoinsights.web.body_limits import RequestLimits
from videoinsights.web.browser_ingest import options_events
from videoinsights.web.collector import get_collector_js, get_collector_mjs
from videoinsights.web.export import get_export
from videoinsights.web.forwarded import ForwardedScheme
from videoinsights.web.graphql import graphql_routes_from_state
from videoinsights.web.health import get_health, get_metrics
from videoinsights.web.ingest import get_event_schema, post_events, post_vonage_callback
from videoinsights.web.livekit import post_livekit_webhook
from videoinsights.web.metrics import Metrics
from videoinsights.web.observe import Observe
from videoinsights.web.openapi import get_openapi
from videoinsights.web.pages import browser_graphql_route, page_routes
from videoinsights.web.services import Services

log = logging.getLogger(__name__)


def routes() -> list[BaseRoute]:
    return [
        browser_graphql_route(),  # GET /graphql with Accept: text/html -> explorer; before the API's /graphql
        Route("/v1/events", post_events, methods=["POST"]),
        Route("/v1/events", options_events, methods=["OPTIONS"]),  # CORS preflight (client keys, cors_origins)
        Route("/v1/events/schema", get_event_schema, methods=["GET"]),
        Route("/v1/projects/{project_id}/callbacks/vonage", post_vonage_callback, methods=["POST"]),
        Route("/v1/projects/{project_id}/export", get_export, methods=["GET"]),
        Route("/v1/projects/{project_id}/callbacks/livekit", post_livekit_webhook, methods=["POST"]),
        Route("/health", get_health, methods=["GET"]),
        Route("/metrics", get_metrics, methods=["GET"]),
        Route("/openapi.json", get_openapi, methods=["GET"]),
        Route("/collector.js", get_collector_js, methods=["GET"]),  # the browser collector (collector/)
        Route("/collector.mjs", get_collector_mjs, methods=["GET"]),
        Route("/-/admin/{op}", post_admin, methods=["POST"]),
        *graphql_routes_from_state(),  # POST /graphql (the Insights API), GET placeholder, CORS preflight
        *page_routes(),  # login, explorer, dashboard, sessions, /static
    ]


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics(settings.metrics_max_projects)  # this app's own registry

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = open_store(settings.store_url,
                           retention=Retention.of(settings),
                           duckdb_options=duckdb_options(settings))
        local = duckdb_path(settings.store_url)  # admin commands find a DuckDB file's server by its sidecar
        writer = Writer(store, settings)
        writer.start()
        services = Services(settings, store, writer, ProjectCache(store), secrets.token_urlsafe(32), time.time(),
                            metrics=metrics)
        metrics.watch(services)
        app.state.services = services
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        if local is not None:
            write_sidecar(local, f"http://{host}:{settings.port}", services.admin_token)
        # evaluates alert rules every few seconds, unless another process does (`alerts_in_server`)
        runner = AlertRunner(settings, store, writer) if settings.alerts_in_server else None
        services.alerts = runner
        if runner is not None:
            runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            if local is not None:
                remove_sidecar(local)
            writer.stop()
            store.close()

    # Observe outermost: its request id, latency and access line cover everything inside, 413s included;
    # every body is counted against its route's limit before any handler buffers it (413 above)
    middleware = [Middleware(Observe, metrics=metrics), Middleware(ForwardedScheme),
                  Middleware(RequestLimits, settings=settings)]
    return Starlette(routes=routes(), lifespan=lifespan, middleware=middleware)
