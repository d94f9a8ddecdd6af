"""Run the app under uvicorn: one process (DuckDB allows one owner of the file), or with `workers` several
on one port (a ClickHouse store; web/workers.py)."""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn

from videoinsights.logs import FORMATS, configure_logging
from videoinsights.settings import Settings, SettingsError
from videoinsights.web.app import create_app
from videoinsights.web.http_protocol import head_limited_protocol


def serve(settings: Settings, workers: int = 1) -> None:
    setup_logging(settings)
    if workers > 1:
        from videoinsights.web.workers import serve_workers

        serve_workers(settings, workers)
        return
    _run(uvicorn.Server(uvicorn_config(settings, create_app(settings))))


def serve_socket(settings: Settings, sock: socket.socket) -> None:
    """One of `serve --workers`'s processes: the app on a socket the parent bound."""
    setup_logging(settings)
    _run(uvicorn.Server(uvicorn_config(settings, create_app(settings))), sock)


def _run(server: uvicorn.Server, sock: socket.socket | None = None) -> None:
    server.run(sockets=[sock] if sock else None)
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the app did not start (its lifespan failed)


def setup_logging(settings: Settings) -> None:
    if settings.log_format not in FORMATS:
        raise SettingsError(f"VIDEOINSIGHTS_LOG_FORMAT must be one of {', '.join(FORMATS)}, "
                            f"got {settings.log_format!r}")
    configure_logging(settings.log_format, settings.log_level)
    if settings.log_format == "text" and settings.log_level.lower() != "debug":
        # a line per request is for log shippers (json) or debugging, not a terminal
        logging.getLogger("videoinsights.access").setLevel(logging.WARNING)


def uvicorn_config(settings: Settings, app: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # our handlers (videoinsights/logs.py) format uvicorn's records too
        access_log=False,
        lifespan="on",
        # client addresses come from web/client_address.py, which trusts X-Forwarded-For only
        # from settings.trusted_proxies; uvicorn's own handling would trust any loopback peer
        proxy_headers=False,
        # httptools with a bound on the request head (431 above settings.max_header_bytes)
        http=head_limited_protocol(settings.max_header_bytes),
    )
