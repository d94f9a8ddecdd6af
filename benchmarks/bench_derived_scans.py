"""What a derive step's deletes cost as the store grows (issue 9): by session key alone, and with the time bound
the store adds (store/duckdb/schema.py, rows_of_keys), in the same run.

bench_load's history (7 days x 20 sessions/day, derived), then every derived row copied `--copies` times, shifted
1..N weeks back under other session ids (as a store that has run for months looks: older sessions' rows in older
row groups). For the newest `--sessions` sessions, each table's DELETE of their rows, in a transaction rolled back,
each way: CPU median of `--runs`, rows deleted (the same both ways).

    .venv/bin/python -m benchmarks.bench_derived_scans [--copies 50] [--sessions 40] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.bench_load import create_project, fill_template
from videoinsights.store.duckdb.schema import DERIVED_SESSION_TABLES, rows_of_keys
from videoinsights.store.duckdb.store import DuckDBStore

WEEK_MS = 7 * 86_400_000
KEY_ONLY = "(project_id, session_id) IN (SELECT project_id, session_id FROM keys)"
# each time column, shifted k weeks back
SHIFTED = {"created_at": f"created_at - r.k * {WEEK_MS}", "day": "day - CAST(r.k * 7 AS INTEGER)",
           "bucket": f"bucket - r.k * {WEEK_MS}", "start_ts": f"start_ts - r.k * {WEEK_MS}",
           "end_ts": f"end_ts - r.k * {WEEK_MS}"}


def inflate(store: DuckDBStore, copies: int) -> None:
    con = store._dcon
    for table in DERIVED_SESSION_TABLES:
        columns = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
        replaced = ", ".join(["c.session_id || '-' || r.k AS session_id",
                              *(f"{value} AS {column}" for column, value in SHIFTED.items() if column in columns)])
        con.execute(f"CREATE TEMP TABLE copy_{table} AS SELECT * FROM {table}")
        con.execute(f"INSERT INTO {table} SELECT c.* REPLACE ({replaced}) FROM copy_{table} c, "
                    f"range(1, {copies + 1}) r(k)")
    store.checkpoint()


def timed_delete(store: DuckDBStore, keys: list[tuple[str, str]], table: str, where: str,
                 runs: int) -> tuple[float, int]:
    con = store._dcon
    times, deleted = [], 0
    for _ in range(runs):
        con.execute("BEGIN")
        store._keys_now = None
        store._keys_table(keys)
        started = time.process_time()
        deleted = con.execute(f"DELETE FROM {table} WHERE {where}").fetchone()[0]
        times.append(time.process_time() - started)
        con.execute("ROLLBACK")
    return statistics.median(times), deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scans.duckdb"
        pid = str(create_project(path)["projectId"])
        print(f"history: {fill_template(path, pid, 7, 20, 1):,} events", flush=True)
        store = DuckDBStore(str(path))
        try:
            inflate(store, args.copies)
            keys = [tuple(r) for r in store._dcon.execute(
                "SELECT project_id, session_id FROM sessions JOIN session_bounds USING (project_id, session_id) "
                "ORDER BY created_at DESC LIMIT ?", [args.sessions]).fetchall()]
            totals = [0.0, 0.0]
            print(f"{'table':<26} {'rows':>10}  {'key only':>9}  {'bounded':>9}  ratio  deleted")
            for table in DERIVED_SESSION_TABLES:
                rows = store._dcon.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                key_only, deleted = timed_delete(store, keys, table, KEY_ONLY, args.runs)
                bounded, deleted_bounded = timed_delete(store, keys, table, rows_of_keys(table), args.runs)
                assert deleted == deleted_bounded, (table, deleted, deleted_bounded)
                totals[0] += key_only
                totals[1] += bounded
                print(f"{table:<26} {rows:>10,}  {key_only * 1000:>6.1f} ms  {bounded * 1000:>6.1f} ms  "
                      f"{bounded / key_only:>4.2f}x  {deleted:,}")
            print(f"{'all deletes of a step':<37}  {totals[0] * 1000:>6.1f} ms  {totals[1] * 1000:>6.1f} ms  "
                  f"{totals[1] / totals[0]:>4.2f}x")
        finally:
            store.close()


if __name__ == "__main__":
    main()
