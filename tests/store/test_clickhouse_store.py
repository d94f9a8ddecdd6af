"""What the ClickHouse store promises beyond the shared store tests (store/clickhouse/store.py's
docstring): a retried insert is dropped, a duplicate that raced past the dedup probe counts once,
a commit arriving while its session is derived keeps it dirty, months outlive their purged days, the
stored rollups stay the sums of the contribution rows when sessions are re-derived, retracted twice or
rebuilt, a version-1 store (rollups as views) is migrated to them, and a re-derivation's DELETEs write patch
parts (a version-2 store's tables are made able to)."""

from __future__ import annotations

import dataclasses
import time
from datetime import date

import pyarrow as pa
import pytest

from tests.support.stores import drop, new_store_url, open_store, rows
from videoinsights.derive.engine import derive_pending, derive_until_clean
from videoinsights.domain.days import day_start_ms
from videoinsights.ingest.batch import validate_events
from videoinsights.query.report import ReportQuery
from videoinsights.store.clickhouse import versioned
from videoinsights.store.clickhouse.migrate import V1_ARCHIVES
from videoinsights.store.clickhouse.schema import (
    CONTRIBUTION_TABLES,
    DERIVED_SESSION_TABLES,
    ROLLUPS,
    SCHEMA_VERSION,
    _create,
    _duck,
)
from videoinsights.store.clickhouse.store import ClickHouseStore

NOW = int(time.time() * 1000)


@pytest.fixture
def store(tmp_path):
    url = new_store_url("chdb", tmp_path)
    s = open_store(url)
    yield s
    s.close()
    drop(url)


def columns(events: list[dict]) -> dict:
    batch = validate_events(events, "1", NOW, 0, NOW + 60_000)
    assert not batch.rejected
    return batch.columns


def session(name: str, t: int) -> list[dict]:
    """One participant connected 10 minutes, publishing 6 of them."""
    return [
        {"id": f"{name}-c", "type": "connectionCreated", "sessionId": name, "timestamp": t, "connectionId": "c"},
        {"id": f"{name}-s", "type": "streamCreated", "sessionId": name, "timestamp": t + 60_000, "streamId": "s",
         "connectionId": "c"},
        {"id": f"{name}-x", "type": "streamDestroyed", "sessionId": name, "timestamp": t + 420_000, "streamId": "s"},
        {"id": f"{name}-d", "type": "connectionDestroyed", "sessionId": name, "timestamp": t + 600_000,
         "connectionId": "c"},
    ]


def test_a_retried_insert_is_dropped_by_its_token(store) -> None:
    batch = columns(session("a", NOW - 3_600_000))
    keep = [True] * 4
    store._insert_raw([batch], keep, 1)
    store._insert_raw([batch], keep, 2)  # the same rows again (an answer lost, the request retried)
    assert rows(store, "SELECT count(*) FROM events") == [(4,)]


def test_a_duplicate_that_raced_the_probe_counts_once(store) -> None:
    events = session("a", NOW - 3_600_000)
    store.append_events([columns(events)])
    # another process probed before the first insert landed: the same ids stored again, in another insert
    store._insert_raw([columns([dict(e) for e in reversed(events)])], [True] * 4, 99)
    assert rows(store, "SELECT count(*) FROM events") == [(8,)]
    derive_until_clean(store)
    assert rows(store, "SELECT publisher_minutes FROM sessions") == [(6.0,)]
    assert rows(store, "SELECT count(*) FROM publishers") == [(1,)]


def test_a_commit_during_derivation_keeps_its_session_dirty(store) -> None:
    events = session("a", NOW - 3_600_000)
    store.append_events([columns(events[:2])])
    keys = store.dirty_sessions(10)  # a derive cycle reads the dirty tokens ...
    assert keys == [("1", "a")]
    store.append_events([columns(events[2:])])  # ... a commit lands before it loads the raw events ...
    events_seen = store.load_session_event_table(keys)
    assert events_seen.num_rows == 4  # (it may or may not see them)
    store.replace_derived(keys, {})  # ... and it finishes: only the tokens it read are cleared
    assert store.dirty_session_count() == 1  # the later commit's token still marks the session
    assert derive_pending(store, 10) == (1, 0)
    assert store.dirty_session_count() == 0


