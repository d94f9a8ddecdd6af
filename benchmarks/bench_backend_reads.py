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
        [--data-dir DIR] [--load-only] [--uncached-project]

The project's row is looked up as the server looks it up, through its ProjectCache (a record is kept 5 s:
the server reads it from the store at most every 5 s per project, not per request). `--uncached-project`
reads it from the store for every query, as this benchmark did before (one more statement per query: on
chdb ~3.5 ms of CPU on a quiet machine, DuckDB well under 1 ms).

`--data-dir DIR` keeps the loaded stores: a run (backend, scale, events, rate) is loaded into DIR the first
time and reused after, with the clock it was loaded at (the queries' "now"), so that the slow load (500,000
events into chdb: ~20 min on a loaded machine) can run once in the background and the queries later, quietly.
`--load-only` loads what is missing and stops. Without `--data-dir` everything lives in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, cpu_seconds, loadavg, now_ms
from videoinsights.auth.cache import ProjectCache
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


def _url(backend: str, scale: int, events: int, data: Path) -> str:
    """Where a run's store lives in the data directory (chdb: one directory per process, a database per run)."""
    if backend == "duckdb":
        return f"duckdb://{data}/reads_{events}x{scale}.duckdb"
    return f"chdb://{data}/chdb?database=reads_{events}x{scale}"


def _forget(backend: str, url: str) -> None:
    """Remove what an interrupted load left of a run's store."""
    if backend == "duckdb":  # the file, its WAL and its dedup keys (a stale `.keys` would reject every event)
        db = Path(url.removeprefix("duckdb://"))
        for leftover in db.parent.glob(f"{db.name}*"):
            leftover.unlink()
    else:
        from videoinsights.store.clickhouse.client import ChdbClient
        from videoinsights.store.open import parse_store_url

        parsed = parse_store_url(url)
        ChdbClient(parsed.path, parsed.database)  # opens the process's chdb directory
        ChdbClient.drop_database(parsed.path, parsed.database)


def _load(url: str, events: Iterator[dict[str, Any]]) -> tuple[Any, int, float]:
    """The store loaded and derived; the events loaded and the seconds it took."""
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


def measure(store: Any, now: int, repeat: int, cached_project: bool = True) -> dict[str, tuple[float, float]]:
    lookup = ProjectCache(store).get if cached_project else store.get_project  # the server's: web/graphql.py
    executor = Executor(Settings(), store.reader, lookup, lambda: now / 1000)
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
    parser.add_argument("--data-dir", help="keep the loaded stores here: load a run once, reuse it after")
    parser.add_argument("--load-only", action="store_true", help="load the runs missing from --data-dir, then stop")
    parser.add_argument("--uncached-project", action="store_true",
                        help="read the project's row from the store for every query (the server caches it 5 s)")
    args = parser.parse_args()
    runs = [(b, int(n)) for b, _, n in (r.partition(":") for r in args.runs)]
    if any(b not in ("duckdb", "chdb") or n < 1 for b, n in runs):
        parser.error("a run is duckdb:N or chdb:N")
    if args.load_only and args.data_dir is None:
        parser.error("--load-only needs --data-dir")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data_dir).resolve() if args.data_dir else Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        for backend, scale in runs:
            store, now = _open_run(data, backend, scale, args.events, args.rate)
            try:
                if not args.load_only:
                    results[f"{backend} x{scale}"] = measure(store, now, args.repeat, not args.uncached_project)
            finally:
                store.close()
    if args.load_only:
        return
    _print_table(results, args.repeat, "read for every query" if args.uncached_project else "cached as in the server")


def _open_run(data: Path, backend: str, scale: int, events: int, rate: float) -> tuple[Any, int]:
    """A run's store, loaded now or (listed in data/runs.json) earlier, and the clock its data is relative to."""
    catalogue = data / "runs.json"
    loaded_runs = json.loads(catalogue.read_text()) if catalogue.exists() else {}
    key = f"{backend}:{scale}:{events}:{rate:g}"
    url = _url(backend, scale, events, data)
    if key in loaded_runs:
        run = loaded_runs[key]
        print(f"{backend} x{scale}: {run['loaded']:,} events loaded earlier (in {run['seconds']:.0f} s), "
              f"reused from {data}", flush=True)
        return open_store(url), run["now"]
    _forget(backend, url)
    now = now_ms()
    store, loaded, seconds = _load(url, _events(events * scale, rate * scale, now))
    print(f"{backend} x{scale}: {loaded:,} events loaded and derived in {seconds:.0f} s "
          f"(load average {loadavg()})", flush=True)
    loaded_runs[key] = {"now": now, "loaded": loaded, "seconds": round(seconds, 1)}
    catalogue.write_text(json.dumps(loaded_runs, indent=1))
    return store, now


def _print_table(results: dict[str, dict[str, tuple[float, float]]], repeat: int, project: str) -> None:
    names = list(results)
    print(f"{repeat} runs per query; the project's row {project}; load average {loadavg()}; "
          f"ratios: CPU and wall against {names[0]}")
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
