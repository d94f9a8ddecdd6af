"""`videoinsights demo` keeps posting simulated traffic in real time while it serves: the last half
hour is live at once, and the minute figures keep changing as new events come due."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def _live_minutes(url: str, project: str, token: str) -> tuple[float, int]:
    query = (f"{{ project(projectId: {project}) {{ live(windowMinutes: 40) {{ attempts "
             "perMinute { minutes } } } }")
    body = httpx.post(f"{url}/graphql", json={"query": query}, headers={"X-OPENTOK-AUTH": token}).json()
    live = body["data"]["project"]["live"]
    return sum(m["minutes"] for m in live["perMinute"]), live["attempts"]


def test_demo_posts_live_traffic(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        demo = subprocess.Popen([sys.executable, "-m", "videoinsights", "--db", str(tmp_path / "demo.duckdb"), "demo",
                                 "--days", "1", "--sessions-per-day", "4", "--live-sessions-per-hour", "600",
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        first: tuple[float, int] | None = None
        while time.monotonic() < deadline:
            assert demo.poll() is None, log.read_text()
            time.sleep(1)
            printed = log.read_text()
            project = re.search(r"project id:\s+(\d+)", printed)
            token = re.search(r"X-OPENTOK-AUTH: ([\w.-]+)", printed)
            if not (project and token):
                continue
            try:
                now = _live_minutes(url, project[1], token[1])
            except httpx.HTTPError:
                continue
            if first is None and now[0] > 0:
                first = now  # the head start: the last half hour, posted at once
            elif first is not None and now != first:
                break  # new events came due and were posted while the server ran
        else:
            raise AssertionError(f"the minute figures did not move: {first}\n{log.read_text()}")
        assert "posting live traffic: about 600 sessions/hour" in log.read_text()
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
