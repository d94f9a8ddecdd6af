"""Helpers shared by the benchmarks: a real server subprocess, timing, reporting."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import httpx

from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.base import Store
from videoinsights.store.duckdb.rawfile import database_files

DAY_MS = 86_400_000
DENSE_DAY_SESSIONS = 360_000  # a day of bench_load's 10,000 events/s (2,400 events per session)


def copy_database(source: Path, target: Path) -> None:
    """Copy a DuckDB store's files (the main and raw files and their WALs: rawfile.database_files) that exist; the
    dedup keys file is left to the caller (a store rebuilds it from the raw rows)."""
    for frm, to in zip(database_files(str(source)), database_files(str(target)), strict=True):
        Path(to).unlink(missing_ok=True)
        if Path(frm).exists():
            shutil.copyfile(frm, to)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(db: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "videoinsights", "--db", str(db), *args], capture_output=True, text=True, check=True
    )
    return out.stdout


def create_project(db: Path) -> dict[str, Any]:
    return json.loads(cli(db, "projects", "create", "--name", "bench", "--advanced-insights", "--json"))


class ServerProcess:
    """`videoinsights serve` on a free port; `python` may be another checkout's interpreter (a baseline)."""

    def __init__(self, db: Path, env: dict[str, str] | None = None, python: str | None = None) -> None:
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [python or sys.executable, "-m", "videoinsights", "--db", str(db), "serve", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            # another interpreter runs from the database's folder, so `-m` imports its own checkout, not ours
            cwd=db.resolve().parent if python else None,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def median_ms(fn: Callable[[], Any], repeat: int, warmup: int = 2,
              clock: Callable[[], float] = time.perf_counter) -> float:
    """Median time of fn() in ms: wall time, or CPU time of this process with clock=time.process_time."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = clock()
        fn()
        samples.append((clock() - started) * 1000)
    return statistics.median(samples)


def dense_day(store: Store, project_id: str, events: int, start_ms: int | None = None) -> Iterator[dict[str, Any]]:
    """Load the first `events` of bench_load's dense day (from `start_ms`, a day ago by default) into `store`, and
    return the rest of its traffic (the store-level benchmarks' platform that has been running for a while)."""
    start = int(time.time() * 1000) - DAY_MS if start_ms is None else start_ms
    traffic = generate(project_id, start, 1, DENSE_DAY_SESSIONS, 7)
    load_events(store, project_id, islice(traffic, events))
    return traffic


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def derivation_idle(url: str) -> bool:
    values = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("videoinsights_dirty_sessions", "videoinsights_undigested_commits"):
            values[name] = float(value)  # prometheus_client writes 0 as 0.0
    return values == {"videoinsights_dirty_sessions": 0.0, "videoinsights_undigested_commits": 0.0}
