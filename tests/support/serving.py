"""The whole app in a thread of the test: uvicorn on 127.0.0.1 (real HTTP), configured as `serve` does."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from videoinsights.settings import Settings
from videoinsights.web.server import uvicorn_config


@contextmanager
def serving(settings: Settings, app: Any) -> Iterator[str]:
    """The app under uvicorn (as `serve` configures it) in a thread; yields its URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn_config(settings, app))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(30)
