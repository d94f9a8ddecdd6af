"""A live session's minute rows written from the first minute that changed (derive/fine_suffix.py), on a DuckDB file:
the minutes before keep the rows an earlier derivation wrote, and every row and rollup is still what a rebuild gives.
The scenario and its figures by hand are test_live_minute_rows': one participant publishing from noon, its stream
ending at its latest stats sample while no destroy has come."""

from __future__ import annotations

from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.store.test_live_minute_rows import MINUTE, NOON, PROJECT, START, WINDOW, minute_rows, rollup_minutes, sample
from tests.support.stores import open_store, rows
from videoinsights.derive.engine import derive_all, finish_batch, start_batch
from videoinsights.derive.fine_suffix import FineMemory
from videoinsights.ingest.load import load_events
from videoinsights.store.base import Store


def derive_remembering(store: Store, fine: FineMemory) -> None:
    """Derive every dirty session as the derive loop does, with the memory of written rows (and the monthly rollups
    then, as its idle loop does)."""
    while (batch := start_batch(store, 100, fine=fine)) is not None:
        finish_batch(store, batch)
    store.refresh_months()


def written_at(store: Store) -> dict[int, int]:
    """The write_seq of the session's minute rows, by minute from noon."""
    return {int((bucket - NOON) / MINUTE): seq for bucket, seq in rows(
        store, "SELECT bucket, write_seq FROM session_endpoint_minutes WHERE session_id = 's'")}


def started(tmp_path) -> tuple[Store, FineMemory, dict[int, int]]:
    store = open_store(f"duckdb://{tmp_path / 'suffix.duckdb'}")
    fine = FineMemory()
    load_events(store, PROJECT, START, **WINDOW)
    derive_remembering(store, fine)
    assert minute_rows(store) == [(0, 1.0), (1, 1.0), (2, 0.5)]
    return store, fine, written_at(store)


def ends_as_rebuilt(store: Store) -> None:
    incremental = snapshot(store)
    derive_all(store)
    assert_same_rows(snapshot(store), incremental)


def test_a_growing_session_writes_its_minutes_from_the_one_that_changed(tmp_path) -> None:
    store, fine, first = started(tmp_path)
    load_events(store, PROJECT, [sample(3, NOON + 270_000)], **WINDOW)  # two minutes more: it ends in the fifth
    derive_remembering(store, fine)
    now = written_at(store)

    assert minute_rows(store) == [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 0.5)]
    assert rollup_minutes(store) == minute_rows(store)
    assert now[0] == first[0] and now[1] == first[1]  # the first two minutes as written the first time
    assert now[2] > first[2] and now[3] == now[4] == now[2]  # the half minute and the two new ones written now
    assert fine.suffix_writes == 1
    # then destroyed at 1:30: the second minute, written the first time (before the session's last write), halves
    load_events(store, PROJECT, [{"id": "d", "type": "streamDestroyed", "sessionId": "s",
                                  "timestamp": NOON + 90_000, "streamId": "v"}], **WINDOW)
    derive_remembering(store, fine)
    assert minute_rows(store) == [(0, 1.0), (1, 0.5)] and rollup_minutes(store) == minute_rows(store)
    assert written_at(store)[0] == first[0]
    ends_as_rebuilt(store)
    store.close()


def test_a_late_destroy_rewrites_the_minutes_from_the_one_it_shortens(tmp_path) -> None:
    """The stream destroyed at 1:30: the second minute halves, the third goes, the first stays as written."""
    store, fine, first = started(tmp_path)
    load_events(store, PROJECT, [{"id": "d", "type": "streamDestroyed", "sessionId": "s",
                                  "timestamp": NOON + 90_000, "streamId": "v"}], **WINDOW)
    derive_remembering(store, fine)
    now = written_at(store)

    assert minute_rows(store) == [(0, 1.0), (1, 0.5)]
    assert rollup_minutes(store) == [(0, 1.0), (1, 0.5)]
    assert now[0] == first[0] and now[1] > first[1]
    ends_as_rebuilt(store)
    store.close()


def test_a_change_that_leaves_the_minutes_as_they_were_writes_none_of_them(tmp_path) -> None:
    """A sample inside the stream's span (at 1:00) changes its quality, not its minutes: the session is derived
    again, its minute and hour rows stay as written."""
    store, fine, first = started(tmp_path)
    hours = rows(store, "SELECT write_seq FROM session_endpoint_hours WHERE session_id = 's'")
    load_events(store, PROJECT, [sample(4, NOON + 60_000)], **WINDOW)
    derive_remembering(store, fine)

    assert written_at(store) == first
    assert rows(store, "SELECT write_seq FROM session_endpoint_hours WHERE session_id = 's'") == hours
    assert rows(store, "SELECT write_seq FROM sessions")[0][0] > max(first.values())  # derived again
    assert minute_rows(store) == [(0, 1.0), (1, 1.0), (2, 0.5)] and rollup_minutes(store) == minute_rows(store)
    ends_as_rebuilt(store)
    store.close()


def test_rows_cleared_by_the_store_are_written_whole_again(tmp_path) -> None:
    """clear_derived (a rebuild) deletes the rows the memory's digests stand for: the next write has all of them."""
    store, fine, _ = started(tmp_path)
    store.clear_derived()
    store.mark_all_dirty()
    derive_remembering(store, fine)

    assert minute_rows(store) == [(0, 1.0), (1, 1.0), (2, 0.5)]
    assert rollup_minutes(store) == minute_rows(store)
    assert fine.suffix_writes == 0
    store.close()
