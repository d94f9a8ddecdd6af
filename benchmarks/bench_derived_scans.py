"""What a derive step's deletes and its quality absorb cost as the store grows (issue 9): by session key alone, and
with the time bound the store adds (store/duckdb/schema.py, rows_of_keys); the absorb with main's two unbounded
statements and with their bounds (store/duckdb/quality.py, quality_runs.py); both ways in the same run.

bench_load's history (7 days x 20 sessions/day, derived), then every derived row copied `--copies` times, shifted
1..N weeks back under other session ids (as a store that has run for months looks: older sessions' rows in older
row groups). For the newest `--sessions` sessions, each table's DELETE of their rows, in a transaction rolled back,
each way: CPU median of `--runs`, rows deleted (the same both ways).

The absorb: the newest `--step` stats samples (by time) and `--late` samples of the hour before them are made one
new commit, the quality tables absorbed up to it, then copied like the derived rows (older entities, shifted
weeks back); absorbing the commit (absorb_quality: scores, bands, previous-sample links, runs), rolled back, each
way: CPU median of `--runs`, and the quality rows after it (the same both ways).

    .venv/bin/python -m benchmarks.bench_derived_scans [--copies 50] [--sessions 40] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.bench_load import derived_history
from videoinsights.store.duckdb import quality, quality_runs
from videoinsights.store.duckdb.schema import DERIVED_SESSION_TABLES, rows_of_keys
from videoinsights.store.duckdb.store import DuckDBStore

WEEK_MS = 7 * 86_400_000
KEY_ONLY = "(project_id, session_id) IN (SELECT project_id, session_id FROM keys)"
# each time column, shifted k weeks back
SHIFTED = {"created_at": f"created_at - r.k * {WEEK_MS}", "day": "day - CAST(r.k * 7 AS INTEGER)",
           "bucket": f"bucket - r.k * {WEEK_MS}", "start_ts": f"start_ts - r.k * {WEEK_MS}",
           "end_ts": f"end_ts - r.k * {WEEK_MS}",
           "write_seq": "0"}  # written long before any live step (as a store's older rows were)


# the quality tables' time columns, shifted k weeks back (their entity keys are moved by k: other entities)
QUALITY_SHIFTED = {
    "quality_samples": {"ts": f"ts - r.k * {WEEK_MS}", "prev_ts": f"prev_ts - r.k * {WEEK_MS}",
                        "day": "day - CAST(r.k * 7 AS INTEGER)"},
    "quality_buckets": {"day": "day - CAST(r.k * 7 AS INTEGER)"},
    "quality_runs": {"first_ts": f"first_ts - r.k * {WEEK_MS}", "start_ts": f"start_ts - r.k * {WEEK_MS}",
                     "last_ts": f"last_ts - r.k * {WEEK_MS}"},
}
# main before the bounds: the runs' DELETE without its bound, and the samples' UPDATE always run, over every row
# (the runs' bound, a parameter, left true: the statement still takes it)
UNBOUNDED = ((quality_runs, "_DROP", quality_runs._DROP.replace(quality_runs.IN_REGIONS, "$lo IS NOT NULL")),
             (quality, "_FIRST_RELINKED", "SELECT -1"))
assert UNBOUNDED[0][2] != quality_runs._DROP


def inflate(store: DuckDBStore, copies: int) -> None:
    con = store._dcon
    for table in DERIVED_SESSION_TABLES:
        columns = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
        replaced = ", ".join(["c.session_id || '-' || r.k AS session_id",
                              *(f"{value} AS {column}" for column, value in SHIFTED.items() if column in columns)])
        copy(con, table, replaced, copies)
    for table, shifted in QUALITY_SHIFTED.items():
        replaced = ", ".join(["c.ekey + CAST(r.k AS UBIGINT) AS ekey", *(f"{v} AS {c}" for c, v in shifted.items())])
        copy(con, table, replaced, copies)
    store.checkpoint()


def copy(con: duckdb.DuckDBPyConnection, table: str, replaced: str, copies: int) -> None:
    con.execute(f"CREATE TEMP TABLE copy_{table} AS SELECT * FROM {table}")
    con.execute(f"INSERT INTO {table} SELECT c.* REPLACE ({replaced}) FROM copy_{table} c, range(1, {copies + 1}) r(k) "
                "ORDER BY r.k")  # a week's rows together, as a store that ran for months keeps them


def new_commit(store: DuckDBStore, step: int, late: int) -> tuple[int, int]:
    """Make the newest `step` samples and `late` of the hour before them one new commit, absorb the quality of
    the others; return the commit's (lo, hi]."""
    con = store._dcon
    lo = con.execute("SELECT max(seq) FROM stats_samples").fetchone()[0]
    cut = con.execute("SELECT ts FROM stats_samples ORDER BY ts DESC LIMIT 1 OFFSET ?", [step]).fetchone()[0]
    con.execute("BEGIN")  # (the raw tables are a file of their own: a transaction writes to one file)
    con.execute("UPDATE raw.stats_samples SET seq = ? WHERE ts > ?", [lo + 1, cut])
    con.execute("UPDATE raw.stats_samples SET seq = ? WHERE event_id IN (SELECT event_id FROM stats_samples "
                "WHERE ts BETWEEN ? AND ? ORDER BY hash(event_id) LIMIT ?)", [lo + 1, cut - 3_600_000, cut, late])
    con.execute("COMMIT")
    con.execute("BEGIN")
    for table in QUALITY_SHIFTED:
        con.execute(f"DELETE FROM {table}")
    quality.absorb_quality(con, -1, lo, store._run_thresholds)
    con.execute("COMMIT")
    return lo, lo + 1


