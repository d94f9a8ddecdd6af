"""Copy a DuckDB store's rows into a ClickHouse store, table by table, so that the read functions of the
two backends can be compared on identical data (tests/query/test_backends_equal.py).

The API-level fixture world (tests/query/fixtures.py) writes rollup rows directly, which ClickHouse
computes as views over the per-session contributions (store/clickhouse/schema.py): a rollup row is
copied as one contribution of a session named "" (a sum of one row is that row), a monthly rollup row
into the monthly archive the views also read.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from videoinsights.store.clickhouse.schema import _duck
from videoinsights.store.clickhouse.store import _ARROW

# DuckDB table -> ClickHouse table the rows go to (same columns, plus session_id "" for rollups).
TABLES = {
    **{t: t for t in ("events", "stats_samples", "sessions", "meetings", "connections", "publishers", "subscribers",
                      "quality_scores", "quality_issues", "session_endpoint_days", "session_project_days",
                      "session_endpoint_hours", "session_endpoint_minutes")},
    "rollup_endpoint_daily": "session_endpoint_days",
    "rollup_project_daily": "session_project_days",
    "rollup_endpoint_hourly": "session_endpoint_hours",
    "rollup_endpoint_minutely": "session_endpoint_minutes",
    "rollup_endpoint_monthly": "rollup_endpoint_monthly_archive",
    "rollup_project_monthly": "rollup_project_monthly_archive",
}
# Metadata tables (versioned on ClickHouse).
VERSIONED = ("accounts", "account_projects", "login_sessions", "client_keys", "livekit_keys", "alert_rules",
             "alert_deliveries", "alert_meetings_sent")


def _typed(table: pa.Table, source: str, target: str) -> pa.Table:
    """The rows with the store columns' Arrow types (and session_id "" where a rollup row becomes a contribution)."""
    types = {c.name: _ARROW[c.duck_type] for c in _duck(source)}
    out = {n: table.column(n).cast(types[n]) for n in table.column_names if n in types}
    if target.startswith("session_") and "session_id" not in out:
        out["session_id"] = pa.array([""] * table.num_rows, pa.string())
    return pa.table(out)


def copy(duck: Any, ch: Any) -> None:
    """Every row of `duck` (a DuckDBStore) into `ch` (a fresh ClickHouseStore)."""
    for project in duck.list_projects():
        ch.insert_project(project)
    cur = duck.reader()
    for source, target in TABLES.items():
        rows = cur.sql(f"SELECT * FROM {source}").to_arrow_table()
        if rows.num_rows:
            ch.client.insert_arrow(target, _typed(rows, source, target))
    for table in VERSIONED:
        rows = cur.sql(f"SELECT * FROM {table}").to_arrow_table()
        if rows.num_rows:
            typed = _typed(rows, table, table)
            ch.client.insert_arrow(table, typed.append_column("version", pa.array([1] * rows.num_rows, pa.int64())))
