"""Copy a DuckDB store's rows into a ClickHouse store, table by table, so that the read functions of the
two backends can be compared on identical data (tests/query/test_backends_equal.py).

The API-level fixture world (tests/query/fixtures.py) writes rollup rows directly, not as sums of its
contribution rows. ClickHouse stores its rollups as sums fed from the contribution tables
(store/clickhouse/schema.py): the contribution rows are copied first, then the sums they fed are emptied
and each DuckDB rollup row is copied into them as one contribution.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from videoinsights.store.clickhouse.schema import ROLLUPS, _duck
from videoinsights.store.clickhouse.store import _ARROW

# Tables copied row for row (same names and columns); the rollups follow (ROLLUPS).
TABLES = ("events", "stats_samples", "sessions", "meetings", "connections", "publishers", "subscribers",
          "quality_scores", "quality_issues", "session_endpoint_days", "session_project_days",
          "session_endpoint_hours", "session_endpoint_minutes")
# Metadata tables (versioned on ClickHouse).
VERSIONED = ("accounts", "account_projects", "login_sessions", "client_keys", "livekit_keys", "alert_rules",
             "alert_deliveries", "alert_meetings_sent")


def _typed(table: pa.Table, source: str) -> pa.Table:
    """The rows with the store columns' Arrow types."""
    types = {c.name: _ARROW[c.duck_type] for c in _duck(source)}
    return pa.table({n: table.column(n).cast(types[n]) for n in table.column_names if n in types})


def copy(duck: Any, ch: Any) -> None:
    """Every row of `duck` (a DuckDBStore) into `ch` (a fresh ClickHouseStore)."""
    for project in duck.list_projects():
        ch.insert_project(project)
    cur = duck.reader()
    for table in TABLES:
        rows = cur.sql(f"SELECT * FROM {table}").to_arrow_table()
        if rows.num_rows:
            ch.client.insert_arrow(table, _typed(rows, table))
    for rollup in ROLLUPS:
        ch.client.command(f"TRUNCATE TABLE {rollup.sums}")
        rows = cur.sql(f"SELECT * FROM {rollup.name}").to_arrow_table()
        if rows.num_rows:
            typed = _typed(rows, rollup.name)
            ch.client.insert_arrow(rollup.sums, typed.append_column(
                "contributions", pa.array([1] * rows.num_rows, pa.int64())))
    for table in VERSIONED:
        rows = cur.sql(f"SELECT * FROM {table}").to_arrow_table()
        if rows.num_rows:
            typed = _typed(rows, table)
            ch.client.insert_arrow(table, typed.append_column("version", pa.array([1] * rows.num_rows, pa.int64())))
