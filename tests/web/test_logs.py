"""Server logs as a log shipper reads them (a real server's stdout), and request ids."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Server, create_project


def wait_for_line(server: Server, request_id: str) -> dict[str, Any]:
    """The JSON access line of `request_id` (it is written just after the response is sent)."""
    assert server.log is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in server.log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("request_id") == request_id and entry.get("logger") == "videoinsights.access":
                return entry
        time.sleep(0.05)
    raise AssertionError(f"no access line for {request_id}: {server.log.read_text()}")


def test_json_logs_one_object_per_line_with_request_fields(tmp_path: Path, server_factory: Any) -> None:
    creds = create_project(tmp_path / "vi.duckdb")
    server = server_factory({"VIDEOINSIGHTS_LOG_FORMAT": "json"})
    health = httpx.get(f"{server.url}/health", headers={"X-Request-Id": "probe-1.a_b"})
    assert health.headers["x-request-id"] == "probe-1.a_b"  # a sane incoming id is kept
    query = {"query": f"{{ project(projectId: {creds.project_id}) {{ projectData(start: 0) {{ totalCount }} }} }}"}
    answer = httpx.post(f"{server.url}/graphql", json=query, headers=creds.headers())
    assert answer.json() == {"data": {"project": {"projectData": {"totalCount": 0}}}}
    generated = answer.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    refused = httpx.get(f"{server.url}/health", headers={"X-Request-Id": "no spaces\tor tabs"})
    assert refused.headers["x-request-id"] != "no spaces\tor tabs"
    assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])

    entry = wait_for_line(server, "probe-1.a_b")
    assert (entry["level"], entry["route"], entry["status"], entry["project"]) == ("info", "/health", 200, None)
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    entry = wait_for_line(server, generated)
    assert (entry["route"], entry["method"], entry["status"], entry["project"]) == (
        "/graphql", "POST", 200, creds.project_id)
    server.stop()
    assert server.log is not None
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line, uvicorn's start-up and shutdown included
    assert any("Uvicorn running" in e["message"] for e in parsed)
    assert all({"time", "level", "message", "request_id"} <= e.keys() for e in parsed)


def test_text_logs_stay_the_default_without_access_lines(tmp_path: Path, server_factory: Any) -> None:
    server = server_factory()
    response = httpx.get(f"{server.url}/health", headers={"X-Request-Id": "plain-1"})
    assert response.headers["x-request-id"] == "plain-1"
    server.stop()
    assert server.log is not None
    text = server.log.read_text()
    assert "Uvicorn running" in text
    assert "plain-1" not in text  # no line per request on a terminal
    assert not any(line.startswith("{") for line in text.splitlines())


def test_unknown_log_format_is_refused_by_name(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(tmp_path / "x.duckdb"), "serve",
                             "--port", "1"], env={"VIDEOINSIGHTS_LOG_FORMAT": "xml", "PATH": ""},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "VIDEOINSIGHTS_LOG_FORMAT" in result.stderr
