"""A temp table's rows added to a stored table in parts, instead of `INSERT ... ON CONFLICT DO UPDATE`.

DuckDB 2.0 plans that upsert as a join whose scan of the stored table only min/max filters prune: for stats_daily
and quality_buckets, `day` skips other days but the random keys nothing, so every absorb read every row of today
(docs/benchmarks.md, "The stats absorb's upsert grew with today's rows"). Both tables' rows carry `first_ts`, never
before their session's first event, and are appended in time order: the stored rows a batch adds to are found with
`first_ts >=` the least first event of its sessions, which zone maps prune on; those are updated by rowid, the others
inserted. Should a stored row lie below the bound, the INSERT meets the primary key (duckdb.ConstraintException) and
nothing of the caller's transaction may be kept (store.absorb_new_events falls back to the upserts).
"""

from __future__ import annotations

import duckdb


def add_in_parts(con: duckdb.DuckDBPyConnection, table: str, new: str, key: str, columns: str, adds: str,
                 since: int) -> None:
    """Add temp table `new` (`columns`, unique on `key`) to `table`: the stored rows with the same key and
    `first_ts >= since` updated with `adds` (a SET list naming the new row `{new}`), the other rows inserted."""
    stored = f"{new}_stored"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {stored} AS
                    SELECT s.rowid AS stored_rowid, n.* FROM {table} s JOIN {new} n USING ({key})
                    WHERE s.first_ts >= {since:d} AND s.day >= (SELECT min(day) FROM {new})""")
    con.execute(f"UPDATE {table} SET {adds.format(new='o')} FROM {stored} o WHERE {table}.rowid = o.stored_rowid")
    con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {new} ANTI JOIN {stored} USING ({key})")
