"""Dirty sessions are derived never-derived first, then in the order they were first dirtied, so a
session that keeps receiving events cannot starve one that just started."""

from __future__ import annotations

import time

from tests.support.stores import open_store
from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import load_events
from videoinsights.store.base import Store

NOW = int(time.time() * 1000)


def connect(session: str, n: int, ts: int) -> dict:
    return {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": f"c{n}"}


def test_busy_old_session_does_not_starve_a_new_one(store_url) -> None:
    store = open_store(store_url)
    load_events(store, "1", [connect("busy", 1, NOW - 3_600_000)])  # commit 1: an old, busy session
    load_events(store, "1", [connect("other", 1, NOW - 3_600_000)])  # commit 2: another one
    derive_pending(store, 10)
    load_events(store, "1", [connect("busy", 2, NOW - 60_000)])  # commit 3: busy again
    load_events(store, "1", [connect("other", 2, NOW - 60_000)])  # commit 4: other again
    load_events(store, "1", [connect("new", 1, NOW)])  # commit 5: a session that just started ...
    store.absorb_new_events()
    assert store.dirty_sessions(10) == [("1", "new"), ("1", "busy"), ("1", "other")]  # ... goes first (never derived)
    assert derive_pending(store, 2) == (2, 0)  # derives "new" and "busy"
    load_events(store, "1", [connect("busy", 3, NOW)])  # commit 6: busy is dirtied again ...
    load_events(store, "1", [connect("new", 2, NOW)])  # commit 7: new too: it was derived, no priority now
    store.absorb_new_events()
    assert store.dirty_sessions(10) == [("1", "other"), ("1", "busy"), ("1", "new")]  # ... queued behind "other"
    assert derive_pending(store, 10) == (3, 0)
    assert store.dirty_sessions(10) == []  # all derived: nothing to pick (an idle server asks this 4 times a second)
    assert store.load_session_event_table([("1", "busy")]).num_rows == 3  # and the connection is free for the next read
    load_events(store, "1", [connect("busy", 4, NOW)])
    store.absorb_new_events()
    assert store.dirty_sessions(10) == [("1", "busy")]
    store.close()


def append(store: Store, event: dict, received_at: int) -> None:
    batch = validate_events([event], "1", received_at, 0, NOW + 60_000)
    store.append_events([batch.columns])


def test_derive_lag_is_the_age_of_the_oldest_event_not_yet_derived(store_url) -> None:
    store = open_store(store_url)
    assert store.derive_lag_ms(50_000) == 0  # nothing stored
    append(store, connect("a", 1, NOW), received_at=1_000)
    assert store.derive_lag_ms(6_000) == 5_000  # committed, not yet folded into dirty_sessions
    append(store, connect("b", 1, NOW), received_at=3_000)
    store.absorb_new_events()
    assert store.derive_lag_ms(10_000) == 9_000  # "a" waits since 1,000
    assert derive_pending(store, 1) == (1, 0)  # derives "a", dirtied first
    assert store.derive_lag_ms(10_000) == 7_000  # "b" waits since 3,000
    append(store, connect("a", 2, NOW), received_at=8_000)
    assert store.derive_lag_ms(10_000) == 7_000  # still "b", the oldest
    assert derive_pending(store, 10) == (2, 0)
    assert store.derive_lag_ms(10_000) == 0
    store.close()
