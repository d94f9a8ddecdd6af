"""What today's stats_daily rows cost a derive step (issue 9). A row per stream or subscriber and day: ~300,000 an hour
at 10,000 events/s, so by evening a busy platform's day holds millions, and a statement that is bounded by day only
reads all of them at every step. Two are measured, as the day fills up with other sessions' rows (inserted in time
order over `--hours` before the newest, as absorbs insert them), against the same rows on other days:

* the step's stats read (`load_stats_table`, 250 live sessions): bounded by day only (the statement before
  2026-12-04, kept here) and as the store reads it now (also `first_ts >=` the batch's oldest first event), with
  the batch as stored and with one of its sessions beginning an hour ago;
* the absorb's write of 5,000 new events' samples into stats_daily: the upsert (before 2026-12-04, still the
  store's fallback) and in parts (`_absorb_stats`), each over its own 5 absorbs.

    .venv/bin/python -m benchmarks.bench_today_rows [--rows 0 1000000 3000000] [--hours 12] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_derive import TimedConnection
from benchmarks.common import dense_day, median_ms
from videoinsights.derive.engine import derive_until_clean
from videoinsights.derive.inputs import STATS_COLUMNS
from videoinsights.ingest.load import load_events
from videoinsights.store.base import SessionKey
from videoinsights.store.duckdb.schema import SINCE_DAY
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
HOUR_MS = 3_600_000
# load_stats_table before the first_ts bound (the keys temp table as the store makes it)
DAY_BOUND_ONLY = f"""SELECT {", ".join(f"s.{c}" for c in STATS_COLUMNS)}
    FROM stats_daily s JOIN keys k ON s.project_id = k.project_id AND s.session_id = k.session_id
    WHERE s.day >= {SINCE_DAY} ORDER BY s.project_id, s.session_id, side, entity_id, day"""


def cpu_ms(run: Callable[[], Any], runs: int) -> float:
    return median_ms(run, runs, warmup=0, clock=time.process_time)


def stats_reads(store: DuckDBStore, keys: list[SessionKey], runs: int) -> tuple[float, float]:
    """(day bound only, the store's read) CPU ms, after checking both return the same rows."""
    store._keys_now = None
    now = store.load_stats_table(keys)
    before = store._dcon.sql(DAY_BOUND_ONLY).to_arrow_table()
    assert before.equals(now), "the two reads differ"
    return (cpu_ms(lambda: store._dcon.sql(DAY_BOUND_ONLY).to_arrow_table(), runs),
            cpu_ms(lambda: store.load_stats_table(keys), runs))


# the statements of the absorb's stats part, both ways (store.py: _ABSORB_STATS_SQL, _absorb_stats)
STATS_STATEMENTS = ("INSERT INTO stats_daily", "CREATE OR REPLACE TEMP TABLE stats_new",
                    "SELECT DISTINCT session_id FROM stats_new", "SELECT min(first_ts) FROM session_bounds",
                    "UPDATE stats_daily")  # (stats_new also begins the name of store/duckdb/parts.py's temp table)


def upsert_ms(store: DuckDBStore, traffic: Any, runs: int, in_parts: bool) -> float:
    """CPU ms of the absorb's stats part (median over `runs` absorbs of 5,000 new events, checkpointed)."""
    store._stats_in_parts = in_parts
    spent = []
    for _ in range(runs):
        load_events(store, PROJECT, islice(traffic, 5_000))
        real = store._dcon
        timed = TimedConnection(real)
        store._dcon = timed
        try:
            store.absorb_new_events()
        finally:
            store._dcon = real
        assert store._stats_in_parts == in_parts, "the absorb fell back to the upsert"
        spent.append(sum(s for sql, (_, s) in timed.spent.items() if sql.startswith(STATS_STATEMENTS)))
        real.execute("CHECKPOINT")
    store._stats_in_parts = True
    return statistics.median(spent) * 1000


def add_rows(con: Any, count: int, newest: int, hours: float, today: bool, start: int) -> None:
    """`count` rows of other sessions (the stored ones under other ids; `start`: how many were added before), first_ts
    spread over `hours` before `newest` in time order; on the stored rows' day (`today`) or one of the 20 before."""
    source = con.execute("SELECT count(*) FROM original_stats").fetchall()[0][0]
    span = int(hours * HOUR_MS)
    day = "o.day" if today else f"o.day - CAST(1 + (i // {source}) % 20 AS INTEGER)"
    ts = f"{newest - span} + (i - {start}) * {span} // {count}"
    con.execute(f"""
        INSERT INTO stats_daily SELECT o.* EXCLUDE (rn) REPLACE (
            o.session_id || '-o' || (i // {source}) AS session_id, {day} AS day,
            {ts} AS first_ts, {ts} + 60000 AS last_ts)
        FROM range({start}, {start + count}) r(i) JOIN original_stats o ON o.rn = i % {source} ORDER BY i""")
    con.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=110_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[0, 1_000_000, 3_000_000])
    parser.add_argument("--hours", type=float, default=12)
    parser.add_argument("--sessions", type=int, default=250)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("| other rows | on | stats read: day bound only ms | the store's read ms | with an hour-old session: "
          "day only / store's ms | absorb's stats part: upsert / in parts ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for today in (True, False):
        with tempfile.TemporaryDirectory() as tmp:
            store = DuckDBStore(str(Path(tmp) / "today.duckdb"))
            try:
                traffic = dense_day(store, PROJECT, args.events)
                derive_until_clean(store)
                con = store._dcon
                con.execute("CREATE TEMP TABLE original_stats AS SELECT *, row_number() OVER () - 1 AS rn "
                            "FROM stats_daily")
                newest = con.execute("SELECT max(first_ts) FROM stats_daily").fetchall()[0][0]
                keys = [(p, s) for p, s in con.execute(
                    "SELECT project_id, session_id FROM session_bounds ORDER BY last_ts DESC, session_id "
                    f"LIMIT {args.sessions}").fetchall()]
                made = 0
                for rows in args.rows:
                    if rows > made:
                        add_rows(con, rows - made, newest, args.hours, today, made)
                        made = rows
                    young = stats_reads(store, keys, args.runs)
                    first = con.execute("SELECT first_ts FROM session_bounds WHERE project_id = ? AND session_id = ?",
                                        list(keys[0])).fetchall()[0][0]
                    con.execute("UPDATE session_bounds SET first_ts = ? WHERE project_id = ? AND session_id = ?",
                                [first - HOUR_MS, *keys[0]])
                    old = stats_reads(store, keys, args.runs)
                    con.execute("UPDATE session_bounds SET first_ts = ? WHERE project_id = ? AND session_id = ?",
                                [first, *keys[0]])
                    upsert = upsert_ms(store, traffic, 5, False), upsert_ms(store, traffic, 5, True)
                    print(f"| {rows:,} | {'today' if today else 'other days'} | {young[0]:.1f} | {young[1]:.1f} | "
                          f"{old[0]:.1f} / {old[1]:.1f} | {upsert[0]:.0f} / {upsert[1]:.0f} |", flush=True)
            finally:
                store.close()


if __name__ == "__main__":
    main()
