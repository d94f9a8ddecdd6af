"""What a derive step costs as the day fills up (issue 9). bench_load runs minutes of a dense day, so its day holds a
few thousand sessions; a platform at 10,000 events/s ends its day with ~180,000, and every statement that finds a
step's sessions among the day's rows (their deletes, the touched rollup groups, quality's reads of their
publishers and subscribers) and every rollup group it re-aggregates grows with them.

The start of bench_load's dense day (`--events`, derived), then every derived table's rows copied under other
session ids on the same day until it holds `--copies` + 1 times its sessions (as sessions that ended earlier: their
rows lie before the live ones', written by earlier steps), then `--steps` derive steps of `--sessions` after
`--chunk` new events each, inline (the statements and the derivation in this process). Prints the step's CPU
(median) and its phases at each size, with the ratio to the day as it was: the baseline is the same store before
the copies, in the same run.

    .venv/bin/python -m benchmarks.bench_day_growth [--copies 0 100 300] [--sessions 250] [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import islice
from pathlib import Path

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, now_ms
from videoinsights.derive.engine import derive_until_clean, finish_batch, start_batch
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.schema import DERIVED_SESSION_TABLES
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
PHASES = ("absorb_stats", "absorb_quality", "rows", "quality", "rollups", "commit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--copies", type=int, nargs="+", default=[0, 100, 300])
    parser.add_argument("--sessions", type=int, default=250)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=5_000, help="new events before each step")
    args = parser.parse_args()
    spd = round(10_000 * 86_400 / EVENTS_PER_SESSION)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "day.duckdb"))
        try:
            traffic = generate(PROJECT, now_ms() - DAY_MS, 1, spd, 7)
            load_events(store, PROJECT, islice(traffic, args.events))
            derive_until_clean(store)
            con = store._dcon
            sessions = con.execute("SELECT count(*) FROM session_bounds").fetchall()[0][0]
            stamps = {}
            for table in DERIVED_SESSION_TABLES:  # the rows each copy repeats
                con.execute(f"CREATE TEMP TABLE original_{table} AS SELECT * FROM {table}")
                stamps[table] = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
            print(f"{args.events:,} events, {sessions:,} sessions derived; steps of {args.sessions} sessions after "
                  f"{args.chunk:,} new events each, CPU median of {args.steps}")
            print(f"| sessions in the day | subscribers rows | step ms CPU | ratio | {' | '.join(PHASES)} (ms wall) |")
            print(f"| --- | --- | --- | --- | {' | '.join('---' for _ in PHASES)} |")
            made, baseline = 1, None
            for copies in args.copies:
                if copies + 1 > made:
                    for table in DERIVED_SESSION_TABLES:
                        # sessions that ended before: written by earlier steps than any live one (where rows carry
                        # the step that wrote them, schema.WRITE_SEQ_COLUMNS)
                        stamped = ", 0 AS write_seq" if "write_seq" in stamps[table] else ""
                        con.execute(f"INSERT INTO {table} SELECT c.* REPLACE (c.session_id || '-' || r.k AS "
                                    f"session_id{stamped}) FROM original_{table} c, range({made}, {copies + 1}) r(k) "
                                    "ORDER BY r.k")
                    made = copies + 1
                    store.checkpoint()
                cpu, phases = [], {p: [] for p in PHASES}
                for _ in range(args.steps):
                    load_events(store, PROJECT, islice(traffic, args.chunk))
                    store.timings = {}
                    started = time.process_time()
                    batch = start_batch(store, args.sessions)
                    if batch is not None:
                        finish_batch(store, batch)
                    cpu.append(time.process_time() - started)
                    for phase in PHASES:
                        phases[phase].append(store.timings.get(phase, 0.0))
                store.timings = None
                step = statistics.median(cpu)
                baseline = baseline or step
                rows = con.execute("SELECT count(*) FROM subscribers").fetchall()[0][0]
                print(f"| {sessions * made:,} | {rows:,} | {step * 1000:.0f} | {step / baseline:.2f}x | "
                      + " | ".join(f"{statistics.median(phases[p]) * 1000:.0f}" for p in PHASES) + " |", flush=True)
        finally:
            store.close()


if __name__ == "__main__":
    main()
