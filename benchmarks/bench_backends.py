"""Ingest and derivation on each store backend, side by side: DuckDB and ClickHouse's engine in-process
(chdb). The same simulated traffic (bench_load's dense day) is appended in 1,000-event commits, then
every session is derived in cycles of `--batch` sessions, inline (no worker process).

Both engines run inside this process, so CPU seconds (user + system of the process, engine threads
included) measure the whole cost and barely move when other programs share the machine; wall-clock
rates are given too, with the load averages. A ClickHouse server adds the network and moves the
engine's CPU to its own machine.

    .venv/bin/python -m benchmarks.bench_backends [--events 100000] [--batch 250] [--backends duckdb chdb]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import islice
from pathlib import Path

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, cpu_seconds, loadavg, now_ms
from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.open import open_store

PROJECT = "12345678"


def run(backend: str, tmp: Path, events: list[dict], batch: int) -> dict[str, float]:
    url = f"duckdb://{tmp}/b.duckdb" if backend == "duckdb" else f"chdb://{tmp}/chdb?database=bench"
    store = open_store(url)
    try:
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        loaded = load_events(store, PROJECT, iter(events), batch_size=1000)
        ingest_cpu, ingest_wall = cpu_seconds() - cpu0, time.monotonic() - wall0
        sessions = 0
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        while True:
            done, failed = derive_pending(store, batch)
            if done + failed == 0:
                break
            sessions += done
        derive_cpu, derive_wall = cpu_seconds() - cpu0, time.monotonic() - wall0
    finally:
        store.close()
    return {"events": loaded.accepted, "ingest_eps": loaded.accepted / ingest_wall,
            "ingest_cpu_us": ingest_cpu * 1e6 / loaded.accepted, "sessions": sessions,
            "derive_sps": sessions / derive_wall, "derive_cpu_ms": derive_cpu * 1000 / max(sessions, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=250, help="sessions per derive cycle")
    parser.add_argument("--rate", type=float, default=10_000, help="density of bench_load's traffic at this rate")
    parser.add_argument("--backends", nargs="+", default=["duckdb", "chdb"], choices=["duckdb", "chdb"])
    args = parser.parse_args()
    spd = round(args.rate * 86_400 / EVENTS_PER_SESSION)
    events = list(islice(generate(PROJECT, now_ms() - DAY_MS, 1, spd, 7), args.events))
    print(f"{len(events):,} events ({spd:,} sessions/day); load averages before: {loadavg()}")
    print("| backend | events | ingest events/s (wall) | ingest CPU µs / event | sessions | "
          "derived sessions/s (wall) | derive CPU ms / session |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp:
            r = run(backend, Path(tmp), events, args.batch)
        print(f"| {backend} | {r['events']:,.0f} | {r['ingest_eps']:,.0f} | {r['ingest_cpu_us']:.1f} | "
              f"{r['sessions']:,.0f} | {r['derive_sps']:,.0f} | {r['derive_cpu_ms']:.2f} |", flush=True)
    print(f"load averages after: {loadavg()}")


if __name__ == "__main__":
    main()
