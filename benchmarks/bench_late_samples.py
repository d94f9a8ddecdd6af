"""What late stats samples cost the absorb, parked and absorbed together (store/duckdb/late_samples.py) against
absorbed as they come (issues 9 and 12).

bench_load's dense day (benchmarks/common) delivered as bench_load delivers it (`--late` of the events 1-15 minutes
late, simulate/delivery.py): its first `--events` loaded in commits of 1,000 and absorbed every 10,000 events, as a
live server appends them (quality_samples in arrival order). Then, on a copy of that file each way (their order
alternated round by round): `--absorbs` absorbs of `--commits` commits of 1,000 events each, timed by CPU (this
process, DuckDB's threads included). Parked, the samples are taken every `--take-every` absorbs (the server: every
LATE_EVERY_S, 60 s, ~40 steps at 10,000 events/s) and at the end; the taking absorbs are in the total.

    .venv/bin/python -m benchmarks.bench_late_samples [--events 600000] [--late 0.01] [--absorbs 20]
        [--commits 10] [--take-every 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_load import loadavg
from benchmarks.common import DAY_MS, DENSE_DAY_SESSIONS
from videoinsights.ingest.load import load_events
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
COMMIT_EVENTS = 1_000


def absorbs(path: Path, later: list[dict[str, Any]], args: argparse.Namespace, park: bool) -> dict[str, float]:
    """The CPU of the absorbs of `later`; with `park`, the late samples parked and taken every args.take_every."""
    store = DuckDBStore(str(path), wal_autocheckpoint_mb=1_000_000)
    try:
        store.absorb_new_events()  # (what the file parked: taken here, not timed)
        store._late.newest = store._dcon.execute("SELECT max(ts) FROM quality_samples").fetchall()[0][0]
        if not park:
            store._late.park_before = lambda: None  # type: ignore[method-assign]
        per_absorb = args.commits * COMMIT_EVENTS
        spent = []
        for n in range(args.absorbs):
            load_events(store, PROJECT, later[n * per_absorb:(n + 1) * per_absorb], COMMIT_EVENTS)
            store._late.every_s = 0 if park and (n + 1) % args.take_every == 0 else float("inf")
            cpu = time.process_time()
            store.absorb_new_events()
            spent.append(time.process_time() - cpu)
        cpu = time.process_time()
        store.absorb_new_events()  # idle: takes what is still parked
        took = time.process_time() - cpu
        samples = store._dcon.execute("SELECT count(*) FROM quality_samples").fetchall()[0][0]
        return {"total": sum(spent) + took, "median": statistics.median(spent), "last take": took,
                "samples": samples}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--late", type=float, default=0.01)
    parser.add_argument("--absorbs", type=int, default=20)
    parser.add_argument("--commits", type=int, default=10)
    parser.add_argument("--take-every", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load averages before: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        origin = Path(tmp) / "origin"
        origin.mkdir()
        store = DuckDBStore(str(origin / "vi.duckdb"))
        traffic = deliver(generate(PROJECT, int(time.time() * 1000) - DAY_MS, 1, DENSE_DAY_SESSIONS, 7), 7,
                          args.late, 0.0)
        t = time.perf_counter()
        for _ in range(args.events // 10_000):  # absorbed as a live server does, every ~10,000 events
            load_events(store, PROJECT, islice(traffic, 10_000), COMMIT_EVENTS)
            store.absorb_new_events()
        later = list(islice(traffic, args.absorbs * args.commits * COMMIT_EVENTS))
        store.close()
        print(f"{args.events:,} events loaded and absorbed in {time.perf_counter() - t:.0f} s; "
              f"{len(later):,} to absorb", flush=True)
        results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for round_ in range(args.rounds):
            for park in (False, True) if round_ % 2 == 0 else (True, False):
                copy = Path(tmp) / f"r{round_}-{park}"
                shutil.copytree(origin, copy)
                result = absorbs(copy / "vi.duckdb", later, args, park)
                shutil.rmtree(copy)
                results[park].append(result)
                print(f"round {round_ + 1}, {'parked' if park else 'as they come'}: "
                      + ", ".join(f"{k} {v:.3f}" if k != "samples" else f"{k} {v:,.0f}" for k, v in result.items()),
                      flush=True)
    print(f"load averages after: {loadavg()}")
    med = {p: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for p, runs in results.items()}
    assert med[False]["samples"] == med[True]["samples"], "the two ways scored different samples"
    print(f"\nmedians of {args.rounds} rounds: {args.absorbs} absorbs of {args.commits:,} commits of "
          f"{COMMIT_EVENTS:,} events, {args.late:.0%} of the events late\n")
    print("| CPU, s | as they come | parked | ratio |")
    print("| --- | --- | --- | --- |")
    for key in ("total", "median", "last take"):
        base, ours = med[False][key], med[True][key]
        print(f"| {key} {'(per absorb)' if key == 'median' else ''} | {base:.3f} | {ours:.3f} | "
              f"{ours / base:.2f}x |" if base else f"| {key} | {base:.3f} | {ours:.3f} | - |")


if __name__ == "__main__":
    main()
