"""What a derive step costs when one of its sessions began long ago (issue 9, issue 12). bench_load's runs last
minutes, so every live session is young; on a platform at 10,000 events/s sessions last tens of minutes, and a
step's batch of live sessions nearly always holds one that began an hour ago. The statements bounded by the
batch's oldest session (schema.SINCE: "no row of these sessions is older") then read everything stored since then.

The start of bench_load's dense day (`--events`, derived, then `--warm` steps of 5,000 events), then the same
`--sessions` sessions re-derived `--runs` times (made dirty again each time, inline), four ways in one run:

* as stored (the baseline);
* `quality_samples` also holding an hour of other streams' scored samples, in time order, as many as an hour of
  `--rate` events/s leaves (the share of stats samples in the simulator's traffic over whole sessions), settled as
  a server settles them (every `SETTLE_EVERY_MS`, where the store has `quality_settled`);
* the same, with one of the batch's sessions beginning an hour ago (its `session_bounds.first_ts`);
* the same, with `events` also holding an hour of other sessions' lifecycle events (the stored ones copied).

Each case is measured with the store's event cache off (every step reads its sessions' lifecycle events from
`events`) and on (store/duckdb/event_cache.py: the first run reads them, the others only later commits, here none).
Prints the step's CPU (median) and the statements that grew, with the ratio to the baseline.

    .venv/bin/python -m benchmarks.bench_old_sessions [--rate 10000] [--sessions 250] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from benchmarks.bench_derive import TimedConnection
from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, loadavg, now_ms
from videoinsights.derive.engine import derive_pending, derive_until_clean
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.base import SessionKey
from videoinsights.store.duckdb import quality
from videoinsights.store.duckdb.event_cache import EVENT_CACHE_MB
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"
HOUR_MS = 3_600_000
SHOWN = 6  # statements listed per case


EVENTS_READ = "SELECT e.project_id, e.event_id, e.type, e.session_id"  # load_session_event_table


def rederive(store: DuckDBStore, keys: list[SessionKey], runs: int,
             cache_bytes: int = 0) -> tuple[float, dict[str, float]]:
    """Median CPU ms of a step re-deriving `keys`, and each statement's median CPU ms (by its first words; 0 in a
    run without it), with the event cache's budget `cache_bytes` (emptied first)."""
    con = store._dcon
    cache = getattr(store, "_event_cache", None)  # absent before the cache
    if cache is not None:
        cache.clear()
        cache.max_bytes = cache_bytes
    steps: list[float] = []
    statements: dict[str, list[float]] = {}
    for _ in range(runs):
        con.execute("CHECKPOINT")  # no automatic checkpoint inside a measured step
        con.executemany("INSERT OR REPLACE INTO dirty_sessions (project_id, session_id, dirtied_seq) "
                        "VALUES (?, ?, 0)", [list(k) for k in keys])
        timed = TimedConnection(con)
        store._dcon = timed
        started = time.process_time()
        try:
            derived, _ = derive_pending(store, len(keys))
        finally:
            store._dcon = con
        steps.append((time.process_time() - started) * 1000)
        assert derived == len(keys), f"derived {derived} of {len(keys)}"
        for sql, (_, seconds) in timed.spent.items():
            statements.setdefault(sql, []).append(seconds * 1000)
    return statistics.median(steps), {sql: statistics.median(v + [0.0] * (runs - len(v)))
                                      for sql, v in statements.items()}


def _read_ms(statements: dict[str, float]) -> float:
    """CPU ms of the lifecycle events read(s) of a step."""
    return sum(ms for sql, ms in statements.items() if sql.startswith(EVENTS_READ))


def inflate_samples(con: Any, count: int) -> None:
    """`count` scored samples of 20,000 other streams over the hour before the newest stored sample, in time
    order (as absorbs append them)."""
    newest = con.execute("SELECT max(ts) FROM quality_samples").fetchall()[0][0]
    con.execute(f"""
        INSERT INTO quality_samples (ekey, ts, event_id, day, score)
        SELECT hash('other', i % 20000), ts, 'other-' || i,
               CAST(timezone('America/Los_Angeles', to_timestamp(ts / 1000.0)) AS DATE), 1.0 + (i % 400) / 100.0
        FROM (SELECT i, {newest} - {HOUR_MS} + i * {HOUR_MS} // {count} AS ts FROM range({count}) r(i))""")
    if hasattr(quality, "settle_range"):  # settled as a server settling every few minutes would have them
        horizon = quality.settled_upto(con)
        con.execute("DELETE FROM quality_settled")
        edges = [0, *range(newest - HOUR_MS, horizon, quality.SETTLE_EVERY_MS), horizon]
        passes = []
        for lo, hi in pairwise(edges):
            started = time.process_time()
            quality.settle_range(con, lo, hi)
            passes.append((time.process_time() - started) * 1000)
        print(f"settle passes over the hour: median {statistics.median(passes[1:-1]):,.0f} ms CPU per "
              f"{quality.SETTLE_EVERY_MS // 60_000} minutes of samples ({len(passes) - 2} passes)")
    con.execute("CHECKPOINT")


