"""GET /collector.js (and /collector.mjs): the browser collector bundle, served by the server
itself so it works offline and from any app origin.

The files are built by `collector/build.mjs` into pages/static/collector/ (./run does it). They are
cacheable: an ETag (their hash) with 304 answers, a short max-age on the plain URL and a year,
immutable, when the URL names the current version (`/collector.js?v=0.1.0`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

FOLDER = Path(__file__).parent / "pages" / "static" / "collector"  # collector/build.mjs writes here
BASE = "videoinsights-collector"
SHORT_CACHE = "public, max-age=300"
VERSIONED_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Bundle:
    version: str
    body: bytes
    gzipped: bytes | None
    etag: str


_cache: dict[tuple[str, float], Bundle] = {}


def collector_version() -> str | None:
    """The built collector's version, or None when it is not built."""
    try:
        return str(json.loads((FOLDER / "build.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _bundle(name: str) -> Bundle | None:
    path = FOLDER / name
    try:
        key = (name, path.stat().st_mtime)
    except OSError:
        return None
    if key not in _cache:
        body = path.read_bytes()
        gz = Path(f"{path}.gz")
        _cache[key] = Bundle(collector_version() or "", body, gz.read_bytes() if gz.is_file() else None,
                             '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return _cache[key]


def _serve(request: Request, name: str) -> Response:
    bundle = _bundle(name)
    if bundle is None:
        return PlainTextResponse("The collector is not built: run ./run (or cd collector && npm ci && npm run build).",
                                 status_code=404)
    versioned = request.query_params.get("v") == bundle.version
    headers = {
        "Cache-Control": VERSIONED_CACHE if versioned else SHORT_CACHE,
        "ETag": bundle.etag,
        "Vary": "Accept-Encoding",
        "Access-Control-Allow-Origin": "*",  # a module import from the app's origin needs it
        "X-Content-Type-Options": "nosniff",
        "X-Collector-Version": bundle.version,
    }
    if bundle.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = bundle.body
    if bundle.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = bundle.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, media_type="text/javascript; charset=utf-8")


async def get_collector_js(request: Request) -> Response:
    return _serve(request, f"{BASE}.js")


async def get_collector_mjs(request: Request) -> Response:
    return _serve(request, f"{BASE}.mjs")
