"""What a derive step costs on ClickHouse's engine (chdb) when its DELETEs write patch parts (schema 3:
the derived tables keep their block columns) against the same store with those columns off, where each
DELETE is a mutation (started together, waited for once: schema 2's path). Same process, same data, the two
modes alternated step by step (`ALTER TABLE ... MODIFY SETTING` switches a table between them).

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


def set_mode(store: object, on: int) -> None:
    for table in DERIVED_SESSION_TABLES:
        store.client.command(  # type: ignore[attr-defined]
            f"ALTER TABLE {table} MODIFY SETTING enable_block_number_column = {on}, enable_block_offset_column = {on}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--sessions-per-day", type=float, default=8)
    parser.add_argument("--steps", type=int, default=8, help="steps per mode")
    parser.add_argument("--batch", type=int, default=1, help="sessions per step")
    args = parser.parse_args()

    store = open_store(f"chdb://{tempfile.mkdtemp(prefix='bench-ch-delete-')}?database=bench")
    start = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=args.days + 1))
    loaded = load_events(store, PROJECT, generate(PROJECT, start, args.days, args.sessions_per_day, seed=3))
    sessions = derive_all(store)
    quality = QualityThresholds.from_settings(Settings())
    print(f"{loaded.accepted} events, {sessions} sessions derived; {args.steps} steps of {args.batch} per mode")

    wall: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    for _ in range(args.steps):
        for mode, on in MODES.items():
            set_mode(store, on)
            store.mark_all_dirty()
            t, c = time.perf_counter(), time.process_time()
            finish_batch(store, start_batch(store, args.batch, None, quality))
            wall[mode].append(time.perf_counter() - t)
            cpu[mode].append(time.process_time() - c)
    parts = store.client.query_rows(
        "SELECT count() FROM system.parts WHERE database = currentDatabase() AND active AND table IN "
        "{t:Array(String)}", {"t": list(DERIVED_SESSION_TABLES)})[0][0]
    base = "mutations"
    print(f"{'mode':<12} {'wall ms (median)':>17} {'CPU ms (median)':>16} {'wall vs ' + base:>18}")
    for mode in MODES:
        w, c = statistics.median(wall[mode]) * 1000, statistics.median(cpu[mode]) * 1000
        ratio = w / (statistics.median(wall[base]) * 1000)
        print(f"{mode:<12} {w:>17.0f} {c:>16.0f} {ratio:>17.2f}x")
    print(f"active parts of the derived tables at the end: {parts}")
    store.close()


if __name__ == "__main__":
    main()
