"""Stats samples moved into session order once their session has ended, so a session's samples are read together.

Samples are appended as they arrive, so the ~200 samples of a session lie among every other session's samples of
the same minutes. Reading one session's (the inspector, `sessions { ... streamStatsCollection }`) then decompresses
every vector that holds one of its rows: ~1.7 ms of CPU per session on a 35-million-sample store, 85-100 ms for 50
sessions spread over 20 days (docs/benchmarks.md, "`sessions` of scattered sessions"). Ordering by session_id does
not help: DuckDB's zone maps keep a 12-character prefix of strings, which all ids of a project share.

A pass takes the sessions that ended longest ago (no event for `settle` ms, none moved before), numbers them in that
order (`skey`, counted on in meta `skey_next`), and in one transaction deletes their samples and appends them again
ordered by (skey, ts) with `stats_samples.skey` set: keys grow pass after pass, so a row group's min/max of `skey`
is a narrow range and a read of a few sessions' `skey` skips every other row group. Nothing else changes: each
sample keeps its columns (seq included: derivation's watermarks and the dedup keys see the same rows), and every
other reader of stats_samples (export, the live query, retention, rebuild) reads rows wherever they lie.

`session_bounds` records each moved session's `skey` and the commits moved (`compacted_seq`, the samples' fold
watermark of the pass, folded_seq: every sample of the session folded in by then). A sample committed later (a late or
duplicated report) stays where it was appended; the session's `last_seq` (absorb) then exceeds `compacted_seq`, and
reads take that session's ts window as well (reads._windowed_stats_sql). A session longer than MAX_SPAN_MS gets `skey`
0 and is left in arrival order: the pass's join reads the stored samples of its whole span.

The samples live in the raw file and `session_bounds` in the main one (store/duckdb/rawfile.py), and a DuckDB
transaction writes one file: a pass moves the samples in one transaction, then records the keys in another. A crash
(or a failure) between the two leaves moved samples whose sessions still have no `skey`: the next pass takes those
sessions again and keeps the key their samples carry (_ADOPT), so samples and bounds always agree in the end. Two
sessions may then share a key; reads select a session's samples by session as well, so that costs rows, not answers.

Passes run on the derive connection, under the derive lock, when the derive loop has nothing to do (derive/
worker.py): the writer's appends go on meanwhile (appends never conflict in DuckDB), and purges and derive steps
wait for the lock. ClickHouse needs none of this: its stats_samples is ordered by (project, session, ts).
"""

from __future__ import annotations

import duckdb

from videoinsights.domain.events import RAW_COLUMNS
from videoinsights.store.duckdb.fetch import first_row
from videoinsights.store.duckdb.schema import raw_table

# Sessions per pass: a new commit arriving during a pass waits for it. 200 of bench_api's busy project (~30,000
# samples, ~0.4 s of CPU) cost a soak at 500 events/s ~0.44 s of freshness p50 while catching up, 50 nearly nothing
# (benchmarks/bench_compaction.py, bench_load --soak; docs/benchmarks.md).
PASS_SESSIONS = 50
# Sessions spanning more than this keep their samples in arrival order (skey 0).
MAX_SPAN_MS = 6 * 3_600_000
# DuckDB pushes a join's keys into the scan as a zone-map filter when there are at most this many of them
# (its `dynamic_or_filter_threshold`, 50 by default): reads look up compacted sessions in groups of this size.
KEYS_PER_SCAN = 50

_NEXT_KEY = "skey_next"
# The due sessions picked first (a top-N), then numbered: a window over every due session sorted them all at each pass
# (58.5 -> 9.7 ms of CPU with bench_api's 223,000 due, ad hoc).
_BATCH = """CREATE OR REPLACE TEMP TABLE compact_batch AS
    SELECT rid, project_id, session_id, first_ts, last_ts,
           CASE WHEN last_ts - first_ts > {max_span:d} THEN 0
                ELSE {first_key:d} + row_number() OVER (ORDER BY last_ts, project_id, session_id) - 1 END AS skey
    FROM (SELECT rowid AS rid, project_id, session_id, first_ts, last_ts FROM session_bounds
          WHERE skey IS NULL AND last_ts < $before ORDER BY last_ts, project_id, session_id LIMIT $sessions)"""


