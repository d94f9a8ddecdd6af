"""Stats of sessions far apart in time (store/duckdb/reads.py `_stats`): read through each session's window (its ts
bounds, or its key once moved into session order) against one scan of every sample, the choice that
`_STATS_MAX_WINDOWS` makes (the sessions that need a ts window, counted).

On bench_api's store (223,000 sessions over 21 days, 34.6 million samples; `--layout arrival`: samples as appended,
`sessions`: moved into session order as compaction leaves them), `store.sql.reads.publisher_stats` over the 21 days
for N sessions drawn at random (a fixed seed) from the busy project's: the windows (any count allowed) and the scan
(windows refused), alternated; CPU of this process (DuckDB's threads included) and wall, median of `--runs` after
one warm-up each; the ratio windows / scan.

    .venv/bin/python -m benchmarks.bench_far_stats [--layout arrival sessions] [--sessions 250 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.apidata import BUSY, Spec, build
from benchmarks.bench_load import loadavg
from videoinsights.domain.days import la_day
from videoinsights.store.duckdb import reads
from videoinsights.store.duckdb.store import DuckDBStore


@contextmanager
def scan_only() -> Iterator[None]:
    """Refuse the windows: every read of far-apart sessions scans every sample."""
    windowed = reads._windowed_stats_sql
    reads._windowed_stats_sql = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        reads._windowed_stats_sql = windowed  # type: ignore[assignment]


@contextmanager
def windows_only() -> Iterator[None]:
    limit = reads._STATS_MAX_WINDOWS
    reads._STATS_MAX_WINDOWS = 1_000_000
    try:
        yield
    finally:
        reads._STATS_MAX_WINDOWS = limit


def timed_reads(store: DuckDBStore, streams: list[tuple[str, str]], span: tuple[int, int], runs: int) -> dict[str, Any]:
    cur = store.reader()
    cpus, walls = [], []
    rows: list[Any] = []
    for _ in range(runs + 1):  # the first is a warm-up
        c, w = time.process_time(), time.perf_counter()
        rows, _ = store.sql.reads.publisher_stats(cur, BUSY, streams, span, 0, 1_000_000)
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return {"cpu": statistics.median(cpus[1:]) * 1000, "wall": statistics.median(walls[1:]) * 1000, "rows": len(rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", nargs="+", default=["arrival", "sessions"], choices=["arrival", "sessions"])
    parser.add_argument("--sessions", nargs="+", type=int, default=[250, 1000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"load averages before: {loadavg()}; the limit today: {reads._STATS_MAX_WINDOWS} sessions needing a window")
    print("\n| layout | sessions (streams, samples) | windows ms CPU (wall) | scan ms CPU (wall) "
          "| windows / scan, CPU |")
    print("| --- | --- | --- | --- | --- |")
    for layout in args.layout:
        built = build(Spec(today=la_day(int(time.time() * 1000)), layout=layout), log=lambda *_: None)
        store = DuckDBStore(str(built.path), read_only=True)
        try:
            cur = store.reader()
            span = tuple(cur.execute("SELECT min(created_at), max(created_at) + 86400000 FROM sessions").fetchall()[0])
            for n in args.sessions:
                streams = [(s, st) for s, st in cur.execute(
                    f"""SELECT session_id, stream_id FROM publishers WHERE project_id = '{BUSY}' AND session_id IN (
                          SELECT session_id FROM sessions WHERE project_id = '{BUSY}'
                          USING SAMPLE {int(n)} ROWS (reservoir, 11))""").fetchall()]
                with windows_only():
                    windows = timed_reads(store, streams, span, args.runs)
                with scan_only():
                    scan = timed_reads(store, streams, span, args.runs)
                assert windows["rows"] == scan["rows"], (windows, scan)
                print(f"| {layout} | {n:,} ({len(streams):,}, {windows['rows']:,}) | {windows['cpu']:,.0f} "
                      f"({windows['wall']:,.0f}) | {scan['cpu']:,.0f} ({scan['wall']:,.0f}) | "
                      f"{windows['cpu'] / scan['cpu']:.2f}x |", flush=True)
        finally:
            store.close()
    print(f"\nload averages after: {loadavg()}")
    print("reproduce: .venv/bin/python -m benchmarks.bench_far_stats " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
