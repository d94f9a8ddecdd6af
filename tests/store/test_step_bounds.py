"""A derive step finds its sessions' derived rows by bounds that DuckDB's zone maps prune on (schema.rows_of_keys:
no row of a session is older than its first event, nor written before the step that last derived it). A bound is
only a pruning bound when the planner puts it on the table scan itself; as a subquery on temp table `keys` it was
applied after the scan, so each step read the day, hour and minute tables whole, in a store that grows all day
(docs/benchmarks.md, "A step's bounds as constants"). Here the plan of each table's DELETE must carry its bounds on
its scan: checked on the plan, as zone maps only skip row groups of stores far larger than a test's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb import quality
from videoinsights.store.duckdb.schema import DERIVED_SESSION_TABLES, rows_of_keys
from videoinsights.store.duckdb.store import DuckDBStore

NOW = 1_790_000_000_000
MINUTE = 60_000
# the time bound of each table that has one (schema._SINCE_CONDITION), besides every table's write_seq
TIME_COLUMN = {"sessions": "created_at", "meetings": "created_at", "connections": "created_at",
               "publishers": "created_at", "subscribers": "created_at", "session_endpoint_days": "day",
               "session_project_days": "day", "session_endpoint_hours": "bucket",
               "session_endpoint_minutes": "bucket", "quality_issues": "start_ts"}


def call(session: str, start: int) -> list[dict]:
    """A participant publishing for five minutes to another, with stats samples (quality rows), the first bad (an
    issue)."""
    events = [
        {"id": f"{session}-c", "type": "connectionCreated", "sessionId": session, "timestamp": start,
         "connectionId": "a"},
        {"id": f"{session}-s", "type": "streamCreated", "sessionId": session, "timestamp": start,
         "streamId": "s", "connectionId": "a"},
        {"id": f"{session}-b", "type": "connectionCreated", "sessionId": session, "timestamp": start,
         "connectionId": "b"},
        {"id": f"{session}-u", "type": "subscriberCreated", "sessionId": session, "timestamp": start + 1_000,
         "subscriberId": "u", "streamId": "s", "connectionId": "b"},
        {"id": f"{session}-d", "type": "connectionDestroyed", "sessionId": session, "timestamp": start + 5 * MINUTE,
         "connectionId": "a"},
    ]
    events += [{"id": f"{session}-p{i}", "type": "publisherStats", "sessionId": session,
                "timestamp": start + (i + 1) * 30_000, "streamId": "s", "videoBitrateKbps": 50.0 if i < 4 else 900.0,
                "videoPacketLoss": 0.3 if i < 4 else 0.0} for i in range(8)]
    return events


def scan_filters(plan: list[dict[str, Any]], table: str) -> list[str]:
    """The filters on each scan of stored `table` in a plan of EXPLAIN (FORMAT json)."""
    found = []
    nodes = list(plan)
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("children", []))
        info = node.get("extra_info", {})
        if "SCAN" in node.get("name", "") and str(info.get("Table", "")).endswith(f".{table}"):
            found.append(str(info.get("Filters", "")))
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> DuckDBStore:
    """Two sessions derived, a day apart and by steps apart (else a bound that every row meets is planned away)."""
    store = DuckDBStore(str(tmp_path_factory.mktemp("bounds") / "b.duckdb"))
    for events in (call("old", NOW - 86_400_000), call("live", NOW)):
        assert load_events(store, "1", events, max_ts=NOW + 3_600_000).accepted == len(events)
        derive_until_clean(store)
    yield store
    store.close()


@pytest.mark.parametrize("table", DERIVED_SESSION_TABLES)
def test_a_steps_delete_bounds_the_scan_of_each_table(store: DuckDBStore, table: str) -> None:
    con = store._dcon
    store._keys_table([("1", "live")])  # `keys` as a derive step of the second session makes it
    assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0  # (an empty table's plan has no scan)
    plan = json.loads(con.execute(f"EXPLAIN (FORMAT json) DELETE FROM {table} WHERE {rows_of_keys(table)}")
                      .fetchall()[0][1])
    filters = scan_filters(plan, table)
    assert filters, f"no scan of {table} in the plan"
    wanted = ["write_seq", *([TIME_COLUMN[table]] if table in TIME_COLUMN else [])]
    for scan in filters:
        assert all(column in scan for column in wanted), f"{table}: scan filters {scan!r}, wanted {wanted}"


def test_the_bounds_are_the_batchs_least(store: DuckDBStore) -> None:
    """The constants are those of the sessions in `keys`: made again for another batch, they follow it."""
    con = store._dcon
    store._keys_table([("1", "old"), ("1", "live")])
    bounds = con.execute("SELECT getvariable('keys_bounds')").fetchone()[0]
    first = con.execute("SELECT min(first_ts) FROM session_bounds WHERE session_id IN ('old', 'live')").fetchone()[0]
    assert bounds["first_ts"] == first == NOW - 86_400_000
    store._keys_table([("1", "live")])
    assert con.execute("SELECT getvariable('keys_bounds')").fetchone()[0]["first_ts"] == NOW


def test_the_scores_read_the_batchs_connections_only(store: DuckDBStore) -> None:
    """The scores' statement joins each connection-level score to its connection's meeting: the connections of the
    batch's sessions, bounded like the step's own reads (it read the table whole at every step before)."""
    con = store._dcon
    store._keys_table([("1", "live")])
    assert con.execute("SELECT count(*) FROM q_target").fetchone()[0] > 0  # (the last scoring's temp tables)
    plan = json.loads(con.execute(f"EXPLAIN (FORMAT json) {quality._SCORES}", {"w": 1, "h": 0}).fetchall()[0][1])
    filters = scan_filters(plan, "connections")
    assert filters and all("created_at" in f and "write_seq" in f for f in filters), filters
