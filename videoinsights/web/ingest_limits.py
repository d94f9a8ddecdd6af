"""Rate limits of the REST routes (POST /v1/events, the callbacks, the export).

The address is checked before anything else (strangers included); the
project only once the request proved it speaks for that project, so nobody
can spend another tenant's budget with requests that fail authentication.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from videoinsights.web.ratelimit import rate_limited_response
from videoinsights.web.services import Services


def address_limited(services: Services, scope: Scope) -> Response | None:
    """429 when the client's address (via trusted proxies) is over `rate_limit_per_address`, else None."""
    wait = services.limits.address.check(services.client_address(scope))
    return rate_limited_response(wait, "address") if wait else None


def project_limited(services: Services, project_id: str) -> Response | None:
    """429 when an authenticated project is over `rate_limit_per_project`, else None."""
    wait = services.limits.project.check(project_id)
    return rate_limited_response(wait, "project") if wait else None
