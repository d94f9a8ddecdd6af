"""The routes of the browser pages, for app.py's `routes()`.

`GET /graphql` from a browser (Accept: text/html) shows the explorer, as at
insights.opentok.com; every other /graphql request falls through to the API
route. That route must therefore come *before* the API's /graphql route.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from videoinsights.web.pages import alerts, collector_demo, login, views
from videoinsights.web.pages.assets import PrecompressedStaticFiles
from videoinsights.web.pages.render import STATIC


class BrowserRoute(Route):
    """A GET route that matches only requests asking for HTML (browsers navigating)."""

    def matches(self, scope: Scope) -> tuple[Match, dict[str, Any]]:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        accept = next((v for k, v in scope.get("headers", []) if k == b"accept"), b"")
        if b"text/html" not in accept:
            return Match.NONE, {}
        return super().matches(scope)


def browser_graphql_route() -> BaseRoute:
    """GET /graphql for browsers: the explorer. List it before the API's /graphql route."""
    return BrowserRoute("/graphql", views.explorer_page, methods=["GET"])


def page_routes() -> list[BaseRoute]:
    """Login, logout, the pages and their static assets (append to the app's routes)."""
    return [
        Route("/", views.explorer_page, methods=["GET"]),
        Route("/login", login.get_login, methods=["GET"]),
        Route("/login", login.post_login, methods=["POST"]),
        Route("/logout", login.post_logout, methods=["POST"]),
        Route("/account/project", views.post_switch_project, methods=["POST"]),
        Route("/dashboard", views.dashboard_page, methods=["GET"]),
        Route("/live", views.live_page, methods=["GET"]),
        Route("/sessions", views.sessions_page, methods=["GET"]),
        Route("/sessions/{session_id:path}", views.inspector_page, methods=["GET"]),
        Route("/alerts", alerts.alerts_page, methods=["GET"]),
        Route("/alerts/api", alerts.get_alerts, methods=["GET"]),
        Route("/alerts/api/rules", alerts.post_alert, methods=["POST"]),
        Route("/alerts/api/rules/{rule_id}/delete", alerts.post_delete_alert, methods=["POST"]),
        Route("/collector-demo", views.collector_demo_page, methods=["GET"]),
        Route("/collector-demo/credential", collector_demo.post_demo_credential, methods=["POST"]),
        Mount("/static", PrecompressedStaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