def test_months_outlive_their_purged_days(store) -> None:
    t = int(time.mktime((2026, 3, 10, 12, 0, 0, 0, 0, -1)) * 1000)
    store.append_events([columns(session("old", t))])
    derive_until_clean(store)
    before = rows(store, "SELECT sum(published_minutes) FROM rollup_endpoint_monthly")
    assert before == [(6.0,)]
    for _ in range(2):  # two processes purging the same days
        store.purge(raw_before=date(2026, 1, 1), daily_before=date(2026, 4, 1), monthly_before=date(2025, 1, 1))
    assert rows(store, "SELECT count(*) FROM session_endpoint_days") == [(0,)]
    assert rows(store, "SELECT count(*) FROM rollup_endpoint_daily") == [(0,)]
    assert rows(store, "SELECT sum(published_minutes) FROM rollup_endpoint_monthly") == before
    store.purge(raw_before=date(2026, 1, 1), daily_before=date(2026, 4, 1), monthly_before=date(2026, 4, 1))
    assert rows(store, "SELECT count(*) FROM rollup_endpoint_monthly") == [(0,)]


def test_the_purge_drops_cleared_dirty_tokens_only(store) -> None:
    store.append_events([columns(session("a", NOW - 3_600_000))])
    derive_until_clean(store)
    store.append_events([columns(session("b", NOW - 3_600_000))])  # b: dirty, not derived
    # a: one token and its cleared row; b: one live token
    assert rows(store, "SELECT session_id, cleared FROM dirty_sessions ORDER BY session_id, cleared") == [
        ("a", 0), ("a", 1), ("b", 0)]
    counts = store.purge(raw_before=date(2000, 1, 1), daily_before=date(2000, 1, 1),
                         monthly_before=date(2000, 1, 1))
    assert counts["dirty_sessions"] == 2
    assert store.dirty_sessions(10) == [("1", "b")]


def test_derive_lag_ignores_rebuild_marks(store) -> None:
    store.append_events([columns(session("a", NOW - 3_600_000))])
    derive_until_clean(store)
    store.mark_all_dirty()  # a rebuild's marks have no arrival time
    assert store.derive_lag_ms(NOW + 10_000) == 0
    batch = validate_events(session("b", NOW - 3_600_000), "1", NOW - 5_000, 0, NOW + 60_000)
    store.append_events([batch.columns])
    assert store.derive_lag_ms(NOW + 10_000) == 15_000  # b waits since its arrival, 5 s before NOW


# -- stored rollups: the sums of the contribution rows (store/clickhouse/schema.py) ----------------------

DAY = date(2026, 3, 10)


def began_on_day(store, *names: str) -> None:
    """Sessions with a raw event on DAY: a replacement clears their day rows from that day on (a session id without
    raw events keeps its day rows, an expired earlier use's: test_retention.py)."""
    store.append_events([columns([{"id": f"{n}-on-day", "type": "connectionCreated", "sessionId": n,
                                   "timestamp": day_start_ms(DAY) + 3_600_000, "connectionId": "c"} for n in names])])


def contribution(session_id: str, country: str, minutes: float) -> dict:
    return {"session_endpoint_days": [pa.table({
        "project_id": ["1"], "session_id": [session_id], "day": [DAY], "country": [country],
        "published_minutes": [minutes]})]}


def daily(store) -> list[tuple]:
    return rows(store, "SELECT country, published_minutes FROM rollup_endpoint_daily ORDER BY country")


