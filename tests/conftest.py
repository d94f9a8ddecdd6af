"""Shared fixtures: a real server process on 127.0.0.1 over a real DuckDB file."""

from __future__ import annotations

import functools
import itertools
import os
import random
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

from videoinsights.accounts.passwords import hash_password
from videoinsights.auth.tokens import issue_project_token
from videoinsights.cli import run_op

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI: a clone beside a copy of shared/
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


# Under pytest-xdist each worker picks ports from a range of its own, below the kernel's ephemeral range
# (32768-60999 on Linux, where bind(0) and outgoing connections take theirs): a port one worker has checked
# cannot be taken by another worker, or by a client socket, before its server binds it.
_WORKER_PORTS = 500
_FIRST_WORKER_PORT = 10_000
_worker_ports: Iterator[int] | None = None


def _worker_port_cycle() -> Iterator[int] | None:
    """The ports of this xdist worker (gw0, gw1, ...) from a random start; None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not worker[2:].isdigit():
        return None
    first = _FIRST_WORKER_PORT + int(worker[2:]) * _WORKER_PORTS
    if first + _WORKER_PORTS > 32_000:
        return None  # more workers than ranges: the kernel's choice (bind port 0)
    start = random.randrange(_WORKER_PORTS)  # two runs at once on one machine rarely start at the same port
    return itertools.cycle([first + (start + i) % _WORKER_PORTS for i in range(_WORKER_PORTS)])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a TIME_WAIT port is free
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (a Server retries another if it is taken meanwhile)."""
    global _worker_ports
    if _worker_ports is None:
        _worker_ports = _worker_port_cycle()
    if _worker_ports is not None:
        for _ in range(_WORKER_PORTS):
            port = next(_worker_ports)
            if _bindable(port):
                return port
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
        """Start the server and wait until it is healthy; on another port if its port was taken meanwhile
        (another process may bind a port between free_port() and the server's bind)."""
        for _ in range(5):
            if self._start_once():
                return
            self.port = free_port()
        raise AssertionError(f"no free port for the server: {self.log.read_text() if self.log else ''}")

    def _start_once(self) -> bool:
        """True once healthy, False if the port was taken; fails on any other exit."""
        self.log = self.db.with_suffix(f".{int(time.time() * 1000)}.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "videoinsights", "--db", str(self.db), "serve", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = self.log.read_text()
                if "address already in use" in text.lower():
                    return False
                raise AssertionError(f"server exited: {text}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return True
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


def admin(db: Path, op: str, **args: Any) -> Any:
    """Run an admin operation (ops.py) as the CLI runs it (cli.run_op: through the server that owns the file,
    else on the file), in this process: a test that only needs a project or a login saves a CLI process
    (~1.3 s of CPU each, 160 of them in the suite). The commands themselves are tested through `cli`."""
    return run_op(str(db), op, **args)


def create_project(db: Path, name: str = "test", advanced: bool = True, project_id: str | None = None) -> ProjectCreds:
    data: dict[str, Any] = admin(db, "create_project", name=name, advanced_insights=advanced, project_id=project_id)
    return ProjectCreds(str(data["projectId"]), data["apiSecret"], data["callbackToken"])


def create_login(db: Path, email: str, password: str, projects: tuple[str, ...] = ()) -> None:
    """A dashboard account that may see `projects` (`accounts create` and `accounts grant`)."""
    admin(db, "create_account", email=email, password_hash=hash_password(password))
    for project in projects:
        admin(db, "grant_project", email=email, project_id=project)


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


# Suites whose tests share one expensive session-wide world (a seeded server, a browser): under pytest-xdist
# they run on one worker, so the world is built once, not once per worker.
SHARED_WORLDS = ("tests/browser/", "tests/collector/")
ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _has_module_fixture(path: str) -> bool:
    """A test module defining a module-scoped fixture (a server, a seeded store) its tests share."""
    file = ROOT / path
    return file.suffix == ".py" and file.is_file() and 'scope="module"' in file.read_text()


def work_unit(nodeid: str) -> str:
    """What pytest-xdist sends to one worker at once: a shared-world suite, a module with a module-scoped
    fixture, else the test alone (so long modules of independent tests spread over the workers)."""
    path = nodeid.split("::")[0]
    folder = next((f for f in SHARED_WORLDS if path.startswith(f)), None)
    if folder is not None:
        return folder
    return path if _has_module_fixture(path) else nodeid


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` (pyproject.toml) with our work units. (Not `loadgroup` with xdist_group marks: it
    renames the test ids, which pytest 9 no longer allows, so the marks are silently ignored.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


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
