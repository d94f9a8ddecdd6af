"""The browser side: login, the GraphiQL explorer, the dashboard and the session
inspector. Pages are thin HTML shells; their scripts (built from frontend/ into
static/dist/) are clients of /graphql like any other."""

from videoinsights.web.pages.routes import browser_graphql_route, page_routes

__all__ = ["browser_graphql_route", "page_routes"]
