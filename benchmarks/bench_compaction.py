"""Stats compaction passes (store/duckdb/compaction.py) on bench_api's store: what a pass costs, and what it does to
the appends of ingest running beside it (the server's writer thread: its own connection, no lock shared).

On a copy of bench_api's database with its samples as appended (`--layout arrival`: 223,000 sessions, 34.6 million
samples, the derived tables' ART indexes of the product; the raw tables have none since schema 17), in one run:

  ingest alone        a thread appends 1,000-sample commits (store.append_events) every 50 ms (after 12 s of it
                      unmeasured); append latency
  passes alone        compaction passes of the product's size, back to back: CPU of the process and wall per pass
  both                the appends while passes run
  servers             `videoinsights serve` on a fresh copy, every session due for a pass (a store just migrated),
                      with compaction off and on: freshness markers and projectData (bench_load's samplers)
                      while the passes catch up, and the samples moved meanwhile

    .venv/bin/python -m benchmarks.bench_compaction            # ~3 min (+3 min for bench_api's first build)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

from benchmarks.apidata import BUSY, Spec, build
from benchmarks.bench_load import Samplers, freshness, metrics
from benchmarks.common import ServerProcess, copy_database, percentile
from videoinsights.domain.days import la_day
from videoinsights.ingest.batch import validate_events
from videoinsights.store.duckdb.compaction import PASS_SESSIONS
from videoinsights.store.duckdb.store import DuckDBStore

SCRATCH = Path("/tmp/videoinsights-bench-compaction")


def copy_store(source: Path) -> Path:
    SCRATCH.mkdir(exist_ok=True)
    target = SCRATCH / "store.duckdb"
    copy_database(source, target)
    Path(f"{target}.keys").unlink(missing_ok=True)
    if Path(f"{source}.keys").exists():
        shutil.copyfile(f"{source}.keys", f"{target}.keys")
    return target


class Appender:
    """Appends `size`-sample commits of new sessions every `every_s` seconds until stopped; keeps each latency."""

    def __init__(self, store: DuckDBStore, size: int = 1000, every_s: float = 0.05) -> None:
        self.store, self.size, self.every_s = store, size, every_s
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._n = 0
        self._thread = threading.Thread(target=self._run)

    def _batch(self) -> dict:
        now = int(time.time() * 1000)
        self._n += 1
        events = [{"id": f"bench-{self._n}-{i}", "type": "publisherStats", "timestamp": now - i,
                   "sessionId": f"bench-s{self._n % 97}-{i % 7}", "streamId": f"st-{i % 7}", "videoBitrateKbps": 500.0}
                  for i in range(self.size)]
        return validate_events(events, BUSY, now, now - 86_400_000, now + 60_000).columns

    def _run(self) -> None:
        while not self._stop.is_set():
            columns = self._batch()
            t0 = time.perf_counter()
            self.store.append_events([columns])
            self.latencies.append((time.perf_counter() - t0) * 1000)
            self._stop.wait(self.every_s)

    def __enter__(self) -> Appender:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def passes(store: DuckDBStore, count: int) -> list[tuple[float, float, int]]:
    """(process CPU ms, wall ms, samples moved) of `count` passes over sessions that ended before now."""
    out = []
    for _ in range(count):
        c0, w0 = time.process_time(), time.perf_counter()
        moved, _more = store.compact_stats(int(time.time() * 1000))
        out.append(((time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000, moved))
    return out


def server_phase(source: Path, secret: str, settle_s: int, seconds: float) -> str:
    """Freshness and projectData of a server on a fresh copy of `source` for `seconds`, after 12 s unmeasured."""
    server = ServerProcess(copy_store(source), env={"VIDEOINSIGHTS_STATS_COMPACTION_SETTLE_S": str(settle_s),
                                                    "VIDEOINSIGHTS_RATE_LIMIT_PER_PROJECT": "0"})
    try:
        time.sleep(12)
        with httpx.Client() as http:
            before = metrics(http, server.url).get("stats_samples_compacted_total", 0)
            with Samplers(server.url, BUSY, secret, f"s{settle_s}") as samplers:
                time.sleep(seconds)
            moved = metrics(http, server.url).get("stats_samples_compacted_total", 0) - before
    finally:
        server.stop()
    fresh, pd = freshness(samplers.samples), samplers.samples.project_data_ms
    return (f"freshness p50 / p95 / p99 {percentile(fresh, 50):5.0f} / {percentile(fresh, 95):5.0f} / "
            f"{percentile(fresh, 99):5.0f} ms (n={len(fresh)}), projectData p50 / p99 {percentile(pd, 50):4.0f} / "
            f"{percentile(pd, 99):4.0f} ms (n={len(pd)}), {moved:,.0f} samples moved meanwhile")


def describe(latencies: list[float]) -> str:
    return (f"{len(latencies)} appends, p50 {statistics.median(latencies):6.1f} ms, "
            f"p99 {percentile(latencies, 99):6.1f} ms, max {max(latencies):6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=10, help="passes in each phase")
    parser.add_argument("--ingest-seconds", type=float, default=10)
    parser.add_argument("--server-seconds", type=float, default=30, help="each server's sampling (0: no servers)")
    args = parser.parse_args()
    built = build(Spec(today=la_day(int(time.time() * 1000)), layout="arrival"))
    path = copy_store(built.path)
    print(f"copy of {built.path.name}: {built.rows['stats_samples']:,} samples, {built.rows['session_bounds']:,} "
          f"sessions; passes of {PASS_SESSIONS} sessions")
    store = DuckDBStore(str(path))
    try:
        with Appender(store):  # warm-up: appends to a store just opened take ~4x as long for ~10 s (passes or not)
            time.sleep(12)
        with Appender(store) as alone:
            time.sleep(args.ingest_seconds)
        print(f"ingest alone: {describe(alone.latencies)}")
        alone_passes = passes(store, args.passes)
        with Appender(store) as beside:
            both_passes = passes(store, args.passes)
        print(f"ingest beside passes: {describe(beside.latencies)}")
        for name, rows in (("passes alone", alone_passes), ("passes beside ingest", both_passes)):
            cpu, wall, moved = (statistics.median(r[i] for r in rows) for i in range(3))
            print(f"{name}: median {cpu:6.0f} ms CPU, {wall:6.0f} ms wall, {moved:,.0f} samples moved per pass "
                  f"({cpu / moved * 1000:.1f} us CPU per sample)")
    finally:
        store.close()
    if args.server_seconds:
        for settle_s in (600, 0):
            label = "servers, compaction on " if settle_s else "servers, compaction off"
            print(f"{label}: {server_phase(built.path, built.secrets[BUSY], settle_s, args.server_seconds)}")
    print("reproduce: .venv/bin/python -m benchmarks.bench_compaction " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
