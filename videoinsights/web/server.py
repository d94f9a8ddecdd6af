"""Run the app under uvicorn (one process: DuckDB allows one owner of the file)."""

from __future__ import annotations

import uvicorn

from videoinsights.settings import Settings
from videoinsights.web.app import create_app
from videoinsights.web.http_protocol import head_limited_protocol


def serve(settings: Settings) -> None:
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
        # client addresses come from web/client_address.py, which trusts X-Forwarded-For only
        # from settings.trusted_proxies; uvicorn's own handling would trust any loopback peer
        proxy_headers=False,
        # httptools with a bound on the request head (431 above settings.max_header_bytes)
        http=head_limited_protocol(settings.max_header_bytes),
    )
