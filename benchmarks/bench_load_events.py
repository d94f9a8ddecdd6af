"""What validating a chunk of load_events costs on each path: the Python checks (ingest/batch.py
validate_events) against the compiled path load_events takes when it can (ingest/load.py: orjson, then
ingest/fast.py's msgspec structs), on the same simulated chunks, alternated chunk by chunk; then one
load_events of the whole traffic into a fresh DuckDB file, for what validation is a part of.

    .venv/bin/python -m benchmarks.bench_load_events [--days 5] [--sessions-per-day 10] [--chunk 20000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import _validate, load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "31415926"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--sessions-per-day", type=float, default=10)
    parser.add_argument("--chunk", type=int, default=20_000, help="events per chunk (load_events' batch_size)")
    args = parser.parse_args()

    now = int(time.time() * 1000)
    start = day_start_ms(la_day(now) - timedelta(days=args.days - 1))
    events = [e for e in generate(PROJECT, start, args.days, args.sessions_per_day, seed=11) if e["timestamp"] <= now]
    chunks = [events[i : i + args.chunk] for i in range(0, len(events), args.chunk)]
    window = (0, now + 300_000)
    paths = {"Python checks": validate_events, "compiled (load_events)": _validate}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for chunk in chunks:
        results = []
        for name, validate in paths.items():
            c = time.process_time()
            results.append(validate(chunk, PROJECT, now, *window))
            cpu[name].append(time.process_time() - c)
        assert results[0].columns == results[1].columns and not results[0].rejected
    print(f"{len(events):,} events in {len(chunks)} chunks of up to {args.chunk:,}")
    base = statistics.median(cpu["Python checks"])
    print(f"{'path':<24} {'CPU ms per chunk (median)':>26} {'us per event':>13} {'vs Python':>10}")
    for name, times in cpu.items():
        ms = statistics.median(times) * 1000
        print(f"{name:<24} {ms:>26.1f} {ms * 1000 / min(args.chunk, len(events)):>13.2f} "
              f"{statistics.median(times) / base:>9.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "load.duckdb"))
        t, c = time.perf_counter(), time.process_time()
        loaded = load_events(store, PROJECT, events, batch_size=args.chunk)
        print(f"load_events of all of it into DuckDB: {time.perf_counter() - t:.2f} s wall, "
              f"{time.process_time() - c:.2f} s CPU ({loaded.accepted:,} accepted)")
        store.close()


if __name__ == "__main__":
    main()
