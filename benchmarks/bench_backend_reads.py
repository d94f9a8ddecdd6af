"""API reads on each store backend, side by side: the same simulated traffic loaded and derived on DuckDB
and on ClickHouse's engine in-process (chdb), then typical API queries (reports, session lists, a session
tree with stats, live) run through the executor, each `--repeat` times.

Each run is `backend:scale`: scale N loads N times the events of N times denser traffic (the same span of
time, N times the sessions). The first run is the baseline the others' ratios are against (the issue-10
goal: chdb at 10x within 2x of DuckDB at 1x).

Both engines run inside this process, so CPU seconds (user + system, engine threads included) are the
cost of a query and barely move when other programs share the machine; wall-clock milliseconds are given
too, with the load averages. A ClickHouse server adds the network round trips (a query makes one per
GraphQL level) and moves the engine's CPU to its own machine.

    .venv/bin/python -m benchmarks.bench_backend_reads [--events 100000] [--repeat 20] [--runs duckdb:1 chdb:1 chdb:10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, cpu_seconds, loadavg, now_ms
from videoinsights.auth.tokens import AuthContext
from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.load import load_events
from videoinsights.query.executor import Executor
from videoinsights.settings import Settings
from videoinsights.simulate.generator import generate
from videoinsights.store.base import Project
from videoinsights.store.open import open_store

PROJECT = "12345678"
QUERIES = {
    "report daily x country,sdk": """query($s: Date!) { project(projectId: 12345678) { projectData(start: $s,
        interval: DAILY, groupBy: [COUNTRY, SDK_TYPE]) { totalCount resources { intervalStart country sdkType
        usage { streamedPublishedMinutes streamedSubscribedMinutes } quality { subscriber { videoBitrateKbpsAvg
        latencyMsAvg } } errors { subscribe { attempts failures } } } } } }""",
    "report total (all usage)": """query($s: Date!) { project(projectId: 12345678) { projectData(start: $s) {
        resources { usage { streamedPublishedMinutes streamedSubscribedMinutes individualArchiveMinutes
        hlsMinutes participantMinutes { from1To2Publishers from3To6Publishers } } } } } }""",
    "report minute (1 h)": """query($m: Date!) { project(projectId: 12345678) { projectData(start: $m,
        interval: MINUTE) { totalCount resources { intervalStart usage { streamedSubscribedMinutes } } } } }""",
    "session list 50 + meetings": """query($s: Date!) { project(projectId: 12345678) { sessionData {
        sessionSummaries(start: $s, first: 50) { totalCount resources { sessionId meetings { resources {
        createdAt destroyedAt publisherMinutes } } } } } } }""",
    "session tree with stats (5)": """query($s: Date!) { project(projectId: 12345678) { sessionData {
        sessionSummaries(start: $s, first: 5) { resources { sessionId meetings { resources { meetingId } } } }
        } } }""",
    "live (60 min)": """{ project(projectId: 12345678) { live(windowMinutes: 60) { sessions participants
        publishers perMinute { minute minutes participants videoBitrateKbpsAvg } liveSessions { sessionId } } } }""",
}
TREE = """query($ids: [String]!) { project(projectId: 12345678) { sessionData { sessions(sessionIds: $ids) {
  resources { meetings { resources { connections { resources { connectionId } }
  publishers { resources { streamStatsCollection(first: 100) { resources { createdAt videoBitrateKbps } }
  subscribers { resources { streamStatsCollection(first: 100) { resources { createdAt videoLatencyMs } } } } } }
  } } } } } } }"""


def _events(count: int, rate: float, now: int) -> Iterator[dict[str, Any]]:
    """The first `count` events (up to now) of a day of bench_load's traffic at `rate` events/s."""
    spd = round(rate * 86_400 / EVENTS_PER_SESSION)
    return (e for e in islice(generate(PROJECT, now - DAY_MS, 1, spd, 7), count) if e["timestamp"] <= now)


def _load(backend: str, scale: int, tmp: Path, events: Iterator[dict[str, Any]]) -> tuple[Any, int, float]:
    """The store loaded and derived; the events loaded and the seconds it took."""
    url = f"duckdb://{tmp}/r{scale}.duckdb" if backend == "duckdb" else f"chdb://{tmp}/chdb?database=reads{scale}"
    t0 = time.monotonic()
    store = open_store(url)
    store.insert_project(Project(PROJECT, "project", "bench", "s" * 40, None, "cb", True, 0))
    loaded = load_events(store, PROJECT, events, batch_size=5000)
    while sum(derive_pending(store, 500)):
        pass
    return store, loaded.accepted, time.monotonic() - t0


def _time(run: Any, repeat: int) -> tuple[float, float]:
    """(median wall ms, mean CPU ms) of `repeat` runs after one warm-up."""
    run()
    walls, cpu0 = [], cpu_seconds()
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        walls.append((time.perf_counter() - t0) * 1000)
    return statistics.median(walls), (cpu_seconds() - cpu0) * 1000 / repeat


def measure(store: Any, now: int, repeat: int) -> dict[str, tuple[float, float]]:
    executor = Executor(Settings(), store.reader, store.get_project, lambda: now / 1000)
    auth = AuthContext(PROJECT, "project")
    variables = {"s": now - DAY_MS, "m": now - 3_600_000}
    out = {}
    for name, query in QUERIES.items():
        def run(q: str = query) -> Any:
            body = executor.run(auth, q, variables)
            assert "errors" not in body, body
            return body
        out[name] = _time(run, repeat)
        if name == "session tree with stats (5)":
            found = run()["data"]["project"]["sessionData"]["sessionSummaries"]["resources"]
            ids = {"ids": [s["sessionId"] for s in found]}
            out["session tree: meetings..stats (5)"] = _time(lambda v=ids: executor.run(auth, TREE, v), repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10_000, help="density of bench_load's traffic at this rate")
    parser.add_argument("--runs", nargs="+", default=["duckdb:1", "chdb:1"],
                        help="backend:scale (duckdb or chdb); the first is the baseline of the ratios")
    args = parser.parse_args()
    runs = [(b, int(n)) for b, _, n in (r.partition(":") for r in args.runs)]
    if any(b not in ("duckdb", "chdb") or n < 1 for b, n in runs):
        parser.error("a run is duckdb:N or chdb:N")
    now = now_ms()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, scale in runs:
            store, loaded, seconds = _load(backend, scale, Path(tmp), _events(args.events * scale, args.rate * scale,
                                                                               now))
            print(f"{backend} x{scale}: {loaded:,} events loaded and derived in {seconds:.0f} s "
                  f"(load average {loadavg()})", flush=True)
            try:
                results[f"{backend} x{scale}"] = measure(store, now, args.repeat)
            finally:
                store.close()
    names = list(results)
    print(f"{args.repeat} runs per query; load average {loadavg()}; ratios: CPU and wall against {names[0]}")
    print("| query | " + " | ".join(f"{n} ms wall / CPU" for n in names) + " | "
          + " | ".join(f"{n} / {names[0]} (CPU, wall)" for n in names[1:]) + " |")
    print("| --- " * (2 * len(names)) + "|")
    base = results[names[0]]
    for query in base:
        cells = [f"{results[n][query][0]:,.1f} / {results[n][query][1]:,.0f}" for n in names]
        ratios = [f"{results[n][query][1] / max(base[query][1], 1e-9):.1f}x, "
                  f"{results[n][query][0] / max(base[query][0], 1e-9):.1f}x" for n in names[1:]]
        print(f"| {query} | " + " | ".join(cells + ratios) + " |")


if __name__ == "__main__":
    main()
