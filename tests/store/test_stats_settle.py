"""Commits of stats samples of sessions derived lately wait for the settle window (derive/settle.py); lifecycle
events and new sessions start a cycle at once, and a cycle derives every dirty session, the waiting ones too."""

from __future__ import annotations

import time

from tests.support.stores import rows
from videoinsights.derive import settle as settle_module
from videoinsights.derive.settle import StatsSettle
from videoinsights.ingest.batch import validate_events
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import Writer

NOW = int(time.time() * 1000)


def stats(event_id: str, session: str, ts: int) -> dict:
    return {"id": event_id, "type": "publisherStats", "sessionId": session, "timestamp": ts, "streamId": "st1",
            "videoBitrateKbps": 500.0}


def lifecycle(event_id: str, session: str, ts: int) -> list[dict]:
    return [{"id": f"{event_id}-c", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
             "connectionId": "c1"},
            {"id": f"{event_id}-s", "type": "streamCreated", "sessionId": session, "timestamp": ts,
             "connectionId": "c1", "streamId": "st1"}]


def columns(events: list[dict]) -> dict:
    batch = validate_events(events, "1", NOW, 0, NOW + 300_000)
    assert not batch.rejected, batch.rejected
    return batch.columns


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_only_stats_of_sessions_derived_lately_may_wait() -> None:
    settle = StatsSettle(1.0)
    assert settle.urgent([columns([stats("a1", "a", NOW)])])  # "a" never derived here: at once
    settle.derived([("1", "a")])
    assert not settle.urgent([columns([stats("a2", "a", NOW)])])
    assert settle.urgent([columns([stats("a3", "a", NOW), stats("b1", "b", NOW)])])  # "b" is new
    assert settle.urgent([columns(lifecycle("a4", "a", NOW))])  # a lifecycle event of "a"
    # the same session id in another project is another session
    other = validate_events([stats("a5", "a", NOW)], "2", NOW, 0, NOW + 300_000).columns
    assert settle.urgent([other])
    # several requests' batches committed together: urgent if any one is
    assert settle.urgent([columns([stats("a6", "a", NOW)]), columns(lifecycle("a7", "a", NOW))])
    assert StatsSettle(0).urgent([columns([stats("a8", "a", NOW)])])  # window 0: always at once


def test_deferred_commits_fall_due_a_window_after_the_first() -> None:
    clock = Clock()
    settle = StatsSettle(1.0, clock)
    assert settle.due_in() is None
    settle.defer()
    clock.now += 0.25
    settle.defer()  # a later one does not push the first's deadline
    assert settle.due_in() == 0.75
    clock.now += 2
    assert settle.due_in() == 0
    settle.cycle_starts()  # a cycle absorbs them all
    assert settle.due_in() is None


def test_the_oldest_derived_sessions_are_forgotten_beyond_the_bound(monkeypatch) -> None:
    monkeypatch.setattr(settle_module, "REMEMBERED", 2)
    settle = StatsSettle(1.0)
    settle.derived([("1", "a"), ("1", "b")])
    settle.derived([("1", "a")])  # derived again: now the newest
    settle.derived([("1", "c")])  # "b" is forgotten
    assert not settle.urgent([columns([stats("x1", "a", NOW), stats("x2", "c", NOW)])])
    assert settle.urgent([columns([stats("x3", "b", NOW)])])


def wait_clean(store: DuckDBStore, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while store.undigested_commits() or store.dirty_session_count():
        assert time.monotonic() < deadline, "derivation did not catch up"
        time.sleep(0.02)


def test_stats_of_a_derived_session_wait_for_the_window_or_the_next_urgent_commit(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    # a window of an hour, a poll every 20 ms: only an urgent commit can start the cycle below
    writer = Writer(store, Settings(derive_stats_settle_ms=3_600_000, derive_interval_ms=20))
    writer.start()
    try:
        writer.append(columns(lifecycle("a0", "a", NOW - 60_000))).result(60)
        wait_clean(store)
        assert rows(store, "SELECT last_seen_at FROM sessions WHERE session_id = 'a'") == [(NOW - 60_000,)]
        writer.append(columns([stats("a1", "a", NOW - 30_000)])).result(60)
        time.sleep(0.5)  # 25 polls' worth: none of them folds the stats commit in
        assert store.undigested_commits() == 1
        assert rows(store, "SELECT last_seen_at FROM sessions WHERE session_id = 'a'") == [(NOW - 60_000,)]
        writer.append(columns(lifecycle("b0", "b", NOW - 10_000))).result(60)  # a new session: at once
        wait_clean(store)
        # that cycle derived "a" too: its stream is alive until its latest sample
        assert rows(store, "SELECT session_id, last_seen_at FROM sessions ORDER BY 1") == [
            ("a", NOW - 30_000), ("b", NOW - 10_000)]
    finally:
        writer.stop()
    store.close()
