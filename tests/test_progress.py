"""Long commands draw progress on a terminal (a real pseudo-terminal here) and stay quiet otherwise."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import cli, create_project, free_port

ENV = {**os.environ, "COLUMNS": "160", "TERM": "xterm"}


def run_on_terminal(*args: str, until_healthy: str | None = None) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; return (exit code, what the terminal showed).
    With `until_healthy` (a server URL) the command is stopped with SIGTERM once the URL's /health answers."""
    master, slave = pty.openpty()
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc = subprocess.Popen([sys.executable, "-m", "videoinsights", *args], stdout=subprocess.DEVNULL, stderr=slave,
                            stdin=subprocess.DEVNULL, env=ENV)
    try:
        if until_healthy is not None:
            wait_healthy(until_healthy, proc)
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    os.close(slave)
    reader.join(10)
    os.close(master)
    return code, b"".join(shown).decode("utf-8", "replace")


def wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the command exited before serving"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("no server came up")


def test_simulate_draws_a_bar_on_a_terminal_and_one_line_otherwise(tmp_path: Path) -> None:
    out = tmp_path / "events.ndjson"
    args = ("simulate", "--project", "123", "--days", "2", "--sessions-per-day", "30", "--out", str(out))
    code, terminal = run_on_terminal(*args)
    assert code == 0
    assert "simulating" in terminal and "━" in terminal and "days" in terminal
    assert "events," in terminal and "sessions," in terminal and "events/s" in terminal  # the note
    assert "ETA" in terminal
    quiet = subprocess.run([sys.executable, "-m", "videoinsights", *args], capture_output=True, text=True,
                           timeout=300, env=ENV)
    assert quiet.returncode == 0
    lines = quiet.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simulate: wrote "), quiet.stderr
    assert "━" not in quiet.stderr


def test_rebuild_and_export_draw_bars_on_a_terminal_only(tmp_path: Path) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    events = tmp_path / "events.ndjson"
    cli(db, "simulate", "--project", creds.project_id, "--days", "1", "--sessions-per-day", "8", "--out", str(events))
    loaded = subprocess.run([sys.executable, "-c", LOAD, str(db), creds.project_id, str(events)], capture_output=True,
                            text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    code, terminal = run_on_terminal("--db", str(db), "rebuild")
    assert code == 0
    assert "rebuilding" in terminal and "━" in terminal and "sessions" in terminal
    quiet = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(db), "rebuild"], capture_output=True,
                           text=True, timeout=300, env=ENV)
    assert quiet.returncode == 0 and "━" not in quiet.stderr and quiet.stdout.startswith("rebuilt ")

    out = tmp_path / "meetings.csv"
    export = ("--db", str(db), "export", "--project", creds.project_id, "--kind", "meetings", "--start", "0",
              "--out", str(out))
    code, terminal = run_on_terminal(*export)
    assert code == 0
    assert "export meetings" in terminal and "rows" in terminal
    quiet = subprocess.run([sys.executable, "-m", "videoinsights", *export], capture_output=True, text=True,
                           timeout=300, env=ENV)
    assert quiet.returncode == 0 and quiet.stderr.startswith("wrote ") and "━" not in quiet.stderr


# Loads an NDJSON file straight into the database (the demo's path), without deriving.
LOAD = """
import sys, orjson
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore
store = DuckDBStore(sys.argv[1])
with open(sys.argv[3], 'rb') as fh:
    load_events(store, sys.argv[2], (orjson.loads(line) for line in fh), min_ts=0)
store.close()
"""


def test_demo_shows_loading_and_deriving_on_a_terminal(tmp_path: Path) -> None:
    port = free_port()
    code, terminal = run_on_terminal("--db", str(tmp_path / "demo.duckdb"), "demo", "--days", "1",
                                     "--sessions-per-day", "8", "--port", str(port),
                                     until_healthy=f"http://127.0.0.1:{port}")
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the SIGTERM it handled, after a clean shutdown
    assert "loading events" in terminal and "days" in terminal  # generated and loaded, by simulated day
    assert "deriving sessions" in terminal and "sessions" in terminal
    assert "━" in terminal and "ETA" in terminal
