"""API reads on each store backend, side by side: the same simulated traffic loaded and derived on DuckDB
and on ClickHouse's engine in-process (chdb), then typical API queries (reports, session lists, a session
tree with stats, live) run through the executor, each `--repeat` times.

Both engines run inside this process, so CPU seconds (user + system, engine threads included) are the
cost of a query and barely move when other programs share the machine; wall-clock milliseconds are given
too, with the load averages. A ClickHouse server adds the network round trips (a query makes one per
GraphQL level) and moves the engine's CPU to its own machine.

    .venv/bin/python -m benchmarks.bench_backend_reads [--events 100000] [--repeat 20] [--backends duckdb chdb]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
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


def _load(backend: str, tmp: Path, events: list[dict[str, Any]]) -> Any:
    url = f"duckdb://{tmp}/r.duckdb" if backend == "duckdb" else f"chdb://{tmp}/chdb?database=reads"
    store = open_store(url)
    store.insert_project(Project(PROJECT, "project", "bench", "s" * 40, None, "cb", True, 0))
    load_events(store, PROJECT, iter(events), batch_size=5000)
    while sum(derive_pending(store, 500)):
        pass
    return store


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
    parser.add_argument("--backends", nargs="+", default=["duckdb", "chdb"], choices=["duckdb", "chdb"])
    args = parser.parse_args()
    spd = round(args.rate * 86_400 / EVENTS_PER_SESSION)
    now = now_ms()
    events = [e for e in islice(generate(PROJECT, now - DAY_MS, 1, spd, 7), args.events) if e["timestamp"] <= now]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            store = _load(backend, Path(tmp), events)
            try:
                results[backend] = measure(store, now, args.repeat)
            finally:
                store.close()
    print(f"{len(events):,} events, {args.repeat} runs per query; load average {loadavg()}")
    print(f"{'query':38} " + " ".join(f"{b + ' ms wall/cpu':>22}" for b in args.backends)
          + ("   chdb/duckdb cpu" if len(results) == 2 else ""))
    for name in results[args.backends[0]]:
        cells = " ".join(f"{results[b][name][0]:>10.1f} /{results[b][name][1]:>9.1f}" for b in args.backends)
        ratio = (f"   {results['chdb'][name][1] / max(results['duckdb'][name][1], 1e-9):>6.2f}x"
                 if len(results) == 2 else "")
        print(f"{name:38} {cells}{ratio}")


if __name__ == "__main__":
    main()
