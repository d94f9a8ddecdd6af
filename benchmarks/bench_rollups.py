"""What a derive step's daily and monthly rollups cost as the day fills up (issue 9): re-aggregating every
contribution of the touched groups (the code before; its statements are kept here) against adding the batch's
difference (store/duckdb/rollups.py), in the same run, on the same store, with the same answers.

The start of bench_load's dense day (`--events`, derived), then its per-session day contributions
(`session_endpoint_days`, `session_project_days`) copied under other session ids until the day holds `--copies`
times its sessions (cumulative, one row per value; the rollups aggregated again from them): 300 copies of the
default ~650 sessions are about a whole day of issue 9's 10,000 events/s (180,000 sessions). The batch is the
`--sessions` newest sessions, whose rows are read as a step reads them (old sums before the delete, new sums after
the insert; the rows are left as they are, so both ways leave every rollup unchanged, which is checked). CPU median
of `--runs`, each in a transaction rolled back.

    .venv/bin/python -m benchmarks.bench_rollups [--copies 0 30 100 300] [--sessions 250] [--runs 9]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, now_ms
from videoinsights.derive.engine import derive_until_clean
from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES, PROJECT_MEASURES
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.rollups import apply_contributions, record_contributions
from videoinsights.store.duckdb.schema import ROLLUP_TABLES, rows_of_keys
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
DIMS = ", ".join(DIMENSIONS)
ECOLS = f"{DIMS}, {', '.join(ENDPOINT_MEASURES)}"
PCOLS = ", ".join(PROJECT_MEASURES)
ESUMS = ", ".join(f"sum({m})" for m in ENDPOINT_MEASURES)
PSUMS = ", ".join(f"sum({m})" for m in PROJECT_MEASURES)
MONTH = "CAST(date_trunc('month', day) AS DATE)"
SAME_DIMS = " AND ".join(f"g.{d} IS NOT DISTINCT FROM t.{d}" for d in DIMENSIONS)

# The code before (store.py's _record_touched and _refresh_rollups until this change): the touched groups, then
# each touched group's rows deleted and aggregated again from all of its contributions.
TOUCHED = (
    ("touched_groups", f"SELECT DISTINCT project_id, day, {DIMS} FROM session_endpoint_days "
                       f"WHERE {rows_of_keys('session_endpoint_days')}"),
    ("touched_days", "SELECT DISTINCT project_id, day FROM session_project_days "
                     f"WHERE {rows_of_keys('session_project_days')}"),
)
_IN_GROUPS = ("EXISTS (SELECT 1 FROM touched_groups g WHERE g.project_id = t.project_id AND g.day = t.day "
              f"AND {SAME_DIMS})")
_TOUCHED = "SELECT project_id, day FROM touched_days UNION ALL SELECT project_id, day FROM touched_groups"
_IN_DAYS = f"(project_id, day) IN ({_TOUCHED})"
_IN_MONTHS = f"(project_id, month) IN (SELECT project_id, {MONTH} FROM ({_TOUCHED}))"
_IN_MONTH_GROUPS = ("EXISTS (SELECT 1 FROM touched_month_groups g WHERE g.project_id = t.project_id "
                    f"AND g.month = t.month AND {SAME_DIMS})")
BEFORE_REFRESH = (
    f"DELETE FROM rollup_endpoint_daily t WHERE {_IN_GROUPS}",
    f"INSERT INTO rollup_endpoint_daily (project_id, day, {ECOLS}) SELECT project_id, day, {DIMS}, {ESUMS} "
    f"FROM session_endpoint_days t WHERE {_IN_GROUPS} GROUP BY project_id, day, {DIMS}",
    f"DELETE FROM rollup_project_daily WHERE {_IN_DAYS}",
    f"INSERT INTO rollup_project_daily (project_id, day, {PCOLS}) SELECT project_id, day, {PSUMS} "
    f"FROM session_project_days WHERE {_IN_DAYS} GROUP BY project_id, day",
    f"CREATE OR REPLACE TEMP TABLE touched_month_groups AS SELECT DISTINCT project_id, {MONTH} AS month, {DIMS} "
    "FROM touched_groups",
    f"DELETE FROM rollup_endpoint_monthly t WHERE {_IN_MONTH_GROUPS}",
    f"INSERT INTO rollup_endpoint_monthly (project_id, month, {ECOLS}) SELECT project_id, month, {DIMS}, {ESUMS} "
    f"FROM (SELECT *, {MONTH} AS month FROM rollup_endpoint_daily) t WHERE {_IN_MONTH_GROUPS} "
    f"GROUP BY project_id, month, {DIMS}",
    f"DELETE FROM rollup_project_monthly WHERE {_IN_MONTHS}",
    f"INSERT INTO rollup_project_monthly (project_id, month, {PCOLS}) SELECT project_id, month, {PSUMS} "
    f"FROM (SELECT *, {MONTH} AS month FROM rollup_project_daily) WHERE {_IN_MONTHS} GROUP BY ALL",
)
# The rollups from scratch (after the copies).
FROM_SCRATCH = (
    *(f"DELETE FROM {t}" for t in ROLLUP_TABLES),
    f"INSERT INTO rollup_endpoint_daily (project_id, day, {ECOLS}) SELECT project_id, day, {DIMS}, {ESUMS} "
    f"FROM session_endpoint_days GROUP BY project_id, day, {DIMS}",
    f"INSERT INTO rollup_project_daily (project_id, day, {PCOLS}) SELECT project_id, day, {PSUMS} "
    "FROM session_project_days GROUP BY project_id, day",
    f"INSERT INTO rollup_endpoint_monthly (project_id, month, {ECOLS}) SELECT project_id, {MONTH}, {DIMS}, {ESUMS} "
    f"FROM session_endpoint_days GROUP BY ALL",
    f"INSERT INTO rollup_project_monthly (project_id, month, {PCOLS}) SELECT project_id, {MONTH}, {PSUMS} "
    "FROM session_project_days GROUP BY ALL",
)


def before(store: DuckDBStore) -> None:
    con = store._dcon
    for table, select in TOUCHED:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
    for table, select in TOUCHED:  # added to once the new rows are in
        con.execute(f"INSERT INTO {table} {select}")
    for sql in BEFORE_REFRESH:
        con.execute(sql)


def by_delta(store: DuckDBStore) -> None:
    record_contributions(store._dcon, create=True)
    record_contributions(store._dcon, create=False)
    apply_contributions(store._dcon)


def rolled_back(store: DuckDBStore, step: Callable[[DuckDBStore], None], runs: int) -> tuple[float, list[Any]]:
    """CPU median of `step` in a transaction rolled back, and the rollups it left (the last run)."""
    con, times, rows = store._dcon, [], []
    for _ in range(runs):
        con.execute("BEGIN")
        started = time.process_time()
        step(store)
        times.append(time.process_time() - started)
        rows = [sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ROLLUP_TABLES]
        con.execute("ROLLBACK")
    return statistics.median(times), rows


def same(a: list[Any], b: list[Any]) -> bool:
    return all(len(x) == len(y) and all(
        len(r) == len(s) and all(math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9) if isinstance(u, float) else u == v
                                 for u, v in zip(r, s, strict=True)) for r, s in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--copies", type=int, nargs="+", default=[0, 30, 100, 300])
    parser.add_argument("--sessions", type=int, default=250)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    spd = round(10_000 * 86_400 / EVENTS_PER_SESSION)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "rollups.duckdb"))
        try:
            load_events(store, PROJECT, islice(generate(PROJECT, now_ms() - DAY_MS, 1, spd, 7), args.events))
            derive_until_clean(store)
            con = store._dcon
            keys = [(p, s) for p, s in con.execute(
                "SELECT project_id, session_id FROM session_bounds ORDER BY last_ts DESC, session_id LIMIT ?",
                [args.sessions]).fetchall()]
            sessions = con.execute("SELECT count(*) FROM session_bounds").fetchall()[0][0]
            print(f"{args.events:,} events, {sessions:,} sessions derived; batch of {len(keys)}")
            print("| sessions in the day | session_endpoint_days rows | rollup_endpoint_daily rows "
                  "| before: ms CPU | by delta: ms CPU | ratio |")
            print("| --- | --- | --- | --- | --- | --- |")
            made = 1
            for table in ("session_endpoint_days", "session_project_days"):  # the rows each copy repeats
                con.execute(f"CREATE TEMP TABLE original_{table} AS SELECT * FROM {table}")
            for copies in args.copies:
                if copies + 1 > made:
                    for table in ("session_endpoint_days", "session_project_days"):
                        con.execute(f"INSERT INTO {table} SELECT c.* REPLACE (c.session_id || '-' || r.k AS "
                                    f"session_id) FROM original_{table} c, range({made}, {copies + 1}) r(k) "
                                    "ORDER BY r.k")
                    made = copies + 1
                    for sql in FROM_SCRATCH:
                        con.execute(sql)
                    store.checkpoint()
                store._keys_now = None
                store._keys_table(keys)
                counts = [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                          for t in ("session_endpoint_days", "rollup_endpoint_daily")]
                unchanged = [sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ROLLUP_TABLES]
                old, old_rows = rolled_back(store, before, args.runs)
                new, new_rows = rolled_back(store, by_delta, args.runs)
                assert same(old_rows, unchanged) and same(new_rows, unchanged), "both leave the rollups as they were"
                print(f"| {sessions * made:,} | {counts[0]:,} | {counts[1]:,} | {old * 1000:.1f} | {new * 1000:.1f} "
                      f"| {new / old:.2f}x |", flush=True)
        finally:
            store.close()


if __name__ == "__main__":
    main()
