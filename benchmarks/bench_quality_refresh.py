"""What a live derive step's write costs when its sessions that are dirty again keep their recent sample quality
(setting quality_refresh_s, store/duckdb/rescoring.py) against re-scoring all of them (0), on the same data.

bench_load's dense day (benchmarks/common.dense_day, ~360,000 sessions a day): its first `--events` loaded and
derived, copied once. Each round, on a fresh copy of that file and for each setting (their order alternated
round by round): `--commits` commits of 1,000 events; a step of `--sessions` (it scores them: the clock of
rescoring.py starts); as many commits more; the same sessions read again (live sessions are derived again and
again); as many commits more, absorbed, as under load while a batch is away in the workers; then that step's
write (`replace_derived`) is timed: CPU of this process, DuckDB's threads included, and its phases (`rows`
includes finding the sessions dirty again and keeping their sample measures). Inline: no worker process.

    .venv/bin/python -m benchmarks.bench_quality_refresh [--events 200000] [--commits 10] [--sessions 300]
        [--rounds 6]
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
from benchmarks.common import dense_day
from videoinsights.derive.engine import derive_tables, derive_until_clean, finish_batch, start_batch
from videoinsights.derive.quality import QualityThresholds
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
COMMIT_EVENTS = 1_000
KEPT_S = 3600  # longer than any run: every session dirty again keeps its quality


def one_write(path: Path, refresh_s: int, later: list[dict[str, Any]], sessions: int) -> dict[str, float]:
    """The timed write of a step whose sessions got commits while away; its CPU, phases and sessions kept."""
    # (no automatic checkpoint: the timed commit would include one whenever the WAL happened to pass its threshold)
    store = DuckDBStore(str(path), quality_refresh_s=refresh_s, wal_autocheckpoint_mb=1_000_000)
    quality = QualityThresholds()
    third = len(later) // 3
    try:
        load_events(store, PROJECT, later[:third], COMMIT_EVENTS)
        first = start_batch(store, sessions, quality=quality)
        assert first is not None
        finish_batch(store, first)  # scores them now
        load_events(store, PROJECT, later[third:2 * third], COMMIT_EVENTS)
        store.absorb_new_events()
        keys = first.keys  # derived again (live sessions are dirty again and again)
        loaded = store.derived_seq
        tables, _, _ = derive_tables(keys, store.load_session_event_table(keys), store.load_stats_table(keys), quality)
        load_events(store, PROJECT, later[2 * third:], COMMIT_EVENTS)
        store.absorb_new_events()
        store.checkpoint_raw()
        store.checkpoint()
        store.timings = {}
        cpu = time.process_time()
        store.replace_derived(keys, {name: [rows] for name, rows in tables.items()}, quality, loaded)
        result = {"cpu": time.process_time() - cpu, "sessions": len(keys), "kept": store.quality_kept()}
        return {**result, **store.timings}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--commits", type=int, default=10, help="commits of 1,000 events before each step's part")
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    print(f"load averages before: {loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        origin = Path(tmp) / "origin"
        origin.mkdir()
        store = DuckDBStore(str(origin / "vi.duckdb"))
        later = list(islice(dense_day(store, PROJECT, args.events), 3 * args.commits * COMMIT_EVENTS))
        derive_until_clean(store, batch=1000)
        store.close()
        results: dict[int, list[dict[str, float]]] = {0: [], KEPT_S: []}
        for round_ in range(args.rounds):
            for refresh_s in (0, KEPT_S) if round_ % 2 == 0 else (KEPT_S, 0):
                copy = Path(tmp) / f"r{round_}-{refresh_s}"
                shutil.copytree(origin, copy)
                result = one_write(copy / "vi.duckdb", refresh_s, later, args.sessions)
                shutil.rmtree(copy)
                results[refresh_s].append(result)
                phases = ", ".join(f"{k} {v:.3f}" for k, v in result.items() if k not in ("cpu", "sessions", "kept"))
                print(f"round {round_ + 1}, quality_refresh_s {refresh_s}: {result['sessions']:.0f} sessions, "
                      f"{result['kept']:.0f} kept their quality; write CPU {result['cpu']:.3f} s ({phases})",
                      flush=True)
    print(f"load averages after: {loadavg()}")
    medians = {r: {k: statistics.median(x[k] for x in runs) for k in runs[0]} for r, runs in results.items()}
    print(f"\nmedians of {args.rounds} rounds (s of the timed write; phases in wall time)\n")
    print("| measure | re-scored (0) | kept (quality_refresh_s " f"{KEPT_S}) | ratio |")
    print("| --- | --- | --- | --- |")
    for key in ("cpu", "rows", "quality", "rollups", "commit", "kept"):
        base, ours = medians[0].get(key, 0.0), medians[KEPT_S].get(key, 0.0)
        ratio = f"{ours / base:.2f}x" if base else "-"
        print(f"| {key} | {base:.3f} | {ours:.3f} | {ratio} |")


if __name__ == "__main__":
    main()
