"""Sample quality scored in a pass of its own, at most every `quality_pass_s` (DuckDB store, the server's setting).

Scoring sessions (store/duckdb/quality.py's `_score`) costs mostly per statement, not per session: ~0.1 s of every
derive step under load for the ~55 it re-scored, ~0.16 s for 200 sessions at once and ~0.22 s for 600 (its statements
read the bands and samples from the oldest session on; docs/benchmarks.md). With a pass, a derive
step scores none: every session it writes keeps the quality of its last scoring (the rows `KEPT`), and those the step
would have re-scored (never scored, or not dirty again, or scored over `quality_refresh_s` ago: rescoring.py) are
recorded in `quality_owed`, in the step's transaction. The pass then scores up to OWED_PER_PASS of them at once, from
their derived rows as they stand, in a transaction of its own: their score rows and sample issues replaced, the
endpoint-day measures of their samples (quality.py's PART_COLUMNS) set anew, and the daily rollups of those rows'
groups re-aggregated.
A session owed twice before a pass is scored once.

The derive loop runs a pass when one is due, and whenever it has nothing else to do (derive/worker.py), so a session's
quality lags its other rows by at most about `quality_pass_s` under load and by a step when idle; a session that stops
receiving is scored from its last rows, as a rebuild scores it. `dirty_session_count` counts the owed sessions too, so
"nothing waits" still means every acknowledged event is reflected, quality included.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES
from videoinsights.store.duckdb.quality import PART_COLUMNS, SAMPLE_ISSUE
from videoinsights.store.duckdb.schema import rows_of_keys

OWED_PER_PASS = 2000  # sessions a pass scores at most (the rest in the next one)

ANY_OWED = "SELECT count(*) > 0 FROM quality_owed"
OWED_BATCH = "SELECT project_id, session_id FROM quality_owed ORDER BY project_id, session_id LIMIT ?"
OWE = "INSERT OR IGNORE INTO quality_owed SELECT project_id, session_id FROM owed_in"
PAID = ("DELETE FROM quality_owed WHERE (project_id, session_id) IN "
        "(SELECT project_id, session_id FROM keys)")
_DIMS = ", ".join(DIMENSIONS)
_HAS_PARTS = f"({' OR '.join(f'{c} <> 0' for c in PART_COLUMNS)})"
# Before the sessions are scored again: their score rows and sample issues go, and their endpoint-day rows lose the
# measures of their samples, those rows' (day, dimensions) noted first in q_had.
CLEAR = (
    f"DELETE FROM quality_scores WHERE {rows_of_keys('quality_scores')}",
    f"DELETE FROM quality_issues WHERE {rows_of_keys('quality_issues')} AND {SAMPLE_ISSUE}",
    f"CREATE OR REPLACE TEMP TABLE q_had AS SELECT project_id, session_id, day, {_DIMS} FROM session_endpoint_days "
    f"WHERE {rows_of_keys('session_endpoint_days')} AND {_HAS_PARTS}",
    f"UPDATE session_endpoint_days SET {', '.join(f'{c} = 0' for c in PART_COLUMNS)} "
    f"WHERE {rows_of_keys('session_endpoint_days')} AND {_HAS_PARTS}",
)
# The endpoint-day rows of the sessions may then be found from the least write_seq of their last steps.
ROWS_SINCE = "SELECT min(written_seq) FROM keys"
# A row only the old measures made (a day or dimensions the samples no longer fall on) would stay, all zero, where a
# rebuild has none: a derived endpoint-day row always has a measure (derive/endpoints.py). Only a row of q_had that
# the new measures (q_parts) missed can be one: looked for only when there is such a row.
_SAME = " AND ".join(f"p.{c} IS NOT DISTINCT FROM h.{c}" for c in ("project_id", "session_id", "day", *DIMENSIONS))
MISSED = f"SELECT count(*) FROM q_had h WHERE NOT EXISTS (SELECT 1 FROM q_parts p WHERE {_SAME})"
EMPTY_ROWS = (f"DELETE FROM session_endpoint_days WHERE {rows_of_keys('session_endpoint_days')} AND "
              + " AND ".join(f"{m} = 0" for m in ENDPOINT_MEASURES))


class QualityPasses:
    """When the next pass is due: `every_s` after the last one, once a session is owed."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s  # 0: no pass, derive steps score their sessions
        self._clock = clock
        self._last = clock()
        self.pending = True  # sessions may be owed (the store reads the table at open: it survives a restart)
        self.scored = 0  # sessions scored by passes, in all (/metrics)

    @property
    def on(self) -> bool:
        return self.every_s > 0

    def due(self, idle: bool = False) -> bool:
        """A pass should run now: sessions are owed and `every_s` has passed, or the caller has nothing else to do
        (also with passes off: sessions owed from before they were turned off)."""
        return self.pending and (idle or (self.on and self._clock() - self._last >= self.every_s))

    def owed(self) -> None:
        self.pending = True

    def passed(self, scored: int, more: bool) -> None:
        """A pass committed, having scored `scored` sessions; `more`: sessions are still owed."""
        self._last = self._clock()
        self.pending = more
        self.scored += scored