def timed_absorb(store: DuckDBStore, lo: int, hi: int, runs: int) -> tuple[float, tuple]:
    """CPU median of absorbing commits (lo, hi], and a digest of the quality rows after it."""
    con = store._dcon
    times, digest = [], ()
    for _ in range(runs):
        con.execute("BEGIN")
        started = time.process_time()
        quality.absorb_quality(con, lo, hi, store._run_thresholds)
        times.append(time.process_time() - started)
        digest = tuple(con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} t").fetchone()
                       for table in QUALITY_SHIFTED)
        con.execute("ROLLBACK")
    return statistics.median(times), digest


def compare_absorb(store: DuckDBStore, lo: int, hi: int, runs: int) -> None:
    rows = {t: store._dcon.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in QUALITY_SHIFTED}
    new = store._dcon.execute("SELECT count(*) FROM stats_samples WHERE seq > ? AND seq <= ?", [lo, hi]).fetchone()[0]
    saved = [(module, name, getattr(module, name)) for module, name, _ in UNBOUNDED]
    try:
        for module, name, sql in UNBOUNDED:
            setattr(module, name, sql)
        before, digest_before = timed_absorb(store, lo, hi, runs)
    finally:
        for module, name, sql in saved:
            setattr(module, name, sql)
    bounded, digest = timed_absorb(store, lo, hi, runs)
    assert digest == digest_before, (digest, digest_before)
    print(f"\nquality absorb of one commit ({new:,} samples) over {', '.join(f'{t} {n:,}' for t, n in rows.items())}: "
          f"unbounded {before * 1000:.1f} ms, bounded {bounded * 1000:.1f} ms ({bounded / before:.2f}x); "
          "same rows after it")


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
    parser.add_argument("--step", type=int, default=12_000, help="samples of the absorbed commit (~1 s at 10k/s)")
    parser.add_argument("--late", type=int, default=0,
                        help="and this many samples of the hour before them (late: stored samples follow them)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(derived_history(Path(tmp), 7, 20)))
        try:
            lo, hi = new_commit(store, args.step, args.late)
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
            compare_absorb(store, lo, hi, args.runs)
        finally:
            store.close()


if __name__ == "__main__":
    main()
