"""Admin operations for the CLI while the server owns the database.

Reachable only with the random token from `<db>.server.json` (a file only
the server's user can read), and only from the loopback interface. The JSON
arguments are checked against the operation's signature before it runs, so
a wrong type is a 400 naming the argument, never an error inside the store."""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import types
import typing
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from videoinsights.ops import OPS, OpError
from videoinsights.web.responses import JSONResponse, error_response
from videoinsights.web.services import Services

log = logging.getLogger(__name__)
_LOOPBACK = ("127.", "::1", "localhost")


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether a JSON value fits a parameter annotation (str, int, bool, X | None, Any)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_accepts(arm, value) for arm in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if typing.get_origin(annotation) is Callable:  # e.g. a progress callback: local calls only
        return False
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def check_arguments(op: Callable[..., Any], args: dict[str, Any]) -> str | None:
    """Why `args` can't be passed to `op` (unknown, missing or wrongly typed), or None when they can."""
    target = inspect.unwrap(op)
    hints = typing.get_type_hints(target)
    params = list(inspect.signature(target).parameters.values())[1:]  # the first is the store
    names = {p.name for p in params}
    unknown = sorted(set(args) - names)
    if unknown:
        return f"unknown argument(s): {', '.join(unknown)}"
    for p in params:
        if p.name not in args:
            if p.default is inspect.Parameter.empty:
                return f"missing argument: {p.name}"
            continue
        expected = hints.get(p.name, p.annotation)
        if not _accepts(expected, args[p.name]):
            wanted = getattr(expected, "__name__", expected)
            return f"argument {p.name} must be {wanted}, not {type(args[p.name]).__name__}"
    return None


async def post_admin(request: Request) -> Response:
    services: Services = request.app.state.services
    client = services.client_address(request.scope)
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
    problem = check_arguments(op, args)
    if problem is not None:
        return error_response(400, f"{request.path_params['op']}: {problem}.")
    try:
        result = await asyncio.wrap_future(services.writer.call(lambda store: op(store, **args)))
    except OpError as exc:
        return error_response(400, str(exc))
    except Exception:
        log.exception("admin operation %s failed", request.path_params["op"])
        return error_response(500, f"The operation {request.path_params['op']} failed; see the server log.")
    services.projects.invalidate()
    services.client_keys.invalidate()  # a revoked key stops working now, not after the cache's TTL
    return JSONResponse({"result": result})
