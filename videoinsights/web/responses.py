"""JSON responses and the one error shape of the REST endpoints:
{"error": {"errorCode": <int or null>, "message": "...", "status": <http status>}}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, message: str, code: int | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"errorCode": code, "message": message, "status": status}, **extra}, status_code=status
    )