def compact_stats(con: duckdb.DuckDBPyConnection, folded_seq: int, before_ts: int,
                  sessions: int = PASS_SESSIONS) -> tuple[int, int]:
    """One pass on `con` (two transactions, see the module docstring): the samples (committed up to `folded_seq`,
    all folded in) of at most `sessions` sessions whose last event is before `before_ts`, moved into session order.
    Returns (sessions numbered, samples moved); (0, 0) when no session is due."""
    con.execute("BEGIN")
    try:
        first_key = _next_key(con)
        con.execute(_BATCH.format(max_span=MAX_SPAN_MS, first_key=first_key),
                    {"before": before_ts, "sessions": sessions})
        numbered, lo, hi = con.execute(
            "SELECT count(*), min(first_ts) FILTER (skey > 0), max(last_ts) FILTER (skey > 0) FROM compact_batch"
        ).fetchall()[0]
        if not numbered:
            con.execute("ROLLBACK")
            return 0, 0
        moved = 0
        if lo is not None:
            moved = _move(con, folded_seq, int(lo), int(hi))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("BEGIN")
    try:
        last_key = con.execute("SELECT max(skey) FROM compact_batch").fetchall()[0][0]  # adopted keys included
        con.execute("UPDATE session_bounds SET skey = b.skey, compacted_seq = $c FROM compact_batch b "
                    "WHERE session_bounds.rowid = b.rid", {"c": folded_seq})
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_NEXT_KEY, str(max(first_key, int(last_key) + 1))])
        con.execute("COMMIT")
        return int(numbered), moved
    except BaseException:
        con.execute("ROLLBACK")
        raise


# A session whose samples were moved by a pass whose second transaction was lost keeps the key they carry: in the
# batch (recorded by the pass's second transaction) and for its samples not moved yet.
_ADOPT = """
UPDATE compact_batch SET skey = a.moved_as FROM (
    SELECT project_id, session_id, max(moved_as) AS moved_as FROM compact_rows WHERE moved_as IS NOT NULL
    GROUP BY project_id, session_id) a
WHERE compact_batch.project_id = a.project_id AND compact_batch.session_id = a.session_id;
UPDATE compact_rows SET k = b.skey FROM compact_batch b
WHERE compact_rows.project_id = b.project_id AND compact_rows.session_id = b.session_id"""


def _next_key(con: duckdb.DuckDBPyConnection) -> int:
    row = first_row(con.execute("SELECT CAST(value AS BIGINT) FROM meta WHERE key = ?", [_NEXT_KEY]))
    return int(row[0]) if row else 1


def _move(con: duckdb.DuckDBPyConnection, folded_seq: int, lo: int, hi: int) -> int:
    """Delete the batch's samples and append them again in (skey, ts) order, skey set; returns how many."""
    names = (*RAW_COLUMNS, "seq")  # stats_samples' columns but skey (schema.py builds the table from the same lists)
    columns = ", ".join(names)
    # ts within the batch's span as constants, so that zone maps skip the row groups outside it
    window = f"s.ts BETWEEN {lo:d} AND {hi:d}"
    samples = raw_table("stats_samples")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE compact_rows AS
        SELECT s.rowid AS rid, b.skey AS k, s.skey AS moved_as, {', '.join(f's.{c}' for c in names)}
        FROM {samples} s JOIN compact_batch b ON s.session_id = b.session_id AND s.project_id = b.project_id
        WHERE {window} AND b.skey > 0 AND s.seq <= {folded_seq:d}""")
    if con.execute("SELECT count(*) FROM compact_rows WHERE moved_as IS NOT NULL").fetchall()[0][0]:  # after a crash
        con.execute(_ADOPT)
        con.execute("DELETE FROM compact_rows WHERE moved_as IS NOT NULL")
    deleted = con.execute(f"DELETE FROM {samples} s WHERE {window} AND s.rowid IN (SELECT rid FROM compact_rows)"
                          ).fetchall()[0][0]
    inserted = con.execute(f"INSERT INTO {samples} ({columns}, skey) SELECT {columns}, k FROM compact_rows "
                           "ORDER BY k, ts, event_id").fetchall()[0][0]
    if deleted != inserted:  # another transaction deleted some of them meanwhile (DuckDB raises first, as a rule)
        raise duckdb.TransactionException(f"stats compaction: {deleted} samples deleted, {inserted} to append")
    con.execute("DROP TABLE compact_rows")
    return int(inserted)
