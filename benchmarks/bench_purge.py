"""The retention purge of one expired day: how long it holds the derive lock (and the writer thread, ingest), with the
expired sessions' rows deleted at once (`videoinsights purge`) against left to pieces between commits (the server:
`purge(..., sessions_apart=True)`, then `purge_sessions` SESSIONS_PURGE_PIECE at a time, store/writer.py).

On a copy of bench_api's store as appended (`--layout arrival`: 223,000 sessions over 21 days, 34.6 million samples),
each round, the two ways alternated: the oldest day of samples expires (raw retention), the daily rollups are kept.
Wall time and CPU of this process (DuckDB's threads included); the medians, and the ratio apart / at once.

    .venv/bin/python -m benchmarks.bench_purge [--rounds 2]          # ~1 min a round (+1.5 min for a first build)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.apidata import Spec, build
from benchmarks.bench_compaction import copy_store
from benchmarks.bench_load import loadavg
from videoinsights.domain.days import la_day
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import SESSIONS_PURGE_PIECE

T = TypeVar("T")


def timed(call: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float, float]:
    """(result, wall s, CPU s) of call(*args, **kwargs)."""
    w, c = time.perf_counter(), time.process_time()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - w, time.process_time() - c


def one_purge(source: Path, apart: bool) -> dict[str, float]:
    """Purge the oldest day of a fresh copy of `source`, at once or with its sessions apart (then their pieces)."""
    store = DuckDBStore(str(copy_store(source)))  # (the dedup keys copied too: else rebuilt from every raw row)
    try:
        oldest: date = store.reader().execute("SELECT min(day) FROM stats_samples").fetchall()[0][0]
        raw_before = oldest + timedelta(days=1)
        kept = oldest - timedelta(days=60)  # daily and monthly rollups are kept far longer than raw rows
        counts, wall, cpu = timed(store.purge, raw_before=raw_before, daily_before=kept,
                                  monthly_before=kept.replace(day=1), sessions_apart=apart)
        pieces: list[float] = []
        while apart:
            went, piece_wall, _ = timed(store.purge_sessions, raw_before, SESSIONS_PURGE_PIECE)
            pieces.append(piece_wall)
            if went < SESSIONS_PURGE_PIECE:
                break
    finally:
        store.close()
    return {"wall": wall, "cpu": cpu, "samples": counts["stats_samples"],
            "pieces": len(pieces), "piece_p50": statistics.median(pieces) if pieces else 0.0,
            "piece_max": max(pieces, default=0.0), "pieces_total": sum(pieces)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    built = build(Spec(today=la_day(int(time.time() * 1000)), layout="arrival"))
    print(f"copies of {built.path.name}: {built.rows['stats_samples']:,} samples, {built.rows['sessions']:,} "
          f"sessions; pieces of {SESSIONS_PURGE_PIECE:,} sessions; load averages before: {loadavg()}")
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for round_ in range(args.rounds):
        for apart in (False, True) if round_ % 2 == 0 else (True, False):
            result = one_purge(built.path, apart)
            results[apart].append(result)
            print(f"round {round_ + 1}, {'sessions apart' if apart else 'at once'}: lock held {result['wall']:.2f} s "
                  f"({result['cpu']:.2f} s CPU, {result['samples']:,.0f} samples)"
                  + (f", then {result['pieces']:.0f} pieces: median {result['piece_p50']:.3f} s, max "
                     f"{result['piece_max']:.3f} s" if apart else ""), flush=True)
    print(f"load averages after: {loadavg()}")
    med = {apart: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for apart, runs in results.items()}
    print(f"\nmedians of {args.rounds} rounds\n")
    print("| measure | at once | sessions apart | ratio |")
    print("| --- | --- | --- | --- |")
    for key, label in (("wall", "lock held, s"), ("cpu", "CPU under the lock, s")):
        print(f"| {label} | {med[False][key]:.2f} | {med[True][key]:.2f} | {med[True][key] / med[False][key]:.2f}x |")
    print(f"| pieces after (median / max s; all) | - | {med[True]['piece_p50']:.3f} / {med[True]['piece_max']:.3f}; "
          f"{med[True]['pieces']:.0f} in {med[True]['pieces_total']:.2f} s | |")
    print("reproduce: .venv/bin/python -m benchmarks.bench_purge " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