def report(store, **changes) -> list[dict]:
    """A projectData report of DAY by country, as the API reads it (store/clickhouse/reads.py)."""
    q = ReportQuery(project_id="1", first_day=DAY, last_day=DAY, interval="DAILY", filters=(),
                    group_by=("country",), endpoint_columns=("published_minutes",), project_columns=(),
                    include_project=False, monthly_before=date(2026, 1, 1), offset=0, limit=10)
    found, _ = store.sql.reads.project_report(store.reader(), dataclasses.replace(q, **changes))
    return [(r["country"], r["published_minutes"]) for r in found]


def test_a_replaced_contribution_leaves_the_rollups(store) -> None:
    began_on_day(store, "a", "b")
    store.replace_derived([("1", "a")], contribution("a", "US", 5.0))
    store.replace_derived([("1", "b")], contribution("b", "US", 2.0))
    assert daily(store) == [("US", 7.0)]
    store.replace_derived([("1", "a")], contribution("a", "FR", 3.0))  # a's re-derivation moves it to FR
    assert daily(store) == [("FR", 3.0), ("US", 2.0)]
    assert rows(store, "SELECT country, published_minutes FROM rollup_endpoint_monthly ORDER BY country") == [
        ("FR", 3.0), ("US", 2.0)]
    store.replace_derived([("1", "b")], {})  # b has no contribution left: US has no row, as on DuckDB
    assert daily(store) == [("FR", 3.0)]
    assert report(store) == [("FR", 3.0)]
    assert report(store, filters=(("country", ("US",)),)) == []
    ungrouped, total = store.sql.reads.project_report(store.reader(), ReportQuery(
        project_id="1", first_day=DAY, last_day=DAY, interval=None, filters=(("country", ("US",)),), group_by=(),
        endpoint_columns=("published_minutes",), project_columns=(), include_project=False,
        monthly_before=date(2026, 1, 1), offset=0, limit=10))
    assert (ungrouped, total) == ([], 0)  # only retracted rows match: no row


MUTATIONS = "SELECT count() FROM system.mutations WHERE database = currentDatabase()"
PATCH_PARTS = ("SELECT count() FROM system.parts WHERE database = currentDatabase() "
               "AND table = 'session_endpoint_days' AND startsWith(name, 'patch-')")


def test_a_replacement_is_whole_when_it_returns(store) -> None:
    # the step's DELETEs write patch parts (store._delete_from), no mutation: when replace_derived returns, the
    # session's old rows are gone
    began_on_day(store, "a")
    for n in range(1, 6):
        store.replace_derived([("1", "a")], contribution("a", "US", float(n)))
        assert rows(store, "SELECT published_minutes FROM session_endpoint_days WHERE session_id = 'a'") == [(n,)]
    assert rows(store, MUTATIONS) == [(0,)]
    assert rows(store, PATCH_PARTS)[0][0] > 0
    assert daily(store) == [("US", 5.0)]  # each retraction read only the rows of the replacement before


def test_a_version_2_store_deletes_by_patch_parts_once_migrated(store) -> None:
    began_on_day(store, "a")
    store.replace_derived([("1", "a")], contribution("a", "US", 1.0))
    c = store.client
    for table in DERIVED_SESSION_TABLES:  # version 2's tables kept no block columns: DELETE was a mutation
        c.command(f"ALTER TABLE {table} MODIFY SETTING enable_block_number_column = 0, enable_block_offset_column = 0")
    versioned.put(c, "meta", {"key": "schema_version", "value": "2"})
    store.replace_derived([("1", "a")], contribution("a", "US", 2.0))
    assert rows(store, MUTATIONS)[0][0] == len(DERIVED_SESSION_TABLES)  # the fallback, still whole on return
    assert rows(store, "SELECT published_minutes FROM session_endpoint_days WHERE session_id = 'a'") == [(2.0,)]

    migrated = ClickHouseStore(c)
    assert migrated.meta_value("schema_version") == str(SCHEMA_VERSION)
    migrated.replace_derived([("1", "a")], contribution("a", "US", 3.0))
    assert rows(store, MUTATIONS)[0][0] == len(DERIVED_SESSION_TABLES)  # no new one
    assert rows(store, PATCH_PARTS)[0][0] > 0
    assert rows(store, "SELECT published_minutes FROM session_endpoint_days WHERE session_id = 'a'") == [(3.0,)]
    assert daily(store) == [("US", 3.0)]