def inflate_events(con: Any, count: int) -> None:
    """About `count` lifecycle events of other sessions over the hour before the newest stored event: the stored
    ones copied under other session ids, each copy within its own slice of the hour (in time order, by slice)."""
    stored, first, newest = con.execute("SELECT count(*), min(ts), max(ts) FROM events").fetchall()[0]
    copies = max(1, round(count / stored))
    width = HOUR_MS // copies
    for k in range(copies):
        con.execute(f"""
            INSERT INTO raw.events SELECT * REPLACE (session_id || '-other{k}' AS session_id,
                                                 event_id || '-other{k}' AS event_id,
                                                 {newest - HOUR_MS + k * width} + (ts - {first}) % {width} AS ts)
            FROM events WHERE session_id NOT LIKE '%-other%'""")
    con.execute("CHECKPOINT")


def steady_shares() -> tuple[float, float]:
    """Shares of scored samples and of lifecycle events in the simulator's traffic over whole sessions (a day of 60
    sessions): the loaded start of the dense day is mostly sessions beginning, far more lifecycle-heavy."""
    kinds = Counter("stats" if e["type"].endswith("Stats") else "lifecycle"
                    for e in generate(PROJECT, now_ms() - 2 * DAY_MS, 1, 60, 7))
    total = sum(kinds.values())
    return kinds["stats"] / total, kinds["lifecycle"] / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--warm", type=int, default=10, help="steps of 5,000 events after the first derivation")
    parser.add_argument("--rate", type=int, default=10_000, help="events/s whose hour of samples is stored")
    parser.add_argument("--sessions", type=int, default=250)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    spd = round(args.rate * 86_400 / EVENTS_PER_SESSION)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "old.duckdb"))
        try:
            traffic = generate(PROJECT, now_ms() - DAY_MS, 1, spd, 7)
            loaded = load_events(store, PROJECT, islice(traffic, args.events)).accepted
            derive_until_clean(store)
            for _ in range(args.warm):
                loaded += load_events(store, PROJECT, islice(traffic, 5_000)).accepted
                derive_pending(store, args.sessions)
            derive_until_clean(store)
            con = store._dcon
            samples = con.execute("SELECT count(*) FROM quality_samples").fetchall()[0][0]
            stats_share, lifecycle_share = steady_shares()
            hour = round(stats_share * args.rate * 3_600)
            hour_events = round(lifecycle_share * args.rate * 3_600)
            keys = [(p, s) for p, s in con.execute(
                "SELECT project_id, session_id FROM session_bounds ORDER BY last_ts DESC, session_id "
                f"LIMIT {args.sessions}").fetchall()]
            print(f"{loaded:,} events, {samples:,} scored samples; over whole sessions {stats_share:.1%} of the "
                  f"traffic is stats samples, {lifecycle_share:.1%} lifecycle events; load averages {loadavg()}")
            cases = []

            def measure(name: str) -> None:
                cases.append((name, *rederive(store, keys, args.runs), *rederive(store, keys, args.runs, cached)))

            cached = EVENT_CACHE_MB * 2**20
            measure("as stored (baseline)")
            inflate_samples(con, hour)
            measure("+ an hour of other streams' samples")
            con.execute("UPDATE session_bounds SET first_ts = first_ts - ? WHERE project_id = ? AND session_id = ?",
                        [HOUR_MS, *keys[0]])
            measure("+ one session of the batch began an hour ago")
            inflate_events(con, hour_events)
            measure("+ an hour of other sessions' lifecycle events")
        finally:
            store.close()
    print(f"re-deriving the same {args.sessions} sessions, CPU median of {args.runs}; an hour at {args.rate:,} "
          f"events/s = {hour:,} scored samples and {hour_events:,} lifecycle events")
    base = cases[0][1]
    print("| case | step ms CPU, cache off / on | ratio to the baseline (off) | statements ms CPU | events read ms |")
    print("| --- | --- | --- | --- | --- |")
    for name, off, off_sql, on, on_sql in cases:
        read = f"{_read_ms(off_sql):.1f} / {_read_ms(on_sql):.1f}"
        print(f"| {name} | {off:,.0f} / {on:,.0f} | {off / base:.2f}x / {on / base:.2f}x "
              f"| {sum(off_sql.values()):,.0f} / {sum(on_sql.values()):,.0f} | {read} |")
    base_sql, last_sql = cases[0][2], cases[-1][2]
    grown = sorted(last_sql, key=lambda sql: last_sql[sql] - base_sql.get(sql, 0.0), reverse=True)[:SHOWN]
    print("\nstatements that grew most with the cache off (ms CPU, median), in the cases above")
    print("| statement | baseline | + samples | + old session | + lifecycle events |")
    print("| --- | --- | --- | --- | --- |")
    for sql in grown:
        print(f"| `{sql[:70]}` | {' | '.join(f'{c[2].get(sql, 0.0):.1f}' for c in cases)} |")
    print(f"load averages after: {loadavg()}")


if __name__ == "__main__":
    main()
