"""What today's quality_buckets rows cost (issue 9). A row per entity (stream, subscriber), day and 0.01-wide score
band, inserted when the band's first sample is absorbed: ~0.7 rows per stats sample while a day fills up, so tens of
millions by evening at 10,000 events/s. Two statements grew with them, bounded by day only:

* the absorb's write of the new samples' weights: the upsert (before 2026-12-05, still the fallback) and in parts
  (`quality._add_buckets_in_parts`: the stored bands found with `first_ts >=` the new samples' sessions' first event);
* a derive step's read of its entities' bands (`quality._ENTITY_BUCKETS`): by day only (before) and also by
  `first_ts >=` the batch's oldest session (now).

A dense day's traffic (the simulator, `--events` absorbed and derived first), then `--rows` bands of other entities
of today appended (first_ts in time order over the hour before the traffic); CPU medians over `--runs` absorbs of
5,000 new events (both ways on each, rolled back) and over `--runs` reads for the 250 newest sessions.

    .venv/bin/python -m benchmarks.bench_quality_bands [--rows 0 3000000 10000000] [--runs 7]
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

from benchmarks.common import dense_day, median_ms
from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb import quality
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
HOUR_MS = 3_600_000
READ_BEFORE = quality._ENTITY_BUCKETS.replace(f" AND b.first_ts >= {quality.SINCE}", "")


def cpu_ms(run: Callable[[], Any], runs: int) -> float:
    return median_ms(run, runs, warmup=1, clock=time.process_time)


def add_bands(con: Any, count: int, start: int, newest: int) -> None:
    """`count` bands of other entities of today (`start` added before), first_ts over the hour before `newest`."""
    if count <= 0:
        return
    day = con.execute("SELECT max(day) FROM quality_buckets").fetchall()[0][0]
    con.execute(f"""INSERT INTO quality_buckets (ekey, day, bucket, samples, weight_ms, score_ms, min_score, first_ts)
        SELECT hash('other', i // 20)::UBIGINT, DATE '{day}', 200 + i % 20, 1, 30000, 90000.0, 3.0,
               {newest - HOUR_MS} + (i - {start}) * {HOUR_MS} // {count}
        FROM range({start}, {start + count}) r(i) ORDER BY i""")
    con.execute("CHECKPOINT")


def timed_rolled_back(con: Any, lo: int, hi: int, write: Callable[[], Any]) -> float:
    """CPU seconds of `write` after the absorb's scoring of commits (lo, hi], in a transaction rolled back."""
    con.execute("BEGIN")
    try:
        con.execute(quality._NEW, {"lo": lo, "hi": hi})
        con.execute(quality._TOUCHED)
        con.execute(quality._REDO)
        started = time.process_time()
        write()
        return time.process_time() - started
    finally:
        con.execute("ROLLBACK")


def absorb_parts(store: DuckDBStore, traffic: Any, runs: int) -> tuple[float, float]:
    """(upsert ms, in parts ms): the bands part of `runs` absorbs of 5,000 new events, CPU medians."""
    con = store._dcon
    before, now = [], []
    for _ in range(runs):
        load_events(store, PROJECT, islice(traffic, 5_000))
        lo, hi = store.derived_seq, store.seq
        since = con.execute("SELECT min(first_ts) FROM session_bounds WHERE session_id IN "
                            "(SELECT DISTINCT session_id FROM stats_samples WHERE seq > ? AND seq <= ?)",
                            [lo, hi]).fetchall()[0][0]
        bound = quality.UNKNOWN_FIRST_TS if since is None else int(since)
        before.append(timed_rolled_back(con, lo, hi, lambda: con.execute(quality._ADD_BUCKETS)))
        now.append(timed_rolled_back(con, lo, hi, lambda b=bound: quality._add_buckets_in_parts(con, b)))
        store.absorb_new_events()
    return statistics.median(before) * 1000, statistics.median(now) * 1000


def reads(store: DuckDBStore, runs: int) -> tuple[float, float, int]:
    """(day bound only ms, with first_ts ms, rows) of the bands read for the 250 newest sessions."""
    con = store._dcon
    keys = [(p, s) for p, s in con.execute("SELECT project_id, session_id FROM session_bounds "
                                           "ORDER BY last_ts DESC, session_id LIMIT 250").fetchall()]
    store._keys_now = None
    store._keys_table(keys)
    # the batch's entities as derive_sample_quality numbers them (its q_members, the columns the read uses)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE q_members AS SELECT ekey, row_number() OVER () AS ent FROM (
        SELECT DISTINCT {quality.EKEY} AS ekey FROM (
          SELECT project_id, session_id, CASE type WHEN 'publisherStats' THEN 'pub' ELSE 'sub' END AS side,
                 CASE type WHEN 'publisherStats' THEN stream_id ELSE subscriber_id END AS entity_id
          FROM stats_samples WHERE (project_id, session_id) IN (SELECT project_id, session_id FROM keys))
        WHERE entity_id IS NOT NULL AND entity_id <> '')""")
    old = con.execute(READ_BEFORE.replace("CREATE OR REPLACE TEMP TABLE q_eb AS", "")).fetchall()
    new = con.execute(quality._ENTITY_BUCKETS.replace("CREATE OR REPLACE TEMP TABLE q_eb AS", "")).fetchall()
    assert sorted(old) == sorted(new), "the two reads differ"
    return cpu_ms(lambda: con.execute(READ_BEFORE), runs), cpu_ms(lambda: con.execute(quality._ENTITY_BUCKETS),
                                                                  runs), len(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=110_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[0, 3_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print("| other bands of today | absorb: upsert ms CPU | in parts ms CPU | step's read: day only ms CPU | "
          "with first_ts ms CPU | rows read |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "bands.duckdb"))
        try:
            traffic = dense_day(store, PROJECT, args.events)
            derive_until_clean(store)
            newest = store._dcon.execute("SELECT min(first_ts) FROM quality_buckets").fetchall()[0][0]
            made = 0
            for rows in args.rows:
                add_bands(store._dcon, rows - made, made, newest)
                made = max(made, rows)
                read = reads(store, args.runs)
                absorb = absorb_parts(store, traffic, args.runs)
                print(f"| {rows:,} | {absorb[0]:.1f} | {absorb[1]:.1f} | {read[0]:.1f} | {read[1]:.1f} | {read[2]:,} |",
                      flush=True)
        finally:
            store.close()


if __name__ == "__main__":
    main()
