"""A derive step finds a session's old derived rows by session key and a time bound (store/duckdb/schema.py,
rows_of_keys: none of its rows is older than its first raw event), so that it skips other sessions' older rows.
An event older than everything the session had (a late one, two LA days earlier) must still replace all of its
rows: the result equals a rebuild from the raw events."""

from __future__ import annotations

from datetime import date, timedelta

from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.support.stores import open_store, rows
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms
from videoinsights.ingest.load import load_events

PROJECT = "1"
DAY = date(2026, 11, 20)
MINUTE = 60_000


def call(session: str, connection: str, start: int, minutes: int) -> list[dict]:
    """One participant publishing for `minutes`, with a stats sample after 30 s."""
    first = f"{session}-{connection}"
    return [
        {"id": f"{first}-1", "type": "connectionCreated", "sessionId": session, "timestamp": start,
         "connectionId": connection},
        {"id": f"{first}-2", "type": "streamCreated", "sessionId": session, "timestamp": start,
         "streamId": f"s-{connection}", "connectionId": connection},
        {"id": f"{first}-3", "type": "publisherStats", "sessionId": session, "timestamp": start + 30_000,
         "streamId": f"s-{connection}", "videoBitrateKbps": 500.0, "packetLoss": 0.2},
        {"id": f"{first}-4", "type": "connectionDestroyed", "sessionId": session, "timestamp": start + minutes * MINUTE,
         "connectionId": connection},
    ]


def test_an_event_before_a_sessions_first_replaces_all_its_rows(tmp_path) -> None:
    noon = day_start_ms(DAY) + 12 * 3_600_000
    early = day_start_ms(DAY - timedelta(days=2)) + 23 * 3_600_000 + 58 * MINUTE  # 23:58, two LA days before
    older = call("neighbour", "n", noon - 10 * 86_400_000, 5)  # derived before, ten days earlier
    first = call("s", "a", noon, 3)
    late = call("s", "b", early, 4)  # crosses LA midnight: 2 minutes on each of two days
    window = {"min_ts": 0, "max_ts": noon + 86_400_000}

    store = open_store(f"duckdb://{tmp_path / 'inc.duckdb'}")
    load_events(store, PROJECT, older + first, **window)
    derive_until_clean(store)
    load_events(store, PROJECT, late, **window)
    derive_until_clean(store)
    incremental = snapshot(store)
    days = rows(store, "SELECT day, sum(published_minutes) FROM session_endpoint_days WHERE session_id = 's' "
                       "GROUP BY day ORDER BY day")
    store.clear_derived()
    store.mark_all_dirty()
    derive_until_clean(store)
    rebuilt = snapshot(store)
    store.close()

    assert days == [(DAY - timedelta(days=2), 2.0), (DAY - timedelta(days=1), 2.0), (DAY, 3.0)]
    assert_same_rows(rebuilt, incremental)
    assert [r for r in incremental["sessions"] if r[1] == "neighbour"]  # the older session kept its rows
