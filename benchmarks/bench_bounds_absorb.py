"""What the absorb's session_bounds part costs as sessions pile up (issue 9). session_bounds keeps a row per session
for the raw events' retention (21 days by default: ~3.8 million sessions at issue 9's 10,000 events/s), and every
absorb brings the bounds of the sessions in its new commits up to date. Measured both ways on the same absorbs:

* the two upserts (`INSERT OR IGNORE ... RETURNING`, `INSERT ... ON CONFLICT DO UPDATE`: the store before
  2026-12-05, kept here), which DuckDB 2.0 plans as a join that reads the whole table;
* `store/duckdb/bounds.py` `absorb_bounds`: rows found by rowid (remembered, or looked up through the session_id
  index), updated joined on rowid, the new ones inserted.

For each `--rows`: that many sessions of the 20 days before (rows appended in time order, as absorbs append them),
then a dense day's traffic (the simulator, `--events` of it absorbed first, as a server that has been running); each
figure is the CPU median over `--runs` absorbs of 5,000
new events, both ways on each absorb (in a transaction rolled back, with the rowids remembered before it), then the
absorb itself.

    .venv/bin/python -m benchmarks.bench_bounds_absorb [--rows 0 300000 1000000 3000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_load import DAY_MS, now_ms
from benchmarks.common import dense_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.bounds import _ABSORBED, absorb_bounds
from videoinsights.store.duckdb.store import _NEW_ROWS, DuckDBStore

PROJECT = "12345678"
# the store's _absorb_sessions before 2026-12-05 (its session_bounds part)
UPSERTS = (
    """INSERT OR IGNORE INTO session_bounds (project_id, session_id, first_ts, last_ts)
       SELECT project_id, session_id, first_ts, last_ts FROM absorbed RETURNING project_id, session_id""",
    """INSERT INTO session_bounds (project_id, session_id, first_ts, last_ts)
       SELECT project_id, session_id, first_ts, last_ts FROM absorbed
       ON CONFLICT DO UPDATE SET first_ts = least(session_bounds.first_ts, excluded.first_ts),
                                 last_ts = greatest(session_bounds.last_ts, excluded.last_ts)""",
)


def add_sessions(con: Any, count: int, before: int) -> None:
    """`count` sessions of the 20 days before `before` (ms), in time order, as absorbs appended them."""
    if count <= 0:
        return
    step = 20 * DAY_MS // count
    first = f"{before} - ({count} - i) * {step}"
    # shaped like the simulator's (and Vonage's) ids: the project's prefix, then base64 of "<created ms>~<random>"
    con.execute(f"""INSERT INTO session_bounds (project_id, session_id, first_ts, last_ts, written_seq)
        SELECT '{PROJECT}', '2_MX4xMjM0NTY3OH5-' || to_base64(encode(({first})::VARCHAR || '~' || md5(i::VARCHAR))),
               {first}, {first} + 600000, 0 FROM range({count}) r(i)""")
    con.execute("CHECKPOINT")


def rolled_back(con: Any, run: Callable[[], Any]) -> float:
    con.execute("BEGIN")
    try:
        t = time.process_time()
        run()
        return time.process_time() - t
    finally:
        con.execute("ROLLBACK")


def upserts(con: Any, params: dict[str, int]) -> int:
    """The absorb's session_bounds part before; returns how many sessions were absorbed."""
    con.execute(_ABSORBED.format(rows=_NEW_ROWS), params)
    sessions = con.execute("SELECT count(*) FROM absorbed").fetchall()[0][0]
    con.execute(UPSERTS[0]).fetchall()
    con.execute(UPSERTS[1])
    return int(sessions)


def absorbs(store: DuckDBStore, traffic: Any, runs: int) -> tuple[float, float, int]:
    """(upserts ms, absorb_bounds ms, sessions per absorb), CPU medians over `runs` absorbs of 5,000 events."""
    con = store._dcon
    before, now, sessions = [], [], []
    for _ in range(runs):
        load_events(store, PROJECT, islice(traffic, 5_000))
        params = {"lo": store.derived_seq, "hi": store.seq}
        remembered = copy.deepcopy(store._bounds_rowids)
        before.append(rolled_back(con, lambda p=params: sessions.append(upserts(con, p))))
        now.append(rolled_back(con, lambda p=params, r=remembered: absorb_bounds(con, r, _NEW_ROWS, p)))
        store.absorb_new_events()
    return statistics.median(before) * 1000, statistics.median(now) * 1000, int(statistics.median(sessions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=110_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[0, 300_000, 1_000_000, 3_000_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("| other sessions stored | sessions per absorb | upserts ms CPU | absorb_bounds ms CPU | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            store = DuckDBStore(str(Path(tmp) / "bounds.duckdb"))
            try:
                start = now_ms() - DAY_MS
                add_sessions(store._dcon, rows, start)
                traffic = dense_day(store, PROJECT, args.events, start)
                store.absorb_new_events()
                before, now, sessions = absorbs(store, traffic, args.runs)
                print(f"| {rows:,} | {sessions:,} | {before:.1f} | {now:.1f} | {before / now:.2f}x |", flush=True)
            finally:
                store.close()

if __name__ == "__main__":
    main()
