"""Admin operations for the CLI while the server owns the database.

Reachable only with the random token from `<db>.server.json` (a file only
the server's user can read), and only from the loopback interface."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import Response

from videoinsights.ops import OPS, OpError
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services

_LOOPBACK = ("127.", "::1", "localhost")


async def post_admin(request: Request) -> Response:
    services: Services = request.app.state.services
    client = request.client.host if request.client else ""
    supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not client.startswith(_LOOPBACK) or not hmac.compare_digest(supplied.encode(), services.admin_token.encode()):
        return error_response(403, "Admin operations are for the local CLI only.")
    op = OPS.get(request.path_params["op"])
    if op is None:
        return error_response(404, f"No admin operation {request.path_params['op']!r}.")
    try:
        args = await request.json()
    except ValueError:
        return error_response(400, "The body must be a JSON object.")
    if not isinstance(args, dict):
        return error_response(400, "The body must be a JSON object.")
    try:
        result = await asyncio.wrap_future(services.writer.call(lambda store: op(store, **args)))
    except (OpError, TypeError) as exc:
        return error_response(400, str(exc))
    services.projects.invalidate()
    services.client_keys.invalidate()  # a revoked key stops working now, not after the cache's TTL
    return JSONResponse({"result": result})
