"""A plain static HTTP server for the test pages, on its own port: another origin than the
videoinsights server, as a customer's app is (so CORS and client-key origins are exercised)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGES = Path(__file__).parent / "pages"


# A navigation takes at least a network round trip; the page left behind lives until the next one answers.
NAVIGATION_DELAY_S = 0.2


class _Quiet(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/away.html"):
            time.sleep(NAVIGATION_DELAY_S)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        if "isolated=1" in self.path:  # cross-origin isolation: 5 us timers instead of 100 us (benchmarks)
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()


@contextmanager
def serve_pages(directory: Path = PAGES) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1; yields the origin (http://127.0.0.1:PORT)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
