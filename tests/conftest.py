"""Shared fixtures: a real server process on 127.0.0.1 over a real DuckDB file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from videoinsights.auth.tokens import issue_project_token

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI: a clone beside a copy of shared/
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(db: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the real CLI in a subprocess; return stdout (raises on failure)."""
    result = subprocess.run(
        [sys.executable, "-m", "videoinsights", "--db", str(db), *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise AssertionError(f"videoinsights {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def metric_values(url: str, *names: str) -> dict[str, float]:
    """The values of unlabelled metrics of a running server's /metrics."""
    values = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        name, _, value = line.partition(" ")
        if name in names:
            values[name] = float(value)
    return values


def derivation_idle(url: str) -> bool:
    """True when every acknowledged event is reflected in the derived tables."""
    names = ("videoinsights_dirty_sessions", "videoinsights_undigested_commits")
    return metric_values(url, *names) == dict.fromkeys(names, 0.0)


@dataclass
class Server:
    db: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log = self.db.with_suffix(f".{int(time.time() * 1000)}.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "videoinsights", "--db", str(self.db), "serve", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not become healthy")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def wait_derived(self, timeout: float = 20) -> None:
        """Block until the writer has derived every session that received events."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if derivation_idle(self.url):
                return
            time.sleep(0.05)
        raise AssertionError("derivation did not catch up")


@dataclass
class ProjectCreds:
    project_id: str
    secret: str
    callback_token: str

    def token(self, ttl: int = 300) -> str:
        return issue_project_token(self.project_id, self.secret, ttl)

    def headers(self) -> dict[str, str]:
        return {"X-OPENTOK-AUTH": self.token()}


def create_project(db: Path, name: str = "test", advanced: bool = True, project_id: str | None = None) -> ProjectCreds:
    args = ["projects", "create", "--name", name, "--json"]
    if advanced:
        args.append("--advanced-insights")
    if project_id:
        args += ["--project-id", project_id]
    data: dict[str, Any] = json.loads(cli(db, *args))
    return ProjectCreds(str(data["projectId"]), data["apiSecret"], data["callbackToken"])


@pytest.fixture(scope="session")
def playwright_api() -> Iterator[Any]:
    """One Playwright for the whole run (browser and collector suites): its sync API allows only one
    running instance per thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Server] = []

    def make(env: dict[str, str] | None = None, db: Path | None = None) -> Server:
        server = Server(db or tmp_path / "vi.duckdb", free_port(), env or {})
        server.start()
        started.append(server)
        return server

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def served_project(tmp_path: Path, server_factory: Any) -> tuple[Server, ProjectCreds]:
    creds = create_project(tmp_path / "vi.duckdb")
    return server_factory(), creds


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """List the browser screenshots, so CI's log says where they are."""
    shots = sorted((Path(__file__).resolve().parents[1] / "artifacts" / "screenshots").glob("*.png"))
    if shots:
        terminalreporter.write_line(f"browser screenshots ({len(shots)}) in artifacts/screenshots/:")
        for shot in shots:
            terminalreporter.write_line(f"  {shot.name} ({shot.stat().st_size:,} bytes)")


@pytest.fixture(params=["duckdb", "chdb"])
def store_url(request: Any, tmp_path: Path) -> Iterator[str]:
    """A fresh store on each backend (tests/support/stores.py): same test, same expected values."""
    from tests.support.stores import drop, new_store_url

    url = new_store_url(request.param, tmp_path)
    yield url
    drop(url)


@pytest.fixture
def clickhouse_front(tmp_path: Path) -> Iterator[str]:
    """A ClickHouse HTTP front (tests/support/ch_http.py: chdb in a process of its own); yields the
    clickhouse:// URL of a database on it."""
    from tests.support.ch_http import running_front

    with running_front(tmp_path / "chdb", tmp_path / "front.log") as (host, port):
        yield f"clickhouse://default@{host}:{port}/vi"
