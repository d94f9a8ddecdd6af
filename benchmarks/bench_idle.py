"""What the derive thread costs when there is (almost) nothing to derive: `dirty_sessions`, asked four times a
second by an idle server, on a store holding many derived sessions (the `bench_api` database has 223,000).

The store gets `--sessions` session rows (through `replace_derived`, as derivation writes them), then the CPU
time of `dirty_sessions(limit)` is measured with nothing dirty, and with `--dirty` of those sessions plus
`--new` never-derived ones dirtied by real ingested events. Run it with another checkout's code to compare:

    .venv/bin/python -m benchmarks.bench_idle [--sessions 223000] [--dirty 2000] [--new 300] [--runs 40]
    cd /work/main && PYTHONPATH=/work/main .venv/bin/python /path/to/this/benchmarks/bench_idle.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from benchmarks.common import median_ms
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"


def cpu_ms(call, runs: int) -> float:  # type: ignore[no-untyped-def]
    """Median CPU time of `call()` in ms (this process, DuckDB's threads included)."""
    return median_ms(call, runs, warmup=0, clock=time.process_time)


def session_rows(ids: list[str], now: int) -> pa.Table:
    n = len(ids)
    return pa.table({"project_id": [PROJECT] * n, "session_id": ids, "media_mode": ["routed"] * n,
                     "created_at": [now - 3_600_000] * n, "last_seen_at": [now] * n, "meeting_count": [1] * n,
                     "publisher_minutes": [1.0] * n, "subscriber_minutes": [1.0] * n})


def connect(session: str, ts: int) -> dict[str, object]:
    return {"id": f"{session}-c", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": f"{session}-c"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=223_000, help="derived sessions in the store")
    parser.add_argument("--dirty", type=int, default=2_000, help="of them dirtied again")
    parser.add_argument("--new", type=int, default=300, help="never-derived sessions dirtied")
    parser.add_argument("--limit", type=int, default=500, help="dirty_sessions(limit): 2 x a batch")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    now = int(time.time() * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "idle.duckdb"))
        ids = [f"s{i:07d}" for i in range(args.sessions)]
        store.replace_derived([(PROJECT, s) for s in ids], {"sessions": [session_rows(ids, now)]})
        idle = cpu_ms(lambda: store.dirty_sessions(args.limit), args.runs)
        load_events(store, PROJECT, [connect(s, now) for s in ids[: args.dirty]], batch_size=1000)
        load_events(store, PROJECT, [connect(f"new{i}", now) for i in range(args.new)], batch_size=1000)
        store.absorb_new_events()
        picked = store.dirty_sessions(args.limit)
        assert all(s.startswith("new") for _, s in picked[: min(args.new, args.limit)]), "never-derived first"
        busy = cpu_ms(lambda: store.dirty_sessions(args.limit), args.runs)
        store.close()
    print(f"{args.sessions:,} derived sessions: dirty_sessions({args.limit}) CPU ms, median of {args.runs}: "
          f"nothing dirty {idle:.2f}; {args.dirty:,} + {args.new:,} new dirty {busy:.2f} "
          f"(4 calls/s idle: {idle * 4 / 10:.1f}% of a core)")


if __name__ == "__main__":
    main()
