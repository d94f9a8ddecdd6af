"""What a derive step's first reads cost as sessions pile up (issue 9): picking the dirty sessions, looking up their
first_ts, reading their stats_daily rows; each as the code before read it (the statements are kept here) and as the
store reads it now, in the same run, with the same answers.

bench_load's history (7 days x 20 sessions/day, derived), then `session_bounds`, `sessions` and `stats_daily`
copied `--copies` times under other session ids, 1-20 days back (~100 copies of the history a day: the default
2,000 copies are 308,000 sessions and 12.5 million stats_daily rows, about a day of issue 9's 10,000 events/s in
sessions and a week in stats rows). `--dirty` sessions are made dirty (a tenth of them never derived), and the
`--sessions` newest are the batch. CPU median of `--runs` each way.

    .venv/bin/python -m benchmarks.bench_step_inputs [--copies 2000] [--dirty 2000] [--sessions 250] [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from benchmarks.bench_derived_scans import copy
from benchmarks.bench_load import derived_history
from videoinsights.derive.inputs import STATS_COLUMNS
from videoinsights.store.duckdb.store import DuckDBStore

DAY_MS = 86_400_000
BACK = "CAST(r.k // 100 + 1 AS INTEGER)"  # copy k lies this many days back
SHIFTED = {
    "session_bounds": {"first_ts": f"first_ts - {BACK} * {DAY_MS}", "last_ts": f"last_ts - {BACK} * {DAY_MS}"},
    "sessions": {"created_at": f"created_at - {BACK} * {DAY_MS}"},
    "stats_daily": {"day": f"CAST(day - {BACK} AS DATE)", "first_ts": f"first_ts - {BACK} * {DAY_MS}",
                    "last_ts": f"last_ts - {BACK} * {DAY_MS}"},
}
# the code before: dirty sessions ordered by a lookup in `sessions`, first_ts joined from session_bounds, and
# every stats_daily row joined to the keys
BEFORE_DIRTY = """
SELECT d.project_id, d.session_id FROM dirty_sessions d
ORDER BY (d.project_id, d.session_id) IN (SELECT project_id, session_id FROM sessions
                                          WHERE session_id IN (SELECT session_id FROM dirty_sessions)),
         d.dirtied_seq, d.project_id, d.session_id
LIMIT ?"""
BEFORE_KEYS = """
CREATE OR REPLACE TEMP TABLE keys AS
SELECT k.project_id, k.session_id, coalesce(b.first_ts, 0) AS first_ts
FROM keys_in k LEFT JOIN session_bounds b USING (project_id, session_id)"""
# what both ways make (the store's keys table also carries written_seq and the bounds' rowid since)
KEY_COLUMNS = "SELECT project_id, session_id, first_ts FROM keys ORDER BY ALL"
BEFORE_STATS = f"""
SELECT {", ".join(f"s.{c}" for c in STATS_COLUMNS)}
FROM stats_daily s JOIN keys k ON s.project_id = k.project_id AND s.session_id = k.session_id
ORDER BY s.project_id, s.session_id, side, entity_id, day"""


def inflate(store: DuckDBStore, copies: int) -> None:
    for table, shifted in SHIFTED.items():
        replaced = ", ".join(["c.session_id || '-' || r.k AS session_id", *(f"{v} AS {c}" for c, v in shifted.items())])
        copy(store._dcon, table, replaced, copies)
    store.checkpoint()


def cpu(run: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.process_time()
        result = run()
        times.append(time.process_time() - started)
    return statistics.median(times), result


def before_keys(store: DuckDBStore, keys: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    con = store._dcon
    con.register("keys_in", pa.table({"project_id": [k[0] for k in keys], "session_id": [k[1] for k in keys]}))
    con.execute(BEFORE_KEYS)
    con.unregister("keys_in")
    return con.execute(KEY_COLUMNS).fetchall()


def keys_now(store: DuckDBStore, keys: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
    store._keys_now = None
    store._keys_table(keys)
    return store._dcon.execute(KEY_COLUMNS).fetchall()


def report(name: str, before: float, now: float) -> None:
    print(f"{name:<42} {before * 1000:>8.1f} ms  {now * 1000:>8.1f} ms  {now / before:>5.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2000)
    parser.add_argument("--dirty", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=250)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(derived_history(Path(tmp), 7, 20)))
        try:
            inflate(store, args.copies)
            con = store._dcon
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SHIFTED}
            print(", ".join(f"{t} {n:,} rows" for t, n in counts.items()))
            con.execute("DELETE FROM dirty_sessions")
            con.execute(f"""INSERT INTO dirty_sessions (project_id, session_id, dirtied_seq, never_derived)
                            SELECT project_id, session_id, row_number() OVER (), false FROM session_bounds
                            ORDER BY last_ts DESC LIMIT {args.dirty:d}""")
            con.execute("UPDATE dirty_sessions SET never_derived = true, dirtied_seq = dirtied_seq + 1000000 "
                        "WHERE dirtied_seq % 10 = 0")  # their sessions rows go too: never derived, dirtied last
            con.execute("DELETE FROM sessions WHERE (project_id, session_id) IN "
                        "(SELECT project_id, session_id FROM dirty_sessions WHERE never_derived)")
            print(f"{'':<42} {'before':>11}  {'now':>11}  ratio")
            before, picked_before = cpu(lambda: con.execute(BEFORE_DIRTY, [args.sessions]).fetchall(), args.runs)
            now, picked = cpu(lambda: store.dirty_sessions(args.sessions), args.runs)
            assert [tuple(k) for k in picked_before] == picked, "the same sessions, in the same order"
            report(f"pick {args.sessions} of {args.dirty:,} dirty sessions", before, now)
            keys = picked
            before, rows_before = cpu(lambda: before_keys(store, keys), args.runs)
            now, rows = cpu(lambda: keys_now(store, keys), args.runs)
            assert rows_before == rows
            report(f"their first_ts ({len(keys)} sessions)", before, now)
            keys_now(store, keys)  # the keys table both reads join (a step's events read made it before)
            before, stats_before = cpu(lambda: con.sql(BEFORE_STATS).to_arrow_table(), args.runs)
            now, stats = cpu(lambda: store.load_stats_table(keys), args.runs)
            assert stats_before.equals(stats), "the same stats_daily rows"
            report(f"their stats_daily rows ({stats.num_rows:,})", before, now)
        finally:
            store.close()


if __name__ == "__main__":
    main()
