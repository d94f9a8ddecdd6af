"""Dirty sessions are derived in the order they were first dirtied, so a session
that keeps receiving events cannot starve one that just started."""

from __future__ import annotations

import time

from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)


def connect(session: str, n: int, ts: int) -> dict:
    return {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": f"c{n}"}


def test_busy_old_session_does_not_starve_a_new_one(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, "1", [connect("busy", 1, NOW - 3_600_000)])  # commit 1: an old, busy session
    derive_pending(store, 10)
    load_events(store, "1", [connect("busy", 2, NOW - 60_000)])  # commit 2: busy again
    load_events(store, "1", [connect("new", 1, NOW)])  # commit 3: a session that just started
    store.absorb_new_events()
    assert store.dirty_sessions(10) == [("1", "busy"), ("1", "new")]
    assert derive_pending(store, 1) == (1, 0)  # derives "busy"
    load_events(store, "1", [connect("busy", 3, NOW)])  # commit 4: busy is dirtied again ...
    store.absorb_new_events()
    assert store.dirty_sessions(10) == [("1", "new"), ("1", "busy")]  # ... and queues behind "new"
    store.close()
