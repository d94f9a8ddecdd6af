"""Previews: a new session's own rows, written while the derive thread is busy, before its first derivation.

Under load a derive step takes seconds (a batch of hundreds of sessions in one transaction, a fold of the stats
samples), and a session whose first events arrive meanwhile waits for it: absorbed at the next step, derived, and
written with the batch after. A preview does not wait: on a cursor of its own, while the derive thread's transaction
runs, it finds the sessions first seen in commits not yet absorbed, reads their lifecycle events and inserts the rows
derived from them into the per-session tables in a transaction of its own. `sessionData` shows the session from then
on; the rollups (`projectData`) wait for its derivation, which replaces the preview's rows as it replaces any earlier
rows of a session.

Why this cannot collide with the derive thread (DuckDB checks write conflicts per row, at commit):
- it writes only the per-session tables, and only rows of sessions no derive step has seen (no `session_bounds` row)
  and none has written (no `sessions` row): no statement of the derive thread's transaction touches those rows;
  it never writes session_bounds, dirty_sessions, the rollups or meta;
- the derivation that replaces a preview begins its transaction after the preview committed (derive/preview.py
  runs previews only inside a derive step's write or fold, and joins them before the step ends), so its DELETE sees
  the preview's rows;
- those rows carry the newest commit the preview read as their write_seq (`stamp`), never below the bound a
  never-written session's DELETE uses (its dirtied_seq - 1, store.py's `_keys_table`), so that DELETE finds them.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from videoinsights.derive.inputs import STATS_COLUMNS
from videoinsights.store.base import SessionKey
from videoinsights.store.portable import string_list

# Further behind than this many commits (a store catching up after a restart, whose first absorb takes them all),
# no previews: each would read and group every event of those commits, to show sessions the absorb is about to.
MAX_COMMITS = 2_000
# The per-session tables `sessionData` reads: a preview writes these alone (store.py's write_preview; an INSERT costs
# ~5-10 ms whatever its rows, and the day, hour and minute rows feed only the rollups, left to the derivation).
SHOWN = ("sessions", "meetings", "connections", "publishers", "subscribers")
# Session ids known to be seen, kept between previews (a set of strings: ~100 bytes each), at most about this many.
MAX_SEEN = 200_000
_SESSIONS_SEEN = """SELECT session_id FROM session_bounds WHERE session_id IN ({ids})
UNION SELECT session_id FROM sessions WHERE session_id IN ({ids})"""


def new_session_keys(con: duckdb.DuckDBPyConnection, lo: int, hi: int, limit: int,
                     seen: set[str]) -> list[SessionKey]:
    """Up to `limit` sessions with lifecycle events in commits (lo, hi] that no absorb has seen and no derivation
    has written (nor a preview), those first committed first. The commits lie past the absorb's watermark: zone maps
    skip every older row group of the raw events; the session ids are then looked up through the session_id
    indexes (a join would read session_bounds whole), but for those in `seen` (ids found seen before: the live
    sessions, whose lifecycle events fill most of any window), to which the ids found seen now are added."""
    found = con.execute("SELECT project_id, session_id FROM events WHERE seq > $lo AND seq <= $hi "
                        "GROUP BY project_id, session_id ORDER BY min(seq)", {"lo": lo, "hi": hi}).fetchall()
    unknown = sorted({s for _, s in found} - seen)
    if not unknown:
        return []
    if len(seen) > MAX_SEEN:
        seen.clear()
    seen.update(row[0] for row in con.execute(_SESSIONS_SEEN.format(ids=string_list(unknown))).fetchall())
    # (an id seen in another project is left out too: its own project's derivation shows it a step later)
    return [(p, s) for p, s in found if s not in seen][:limit]


def no_stats(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """An empty table of stats_daily's rows as derive/inputs.py reads them: a session no absorb has seen has no
    samples folded."""
    return con.sql(f"SELECT {', '.join(STATS_COLUMNS)} FROM stats_daily WHERE false").to_arrow_table()

