"""A DuckDB cursor refuses register() and sql() while an earlier result of it is unfinished (DuckDB 2.0): the store
reads its results whole (store/duckdb/fetch.py), so that one call's lookup never fails the next call on the same
thread's cursor."""

from __future__ import annotations

import time

from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)


def test_a_session_read_after_the_derive_lag_on_the_same_thread(tmp_path) -> None:
    # /metrics asks for the derive lag on the event loop's thread; that thread's cursor serves other reads after it.
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    try:
        before = int(time.time() * 1000)
        load_events(store, "1", [{"id": "c1", "type": "connectionCreated", "sessionId": "s1", "timestamp": NOW,
                                  "connectionId": "c1"}])
        after = int(time.time() * 1000)
        # received between `before` and `after`, not derived yet: asked a minute after `after`
        assert 60_000 <= store.derive_lag_ms(after + 60_000) <= 60_000 + after - before
        store.absorb_new_events()
        assert store.sql.reads.sessions_by_ids(store.reader(), "1", ["s1"]) == []  # not derived: no sessions row
    finally:
        store.close()
