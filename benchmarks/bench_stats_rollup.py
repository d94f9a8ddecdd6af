"""Cost of the stream-metric sums in stats_daily (issue 8): folding stats samples into stats_daily with the
extension columns (jitter, RTT, frame rate, freezes, available outgoing bitrate sums and counts, quality
limitation counts) against the same statement without them, on the same samples in the same run.

    .venv/bin/python -m benchmarks.bench_stats_rollup [--samples 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from random import Random

from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb import store as duckdb_store
from videoinsights.store.duckdb.store import DuckDBStore


def samples(n: int, now: int) -> list[dict]:
    """n publisher/subscriber samples of 2,000 sessions, every field the collector sends."""
    r = Random(1).random
    out: list[dict] = []
    for i in range(n):
        session, entity = f"s{i % 2000}", i % 8000
        ev = {"id": f"e{i}", "sessionId": session, "timestamp": now - 3_600_000 + (i // 8000) * 30_000,
              "videoBitrateKbps": 300 + 900 * r(), "videoLatencyMs": 40 + 200 * r(), "jitterMs": 20 * r(),
              "roundTripMs": 30 + 150 * r(), "frameRate": 15 + 15 * r(), "freezeCount": int(3 * r())}
        if entity % 2:
            ev.update(type="subscriberStats", subscriberId=f"sub{entity}")
        else:
            ev.update(type="publisherStats", streamId=f"st{entity}", availableOutgoingBitrateKbps=500 + 2000 * r(),
                      qualityLimitationReason="bandwidth" if r() < 0.2 else "none")
        out.append(ev)
    return out


def baseline_sql() -> str:
    """The absorb statement as it was before the extension columns (they keep their default 0)."""
    saved = (duckdb_store.STATS_MEANS, duckdb_store.QUALITY_LIMITATION_REASONS, duckdb_store.STATS_EXTRA_COLUMNS)
    duckdb_store.STATS_MEANS, duckdb_store.QUALITY_LIMITATION_REASONS, duckdb_store.STATS_EXTRA_COLUMNS = (), (), ()
    try:
        sql = duckdb_store._absorb_stats_sql()
        # the builder always appends the extension parts: drop their now empty lists
        edits = (("count(br), \nFROM", "count(br)\nFROM"), ("AS br, , quality_limitation_reason,", "AS br,"))
        for empty, gone in edits:
            assert empty in sql, empty
            sql = sql.replace(empty, gone)
        return sql
    finally:
        duckdb_store.STATS_MEANS, duckdb_store.QUALITY_LIMITATION_REASONS, duckdb_store.STATS_EXTRA_COLUMNS = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "bench.duckdb"))
        load_events(store, "1", samples(args.samples, int(time.time() * 1000)))
        store.absorb_new_events()  # session bounds and dirty sessions, for the derivation at the end
        con = store._con
        variants = {"without extension columns": baseline_sql(),
                    "with extension columns": duckdb_store._ABSORB_STATS_SQL}
        timings: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeat):  # interleaved, so that host noise hits both alike
            for name, sql in variants.items():
                con.execute("DELETE FROM stats_daily")
                started = time.perf_counter()
                con.execute(sql, {"lo": -1, "hi": store._seq})
                timings[name].append(time.perf_counter() - started)
        rows = con.execute("SELECT count(*) FROM stats_daily").fetchone()[0]
        print(f"{args.samples:,} samples -> {rows:,} stats_daily rows; median of {args.repeat}:")
        for name, times in timings.items():
            print(f"  absorb {name}: {statistics.median(times) * 1000:.0f} ms")
        base, ext = (statistics.median(t) for t in timings.values())
        print(f"  ratio: {ext / base:.2f}x")
        store.mark_all_dirty()
        started = time.perf_counter()
        sessions = derive_until_clean(store)
        print(f"  derive all {sessions} sessions afterwards: {time.perf_counter() - started:.1f} s")
        store.close()


if __name__ == "__main__":
    main()
