"""A live session's minute rows and the minutely rollup follow it from one derivation to the next: minutes added as
its stream goes on, changed and removed when a late destroy shortens it. By hand: one participant publishing from
noon (LA, a whole minute), its stream ending at its latest stats sample while no destroy has come."""

from __future__ import annotations

from datetime import date

from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.support.stores import open_store, rows
from videoinsights.derive.engine import derive_all, derive_until_clean
from videoinsights.domain.days import day_start_ms
from videoinsights.ingest.load import load_events
from videoinsights.store.base import Store

PROJECT = "1"
NOON = day_start_ms(date(2026, 11, 20)) + 12 * 3_600_000
MINUTE = 60_000
WINDOW = {"min_ts": 0, "max_ts": NOON + 86_400_000}


def sample(k: int, at: int) -> dict:
    return {"id": f"p{k}", "type": "publisherStats", "sessionId": "s", "timestamp": at, "streamId": "v",
            "videoBitrateKbps": 500.0}


START = [
    {"id": "c", "type": "connectionCreated", "sessionId": "s", "timestamp": NOON, "connectionId": "c"},
    {"id": "v", "type": "streamCreated", "sessionId": "s", "timestamp": NOON, "streamId": "v", "connectionId": "c"},
    sample(1, NOON + 30_000),
    sample(2, NOON + 150_000),  # live: the stream ends here for now, half-way through its third minute
]


def minute_rows(store: Store) -> list[tuple[int, float]]:
    """(minute from noon, published minutes) of the session's minute rows."""
    return [(int((bucket - NOON) / MINUTE), minutes) for bucket, minutes in rows(
        store, "SELECT bucket, published_minutes FROM session_endpoint_minutes WHERE session_id = 's' ORDER BY bucket")]


def rollup_minutes(store: Store) -> list[tuple[int, float]]:
    return [(int((bucket - NOON) / MINUTE), minutes) for bucket, minutes in rows(
        store, "SELECT bucket, sum(published_minutes) FROM rollup_endpoint_minutely GROUP BY bucket ORDER BY bucket")]


def started(tmp_path) -> tuple[Store, list[tuple[int, float]]]:
    """A store with START derived, and the session's minute rows then."""
    store = open_store(f"duckdb://{tmp_path / 'live.duckdb'}")
    load_events(store, PROJECT, START, **WINDOW)
    derive_until_clean(store)
    return store, minute_rows(store)


def test_a_live_sessions_minutes_grow_with_its_samples(tmp_path) -> None:
    store, first = started(tmp_path)
    load_events(store, PROJECT, [sample(3, NOON + 270_000)], **WINDOW)  # two minutes more: it ends in the fifth
    derive_until_clean(store)
    second, rollups = minute_rows(store), rollup_minutes(store)
    incremental = snapshot(store)
    derive_all(store)
    rebuilt = snapshot(store)
    store.close()

    assert first == [(0, 1.0), (1, 1.0), (2, 0.5)]
    assert second == [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 0.5)]
    assert rollups == second
    assert_same_rows(rebuilt, incremental)


def test_a_minute_left_without_rows_goes_with_its_rollup(tmp_path) -> None:
    """The stream destroyed at 1:30 (a late lifecycle event, the connection still alive): the minute-2 row, derived
    from the samples before it came, goes, and the minutely rollup's row of that minute with it."""
    store, first = started(tmp_path)
    late = load_events(store, PROJECT, [{"id": "d", "type": "streamDestroyed", "sessionId": "s",
                                         "timestamp": NOON + 90_000, "streamId": "v"}], **WINDOW)
    derive_until_clean(store)
    second, rollups = minute_rows(store), rollup_minutes(store)
    store.close()

    assert late.accepted == 1
    assert first == [(0, 1.0), (1, 1.0), (2, 0.5)]
    assert second == [(0, 1.0), (1, 0.5)]
    assert rollups == second
