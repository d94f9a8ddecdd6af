"""Previews (store/duckdb/preview.py, derive/preview.py): a session first seen in commits no absorb has taken yet gets
its own rows written beside the derive step, without rollups; its derivation replaces them, whenever it comes (after
a restart too), and no session is previewed twice."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.support.stores import drop, new_store_url, open_store, rows
from videoinsights.derive.engine import derive_all, derive_pending
from videoinsights.derive.preview import Previewer
from videoinsights.derive.worker import DeriveStats
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import load_events
from videoinsights.settings import Settings
from videoinsights.store.writer import Writer

NOW = int(time.time() * 1000)


def connect(session: str, n: int) -> dict:
    return {"id": f"{session}-c{n}", "type": "connectionCreated", "sessionId": session,
            "timestamp": NOW - 120_000 + 1000 * n, "connectionId": f"c{n}"}


def stream(session: str, n: int) -> dict:
    return {"id": f"{session}-s{n}", "type": "streamCreated", "sessionId": session,
            "timestamp": NOW - 110_000 + 1000 * n, "connectionId": f"c{n}", "streamId": f"s{n}"}


def stream_end(session: str, n: int) -> dict:
    return {"id": f"{session}-e{n}", "type": "streamDestroyed", "sessionId": session,
            "timestamp": NOW - 50_000 + 1000 * n, "streamId": f"s{n}"}


def test_a_preview_shows_a_new_session_and_its_derivation_replaces_the_rows(tmp_path: Path) -> None:
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}")
    load_events(store, "1", [connect("old", 1)])
    derive_pending(store, 10)
    # committed, not absorbed: "a" publishes for a minute
    load_events(store, "1", [connect("a", 1), stream("a", 1), stream_end("a", 1)])
    previewer = Previewer(store, 0.5, DeriveStats())
    assert previewer.preview_once() == 1
    assert rows(store, "SELECT session_id FROM sessions ORDER BY 1") == [("a",), ("old",)]
    assert rows(store, "SELECT session_id, connection_id FROM connections WHERE session_id = 'a'") == [("a", "c1")]
    assert rows(store, "SELECT count(*) FROM publishers WHERE session_id = 'a'") == [(1,)]
    # the day, hour and minute rows and the rollups wait for the derivation (only what sessionData reads is previewed)
    for table in ("session_endpoint_days", "session_project_days", "session_endpoint_hours",
                  "session_endpoint_minutes"):
        assert rows(store, f"SELECT count(*) FROM {table}") == [(0,)], table
    rollup = "SELECT sum(published_minutes) FROM rollup_endpoint_daily"
    assert rows(store, rollup) == [(None,)]
    load_events(store, "1", [connect("a", 2)])  # (its absorb moves the watermark past the preview's stamp)
    assert previewer.preview_once() == 0  # "a" has rows now: never previewed twice
    assert store.dirty_session_count() == 0 and store.undigested_commits() > 0
    derive_pending(store, 10)
    store.refresh_months()  # (the derive loop's, when idle: a rebuild's too)
    assert rows(store, "SELECT session_id, connection_id FROM connections WHERE session_id = 'a' ORDER BY 2") == [
        ("a", "c1"), ("a", "c2")]
    assert rows(store, "SELECT count(*) FROM sessions WHERE session_id = 'a'") == [(1,)]
    assert rows(store, rollup) == [(1.0,)]
    incremental = snapshot(store)
    derive_all(store)
    assert_same_rows(snapshot(store), incremental)
    store.close()


def test_a_previewed_session_derived_after_a_restart_keeps_no_preview_row(tmp_path: Path) -> None:
    # The bound of a never-written session's rows (dirtied_seq - 1) is in the file, not in the process's memory
    path = tmp_path / "vi.duckdb"
    store = open_store(f"duckdb://{path}")
    load_events(store, "1", [connect("old", 1)])
    derive_pending(store, 10)
    load_events(store, "1", [connect("a", 1), stream("a", 1)])
    assert Previewer(store, 0.5, DeriveStats()).preview_once() == 1
    # a later commit (a session not previewed): the watermark its absorb sets passes the preview's stamp, and only
    # sessions never written are derived next ("old" has none), so nothing lowers the step's bound but "a"'s own
    load_events(store, "1", [connect("b", 1)])
    store.close()
    store = open_store(f"duckdb://{path}")
    preview = store.preview_inputs(10)  # a new process: "a" is known seen by its rows alone
    assert preview is not None and preview.keys == [("1", "b")]
    derive_pending(store, 10)
    store.refresh_months()
    assert rows(store, "SELECT count(*) FROM sessions WHERE session_id = 'a'") == [(1,)]
    assert rows(store, "SELECT count(*) FROM publishers WHERE session_id = 'a'") == [(1,)]
    incremental = snapshot(store)
    derive_all(store)
    assert_same_rows(snapshot(store), incremental)
    store.close()


def test_an_absorbed_session_is_left_to_its_derivation(tmp_path: Path) -> None:
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}")
    load_events(store, "1", [connect("a", 1)])
    store.absorb_new_events()
    assert store.preview_inputs(10) is None
    assert Previewer(store, 0.5, DeriveStats()).preview_once() == 0
    assert rows(store, "SELECT count(*) FROM sessions") == [(0,)]
    store.close()


def test_previews_run_beside_a_block_and_stop_with_it(tmp_path: Path) -> None:
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}")
    stats = DeriveStats()
    previewer = Previewer(store, 0.02, stats)
    before = {t.name for t in threading.enumerate()}
    with previewer.alongside():
        load_events(store, "1", [connect("n", 1)])
        deadline = time.monotonic() + 10
        while not rows(store, "SELECT count(*) FROM sessions")[0][0]:
            assert time.monotonic() < deadline, "no preview while the block ran"
            time.sleep(0.01)
    assert stats.sessions_previewed == 1 and stats.preview_failures == 0
    assert {t.name for t in threading.enumerate()} - before == set()  # the thread ended with the block
    with Previewer(store, 0, stats).alongside():  # off: nothing runs
        load_events(store, "1", [connect("m", 1)])
        time.sleep(0.1)
    assert rows(store, "SELECT session_id FROM sessions") == [("n",)]
    store.close()


def test_clickhouse_stores_take_no_previews(tmp_path: Path) -> None:
    url = new_store_url("chdb", tmp_path)
    store = open_store(url)
    try:
        load_events(store, "1", [connect("a", 1)])
        assert store.preview_inputs(10) is None
        assert Previewer(store, 0.5, DeriveStats()).preview_once() == 0
    finally:
        store.close()
        drop(url)


def test_previews_beside_busy_derive_steps_end_where_a_rebuild_does(tmp_path: Path, caplog) -> None:
    """The server's writer and derive thread (worker processes), new sessions arriving all along and previewed every
    millisecond while a step writes or folds: every preview's rows are replaced by its session's derivation, and the
    rows end as a rebuild's."""
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}", duckdb_options={"stats_fold_s": 0.2})
    writer = Writer(store, Settings(derive_batch_sessions=5, derive_interval_ms=10, derive_preview_ms=1))
    writer.start()
    now = int(time.time() * 1000)
    for first in range(0, 400, 8):  # 50 commits of 8 new sessions each, and the previous commit's sessions' ends
        events = [e for n in range(first, first + 8) for e in (connect(f"s{n}", 1), stream(f"s{n}", 1))]
        events += [stream_end(f"s{n}", 1) for n in range(max(0, first - 8), first)]
        validated = validate_events(events, "1", now, 0, now + 300_000)
        assert not validated.rejected
        writer.append(validated.columns).result(60)  # a commit each, while the derive thread runs
        time.sleep(0.01)
    writer.stop()  # commits what is queued, then derives every dirty session
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert writer.stats.sessions_previewed > 0 and writer.stats.preview_failures == 0
    assert rows(store, "SELECT count(*), count(DISTINCT session_id) FROM sessions") == [(400, 400)]
    incremental = snapshot(store)
    derive_all(store)
    assert_same_rows(snapshot(store), incremental)
    store.close()


def test_no_previews_while_the_store_is_far_behind(tmp_path: Path, monkeypatch) -> None:
    # Past MAX_COMMITS commits not absorbed (a store catching up after a restart), a preview would read them all to
    # show sessions the absorb is about to: none (the bound made 2 here, not 2,000 commits)
    monkeypatch.setattr("videoinsights.store.duckdb.store.PREVIEW_MAX_COMMITS", 2)
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}")
    for session in ("a", "b", "c"):
        load_events(store, "1", [connect(session, 1)])
    assert store.preview_inputs(10) is None
    store.absorb_new_events()
    load_events(store, "1", [connect("d", 1)])
    load_events(store, "1", [connect("e", 1)])
    preview = store.preview_inputs(10)
    assert preview is not None and preview.keys == [("1", "d"), ("1", "e")]
    store.close()
