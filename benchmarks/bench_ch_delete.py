"""What a derive step costs on ClickHouse's engine (chdb) when its DELETEs write patch parts (schema 3:
the derived tables keep their block columns) against a store whose tables have those columns off, where each
DELETE is a mutation it waits for (the store's fallback); then what reads of the derived
tables cost on each after those steps (patch parts are applied by reads until merges fold them in). Two
databases of one chdb directory, the same data, their steps alternated.

    .venv/bin/python -m benchmarks.bench_ch_delete [--days 1] [--sessions-per-day 8] [--steps 8] [--batch 1]

A step is what the derive thread runs: mark every session dirty, then read, derive and replace `--batch`
of them (derive.engine start_batch + finish_batch, no worker process).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from videoinsights.derive.engine import derive_all, finish_batch, start_batch
from videoinsights.derive.quality import QualityThresholds
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.settings import Settings
from videoinsights.simulate.generator import generate
from videoinsights.store.clickhouse.schema import DERIVED_SESSION_TABLES
from videoinsights.store.open import open_store

PROJECT = "12345678"
MODES = {"patch parts": 1, "mutations": 0}
READS = {
    "minutes per session (session_endpoint_days)":
        "SELECT session_id, sum(published_minutes) FROM session_endpoint_days GROUP BY session_id",
    "subscribers of every session": "SELECT * FROM subscribers",
}


def set_mode(store: Any, on: int) -> None:
    for table in DERIVED_SESSION_TABLES:
        store.client.command(
            f"ALTER TABLE {table} MODIFY SETTING enable_block_number_column = {on}, enable_block_offset_column = {on}")


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--sessions-per-day", type=float, default=8)
    parser.add_argument("--steps", type=int, default=8, help="steps per mode")
    parser.add_argument("--batch", type=int, default=1, help="sessions per step")
    parser.add_argument("--reads", type=int, default=20, help="runs of each read per mode")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="bench-ch-delete-")
    stores = {mode: open_store(f"chdb://{directory}?database=bench_{on}") for mode, on in MODES.items()}
    start = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=args.days + 1))
    events = list(generate(PROJECT, start, args.days, args.sessions_per_day, seed=3))
    for mode, store in stores.items():
        load_events(store, PROJECT, events)
        sessions = derive_all(store)
        set_mode(store, MODES[mode])
    quality = QualityThresholds.from_settings(Settings())
    print(f"{len(events)} events, {sessions} sessions derived in each; {args.steps} steps of {args.batch} per mode")

    wall: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(args.steps):
        for mode, store in stores.items():
            store.mark_all_dirty()
            t, c = time.perf_counter(), time.process_time()
            finish_batch(store, start_batch(store, args.batch, None, quality))
            wall[mode].append(time.perf_counter() - t)
            cpu[mode].append(time.process_time() - c)
    base = "mutations"
    print(f"{'mode':<12} {'step wall ms':>13} {'step CPU ms':>12} {'wall vs ' + base:>18} {'parts':>6}")
    for mode, store in stores.items():
        parts = store.client.query_rows(
            "SELECT count() FROM system.parts WHERE database = currentDatabase() AND active AND table IN "
            "{t:Array(String)}", {"t": list(DERIVED_SESSION_TABLES)})[0][0]
        ratio = median_ms(wall[mode]) / median_ms(wall[base])
        print(f"{mode:<12} {median_ms(wall[mode]):>13.0f} {median_ms(cpu[mode]):>12.0f} {ratio:>17.2f}x {parts:>6}")

    reads: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.reads):
        for name, sql in READS.items():
            for mode, store in stores.items():
                t = time.perf_counter()
                store.client.query_rows(sql)
                reads.setdefault((name, mode), []).append(time.perf_counter() - t)
    print(f"reads after the steps, wall ms (median of {args.reads}):")
    for name in READS:
        cells = ", ".join(f"{mode} {median_ms(reads[name, mode]):.1f}" for mode in MODES)
        print(f"  {name}: {cells}")
    for store in stores.values():
        store.close()


if __name__ == "__main__":
    main()
