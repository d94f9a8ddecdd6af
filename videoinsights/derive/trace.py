"""A trace of the derive loop for benchmarks (setting `derive_trace_path`): one JSON line per pipeline step
(its phases' seconds, the sessions it picked and wrote, wall-clock times) and per ingest commit, checkpoint and
purge, so that `benchmarks/bench_load.py --trace` can tell where a new session's seconds go between its
acknowledgement and its first visibility. Off (the default) nothing is timed or written."""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson


class Trace:
    """Appends records to a file, from any thread (the writer's and the derive thread's)."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "ab")  # noqa: SIM115 (open for the server's life, closed by close())
        self._lock = threading.Lock()

    def write(self, kind: str, **fields: Any) -> None:
        line = orjson.dumps({"kind": kind, **fields}) + b"\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def open_trace(path: str) -> Trace | None:
    """The trace at `path`, or None (tracing off) when it is empty."""
    return Trace(path) if path else None


def lap(timings: dict[str, float] | None, name: str, since: float) -> float:
    """Add the seconds since `since` to timings[name] (when timing) and return now (perf_counter)."""
    now = time.perf_counter()
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + now - since
    return now
