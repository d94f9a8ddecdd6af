"""GET /collector.js and /collector.mjs over real HTTP: the bundle the collector build made, with
its version, cacheable (ETag + 304, a year when the URL names the version), gzipped on request."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx

from tests.collector.conftest import CallWorld

ROOT = Path(__file__).resolve().parents[2]
VERSION = json.loads((ROOT / "collector" / "package.json").read_text())["version"]


def test_collector_js_is_the_versioned_bundle_and_cacheable(call_world: CallWorld) -> None:
    plain = httpx.get(f"{call_world.url}/collector.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/javascript")
    assert plain.text.startswith(f"/*! videoinsights-collector {VERSION} ")
    assert "var VideoInsights=" in plain.text  # the IIFE sets the global
    assert plain.headers["cache-control"] == "public, max-age=300"
    etag = plain.headers["etag"]

    again = httpx.get(f"{call_world.url}/collector.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    versioned = httpx.get(f"{call_world.url}/collector.js?v={VERSION}", headers={"Accept-Encoding": "gzip"})
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["content-encoding"] == "gzip"
    assert versioned.text == plain.text  # httpx decodes the gzip body
    assert len(gzip.compress(plain.content)) < len(plain.content)

    module = httpx.get(f"{call_world.url}/collector.mjs")
    assert module.status_code == 200 and "createCollector" in module.text
    assert module.headers["access-control-allow-origin"] == "*"  # importable from the app's origin