def test_a_retraction_whose_delete_never_ran_counts_nothing_twice(store) -> None:
    began_on_day(store, "a")
    store.replace_derived([("1", "a")], contribution("a", "US", 5.0))
    # a derive process dies after retracting a's rows and before deleting them (store.replace_derived)
    store._retract("session_endpoint_days", "session_id = 'a'", {})
    assert daily(store) == []
    store.replace_derived([("1", "a")], contribution("a", "US", 4.0))  # a is derived again
    assert daily(store) == [("US", 4.0)]
    assert rows(store, "SELECT sum(contributions) FROM rollup_endpoint_daily_sums") == [(1,)]


def test_a_rebuild_takes_the_contributions_out_of_the_rollups(store) -> None:
    store.append_events([columns(session("a", NOW - 3_600_000))])
    derive_until_clean(store)
    assert rows(store, "SELECT sum(published_minutes) FROM rollup_endpoint_daily") == [(6.0,)]
    store.clear_derived()
    assert rows(store, "SELECT count(*) FROM rollup_endpoint_daily") == [(0,)]
    assert rows(store, "SELECT count(*) FROM rollup_endpoint_hourly") == [(0,)]
    store.mark_all_dirty()
    derive_until_clean(store)
    assert rows(store, "SELECT sum(published_minutes) FROM rollup_endpoint_daily") == [(6.0,)]
    assert rows(store, "SELECT sum(published_minutes) FROM rollup_endpoint_hourly") == [(6.0,)]


def test_a_version_1_store_gets_stored_rollups(store) -> None:
    store.append_events([columns(session("a", NOW - 3_600_000))])
    derive_until_clean(store)
    before = {r.name: rows(store, f"SELECT * FROM {r.name}") for r in ROLLUPS}
    c = store.client
    # Version 1's layout: rollups were views (any view of the name: the migration drops it), no `sign`, and a
    # monthly archive holding 10 published minutes of country US in December 2025.
    for r in ROLLUPS:
        c.command(f"DROP VIEW {r.feed}")
        c.command(f"DROP TABLE {r.sums}")
        c.command(f"DROP VIEW {r.name}")
        c.command(f"CREATE VIEW {r.name} AS SELECT 1 AS x")
    for table in CONTRIBUTION_TABLES:
        c.command(f"ALTER TABLE {table} DROP COLUMN sign")
    for name, source in V1_ARCHIVES.items():
        c.command(_create(source, _duck(name), "MergeTree", "ORDER BY (project_id, month)"))
    c.command("INSERT INTO rollup_endpoint_monthly_archive (project_id, month, country, published_minutes) "
              "VALUES ('1', '2025-12-01', 'US', 10)")
    versioned.put(c, "meta", {"key": "schema_version", "value": "1"})

    migrated = ClickHouseStore(c)
    assert migrated.meta_value("schema_version") == str(SCHEMA_VERSION)
    after = {r.name: rows(store, f"SELECT * FROM {r.name}") for r in ROLLUPS}
    december = rows(store, "SELECT country, published_minutes FROM rollup_endpoint_monthly "
                           "WHERE month = '2025-12-01'")
    assert december == [("US", 10.0)]
    after["rollup_endpoint_monthly"] = [r for r in after["rollup_endpoint_monthly"] if r[1] != date(2025, 12, 1)]
    assert after == before
    assert rows(store, "SELECT count() FROM system.tables WHERE database = currentDatabase() "
                       "AND name LIKE '%archive%'") == [(0,)]
    migrated.append_events([columns(session("b", NOW - 3_600_000))])  # the feeds work: b adds its 6 minutes
    derive_until_clean(migrated)
    assert rows(store, "SELECT sum(published_minutes) FROM rollup_endpoint_daily") == [(12.0,)]
