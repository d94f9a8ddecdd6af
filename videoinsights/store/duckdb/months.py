"""Monthly rollups, refreshed apart from the derive steps.

The API reads a month from the monthly rollups only once its days have left the daily ones (months before the
first day of daily retention, query/report.py's `monthly_before`): the monthly rows of recent months are written
for later. Re-aggregating them at every derive step wrote as many 133-column rows as the daily rollups did (12%
of a live step's WAL, docs/benchmarks.md "Monthly rollups refreshed apart"). A step now records the (project,
month)s it touched in `stale_months`; `refresh_stale_months` re-aggregates those months from their daily rows: when
the derive loop is idle (at most every minute: derive/worker.py), when it stops, at the end of a rebuild, and in every
retention purge before it deletes daily rows, so that a month's days are in its monthly rows before they go.
"""

from __future__ import annotations

import duckdb

from videoinsights.store.duckdb.schema import (
    DIMENSION_LIST,
    ENDPOINT_ROLLUP_COLUMNS,
    ENDPOINT_SUMS,
    PROJECT_ROLLUP_COLUMNS,
    PROJECT_SUMS,
)

MONTH = "CAST(date_trunc('month', day) AS DATE)"
_STALE = "(project_id, month) IN (SELECT project_id, month FROM stale_months)"
_DAILY = ("(SELECT *, " + MONTH + " AS month FROM rollup_{kind}_daily "
          "WHERE day >= (SELECT min(month) FROM stale_months))")  # only the stale months' days and later
_REFRESH = (
    f"DELETE FROM rollup_endpoint_monthly WHERE {_STALE}",
    f"INSERT INTO rollup_endpoint_monthly (project_id, month, {ENDPOINT_ROLLUP_COLUMNS}) "
    f"SELECT project_id, month, {DIMENSION_LIST}, {ENDPOINT_SUMS} FROM {_DAILY.format(kind='endpoint')} "
    f"WHERE {_STALE} GROUP BY project_id, month, {DIMENSION_LIST}",
    f"DELETE FROM rollup_project_monthly WHERE {_STALE}",
    f"INSERT INTO rollup_project_monthly (project_id, month, {PROJECT_ROLLUP_COLUMNS}) "
    f"SELECT project_id, month, {PROJECT_SUMS} FROM {_DAILY.format(kind='project')} "
    f"WHERE {_STALE} GROUP BY project_id, month",
    "DELETE FROM stale_months",
)


def mark_stale(con: duckdb.DuckDBPyConnection, days: str) -> None:
    """Record the months of `days` (a SELECT of project_id, day) as stale (the caller's transaction)."""
    con.execute(f"INSERT OR IGNORE INTO stale_months SELECT DISTINCT project_id, {MONTH} FROM ({days})")


def refresh_stale_months(con: duckdb.DuckDBPyConnection) -> int:
    """Re-aggregate the monthly rollups of the stale months from their daily rows (the caller's transaction);
    returns how many (project, month)s."""
    stale = int(con.execute("SELECT count(*) FROM stale_months").fetchall()[0][0])
    if stale:
        for sql in _REFRESH:
            con.execute(sql)
    return stale
