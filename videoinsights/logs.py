"""Log set-up: plain text for a terminal (the default) or one JSON object per line for log shippers.

Every record logged while a request is being answered carries that request's id (a context
variable set by web/observe.py, copied into worker threads by run_in_threadpool), so an error
logged deep inside a GraphQL resolver can be matched to its access-log line.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

FORMATS = ("text", "json")
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("videoinsights_request_id", default=None)
# Attributes of the access-log records (web/observe.py) that become JSON fields.
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms", "project", "client")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC ISO-8601), level, logger, message, request_id,
    the access fields when present, and the traceback as `exc` for errors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(fmt: str = "text", level: str = "info") -> None:
    """Route every logger (ours, uvicorn's) through one root handler in the chosen format.
    JSON goes to stdout (where container runtimes collect it); text to stderr as before."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    handler = logging.StreamHandler(sys.stdout if fmt == "json" else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the output
