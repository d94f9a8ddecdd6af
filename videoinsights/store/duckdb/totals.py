"""A project's endpoint measures per day, summed over every dimension: `rollup_endpoint_daily_totals`.

A report without groups or filters (the dashboard's totals, a usage chart by day) needs one row per day, yet
read the day's `rollup_endpoint_daily` rows, one per combination of six dimensions: thousands a day for a busy
project, scanned and summed at every request (docs/benchmarks.md, "Report totals by day"). These rows are that
sum, kept beside the groups: re-aggregated from them for each (project, day) a derive step touched, in the same
transaction, so a read sees both or neither. Like every rollup they can be rebuilt from the rows below them.
"""

from __future__ import annotations

import duckdb

from videoinsights.store.duckdb.schema import ENDPOINT_MEASURES, ENDPOINT_SUMS

TOTALS = "rollup_endpoint_daily_totals"
# The totals of the (project, day)s a WHERE clause of rollup_endpoint_daily selects, summed from their groups.
_SUM_GROUPS = (f"INSERT INTO {TOTALS} (project_id, day, {', '.join(ENDPOINT_MEASURES)}) "
               f"SELECT project_id, day, {ENDPOINT_SUMS} FROM rollup_endpoint_daily {{where}} GROUP BY project_id, day")


def refresh_day_totals(con: duckdb.DuckDBPyConnection, days: str) -> None:
    """Re-sum the totals of the (project, day)s in `days` (a SELECT of project_id, day, and no other column)
    from their group rows, which the caller has just re-aggregated (its transaction)."""
    in_days = f"day >= (SELECT min(day) FROM ({days})) AND (project_id, day) IN ({days})"
    con.execute(f"DELETE FROM {TOTALS} WHERE {in_days}")
    con.execute(_SUM_GROUPS.format(where=f"WHERE {in_days}"))


# Every total again from the group rows: a file from before the table (schema 15: store.py's MIGRATIONS), or rows
# written straight into rollup_endpoint_daily (test and benchmark worlds).
REFILL = (f"DELETE FROM {TOTALS}", _SUM_GROUPS.format(where="") + " ORDER BY day, project_id")


def refill_day_totals(con: duckdb.DuckDBPyConnection) -> None:
    """REFILL, in the caller's transaction."""
    for sql in REFILL:
        con.execute(sql)
