"""session_bounds at absorb: each absorbed session's bounds widened, the new sessions inserted, without an upsert.

DuckDB 2.0 plans `INSERT ... ON CONFLICT` (and `INSERT OR IGNORE`) as a join whose scan of session_bounds only
min/max filters prune, and random session ids prune nothing: the absorb's two upserts read the whole table at every
step, ~120 ms of CPU each with 3 million sessions (21 days at 10,000 events/s; docs/benchmarks.md "session_bounds
at absorb"). Here a stored row is found by its rowid: remembered from an earlier lookup (a live session is absorbed
step after step) or looked up through the session_id index, and the bounds are updated joined on rowid; the
sessions with no row are inserted with a plain INSERT.

A rowid stays a row's while the row lives: updates of these BIGINT columns are made in place, and only a
checkpoint after deletes (the retention purge) may move rows. The memory is emptied at a purge and a reopen all the
same, and the update also matches each row's (project_id, session_id): a remembered rowid that points elsewhere
updates nothing, and its session is looked up again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from videoinsights.store.base import SessionKey
from videoinsights.store.portable import string_list

# Sessions whose rowid is remembered, least recently used dropped first: a few times the live sessions of a busy
# platform (~3,000 at 10,000 events/s), ~100 bytes each.
REMEMBERED = 50_000

# The new commits' rows (store.py's _NEW_ROWS) by session: the bounds they widen to, the commit that first dirtied it,
# the newest commit (last_seq: a row committed after its session's samples were moved is read apart, compaction.py).
_ABSORBED = """CREATE OR REPLACE TEMP TABLE absorbed AS
    SELECT project_id, session_id, min(ts) AS first_ts, max(ts) AS last_ts, min(seq) AS seq, max(seq) AS last_seq
    FROM {rows} GROUP BY project_id, session_id"""
_WIDEN = """UPDATE session_bounds SET first_ts = least(session_bounds.first_ts, k.first_ts),
                                      last_ts = greatest(session_bounds.last_ts, k.last_ts),
                                      last_seq = greatest(session_bounds.last_seq, k.last_seq)
    FROM bounds_known k WHERE session_bounds.rowid = k.rid
    AND session_bounds.project_id = k.project_id AND session_bounds.session_id = k.session_id"""
_MISSED = """SELECT project_id, session_id FROM bounds_known k WHERE NOT EXISTS (SELECT 1 FROM session_bounds s
    WHERE s.rowid = k.rid AND s.project_id = k.project_id AND s.session_id = k.session_id)"""


class BoundsRowids:
    """The rowid of each recently absorbed or derived session's session_bounds row."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        self.limit = limit
        self._rowids: OrderedDict[SessionKey, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rowids)

    def remember(self, rows: Iterable[tuple[str, str, int]]) -> None:
        """(project_id, session_id, rowid) of committed rows (a row inserted in an open transaction has a rowid
        of its own until the commit)."""
        for project_id, session_id, rowid in rows:
            key = (project_id, session_id)
            self._rowids[key] = rowid
            self._rowids.move_to_end(key)
        while len(self._rowids) > self.limit:
            self._rowids.popitem(last=False)

    def split(self, keys: Iterable[SessionKey]) -> tuple[list[tuple[str, str, int]], list[SessionKey]]:
        """(the remembered keys with their rowid, the others)."""
        known, unknown = [], []
        for key in keys:
            rowid = self._rowids.get(key)
            if rowid is None:
                unknown.append(key)
            else:
                self._rowids.move_to_end(key)
                known.append((key[0], key[1], rowid))
        return known, unknown

    def forget(self, keys: Iterable[SessionKey]) -> None:
        for key in keys:
            self._rowids.pop(key, None)

    def clear(self) -> None:
        self._rowids.clear()


def look_up(con: duckdb.DuckDBPyConnection, keys: list[SessionKey]) -> list[tuple[str, str, int]]:
    """(project_id, session_id, rowid) of these sessions' rows, found through the session_id index (the ids written
    into the statement: portable.string_list)."""
    if not keys:
        return []
    wanted = set(keys)
    found = con.execute("SELECT project_id, session_id, rowid FROM session_bounds "
                        f"WHERE session_id IN ({string_list(sorted({k[1] for k in keys}))})").fetchall()
    return [row for row in found if (row[0], row[1]) in wanted]


def absorb_bounds(con: duckdb.DuckDBPyConnection, rowids: BoundsRowids, rows: str,
                  params: dict[str, int]) -> list[SessionKey]:
    """Temp table `absorbed` (the new rows `rows` by session) and session_bounds brought up to it, inside the
    caller's transaction; returns the sessions seen for the first time (inserted now)."""
    con.execute(_ABSORBED.format(rows=rows), params)
    keys = [(p, s) for p, s in con.execute("SELECT project_id, session_id FROM absorbed").fetchall()]
    known, unknown = rowids.split(keys)
    found = look_up(con, unknown)
    rowids.remember(found)  # committed rows: this transaction has inserted none yet
    widened = _widen(con, known + found)
    if widened < len(known) + len(found):  # a remembered rowid that points elsewhere (rows moved): looked up again
        missed = {(p, s) for p, s in con.execute(_MISSED).fetchall()}
        rowids.forget(missed)
        again = look_up(con, list(missed))
        rowids.remember(again)
        _widen(con, again)
        known = [row for row in known if (row[0], row[1]) not in missed] + again
    stored = {(row[0], row[1]) for row in known + found}
    new = [key for key in keys if key not in stored]
    if new:
        con.register("bounds_new", key_table(new))
        try:
            con.execute("""INSERT INTO session_bounds (project_id, session_id, first_ts, last_ts, last_seq)
                           SELECT project_id, session_id, first_ts, last_ts, last_seq FROM absorbed
                           SEMI JOIN bounds_new USING (project_id, session_id)""")
        finally:
            con.unregister("bounds_new")
    return new


def _widen(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, int]]) -> int:
    """Update these rows (project_id, session_id, rowid) to the absorbed bounds; returns how many matched."""
    if not rows:
        return 0
    con.register("bounds_in", pa.table({
        "project_id": pa.array([r[0] for r in rows], pa.string()),
        "session_id": pa.array([r[1] for r in rows], pa.string()),
        "rid": pa.array([r[2] for r in rows], pa.int64()),
    }))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE bounds_known AS "
                    "SELECT b.rid, a.* FROM bounds_in b JOIN absorbed a USING (project_id, session_id)")
    finally:
        con.unregister("bounds_in")
    return int(con.execute(_WIDEN).fetchall()[0][0])


def key_table(keys: Iterable[SessionKey]) -> pa.Table:
    """Session keys as an Arrow table of (project_id, session_id), for a statement to join on."""
    keys = list(keys)
    return pa.table({"project_id": pa.array([k[0] for k in keys], pa.string()),
                     "session_id": pa.array([k[1] for k in keys], pa.string())})
