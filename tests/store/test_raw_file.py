"""The raw tables in a file of their own (store/duckdb/rawfile.py): where the rows go, and ingest going on, its file
checkpointed, while a derive cycle holds the derivation lock."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import duckdb

from tests.support.waiting import wait_until
from videoinsights.derive.worker import DeriveStats, DeriveWorker, HandoffLock
from videoinsights.ingest.batch import validate_events
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import Writer

NOW = int(time.time() * 1000)


def batch(prefix: str, n: int) -> dict[str, list[Any]]:
    events = [{"id": f"{prefix}-{i}", "type": "publisherStats", "sessionId": "s1", "timestamp": NOW + i,
               "streamId": "st1", "videoBitrateKbps": 500.0} for i in range(n)]
    events.append({"id": f"{prefix}-c", "type": "connectionCreated", "sessionId": "s1", "timestamp": NOW,
                   "connectionId": "c1"})
    return validate_events(events, "1", NOW, 0, NOW + 60_000).columns


def test_raw_rows_are_written_to_the_raw_file_and_read_through_the_main_files_views(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    store.append_events([batch("a", 3)])
    assert store.reader().execute("SELECT count(*) FROM stats_samples").fetchone() == (3,)
    store.close()
    raw = duckdb.connect(f"{path}.raw", read_only=True)  # the raw file alone holds the rows
    assert raw.execute("SELECT count(*) FROM stats_samples").fetchone() == (3,)
    assert raw.execute("SELECT event_id FROM events").fetchall() == [("a-c",)]
    raw.close()
    main = duckdb.connect(path, read_only=True)  # the main file: views only, nothing to read without the raw file
    kinds = dict(main.execute("SELECT table_name, table_type FROM information_schema.tables "
                              "WHERE table_name IN ('events', 'stats_samples')").fetchall())
    main.close()
    assert kinds == {"events": "VIEW", "stats_samples": "VIEW"}


def test_ingest_and_its_files_checkpoint_go_on_while_a_derive_cycle_holds_the_lock(tmp_path) -> None:
    """The writer checkpoints the raw file on its timer (here: after every commit) without the derivation lock: with
    the lock held as by a long derive cycle, batches are still acknowledged and the raw file's WAL is written back
    into it. (The checkpoint used to wait for the lock, and every batch after it with it.)"""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    # (no derive thread, the test holds its lock; and so no retention purge, which runs on the writer thread under
    # that lock, at start and then hourly)
    writer = Writer(store, Settings(db=path, checkpoint_interval_s=0, derive_in_server=False))
    writer.start()
    try:
        with writer.derive_lock:
            for n in range(3):  # each acknowledged after the checkpoint that followed the one before
                assert writer.append(batch(f"b{n}", 500)).result(timeout=30) == [True] * 501
            wait_until(lambda: store.wal_bytes()[0] == 0, 30, "the raw file's WAL was not checkpointed", 0.05)
    finally:
        writer.stop()
        store.close()


def test_the_writer_checkpoints_the_raw_file_when_its_wal_passes_wal_autocheckpoint_mb(tmp_path) -> None:
    """With the timer an hour away and DuckDB's own threshold at 1 GiB, only the writer's size check (1 MiB here)
    can write the raw WAL back into the file: it does so once a few commits have passed it."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path, wal_autocheckpoint_mb=1024)
    writer = Writer(store, Settings(db=path, checkpoint_interval_s=3600, derive_in_server=False,  # (as above)
                                    wal_autocheckpoint_mb=1, derived_wal_checkpoint_mb=1024))
    writer.start()
    try:
        with writer.derive_lock:  # (nothing derived: the main file's WAL stays as it is)
            written = 0
            for n in range(40):
                assert writer.append(batch(f"c{n}", 1000)).result(timeout=30) == [True] * 1001
                written = max(written, store.wal_bytes()[0])
            assert written > 0
            wait_until(lambda: store.wal_bytes()[0] < 2**20, 30, "the raw file's WAL stayed past 1 MiB", 0.05)
    finally:
        writer.stop()
        store.close()


def test_the_derive_loop_checkpoints_the_main_file_when_its_wal_passes_its_threshold(tmp_path) -> None:
    """The derived rows' WAL (the main file's) checkpointed by the derive thread at `checkpoint_bytes`, with its timer
    off and DuckDB's own threshold at 1 GiB."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path, wal_autocheckpoint_mb=1024)
    store.append_events([batch("d", 200)])
    store.checkpoint_raw()
    worker = DeriveWorker(store, DeriveStats(), HandoffLock(), batch=10, interval=0.05, checkpoint_bytes=1)
    worker.start()
    try:
        wait_until(lambda: store.dirty_session_count() == 0 and store.undigested_commits() == 0, 30,
                   "the sessions were not derived", 0.05)
        wait_until(lambda: store.wal_bytes()[1] == 0, 30, "the main file's WAL was not checkpointed", 0.05)
    finally:
        worker.stop()
    assert store.reader().execute("SELECT count(*) FROM connections").fetchone() == (1,)
    store.close()


def test_wal_bytes_are_the_raw_files_then_the_main_files(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), wal_autocheckpoint_mb=1024)
    store.checkpoint_raw()
    store.checkpoint()
    assert store.wal_bytes() == (0, 0)
    store.append_events([batch("e", 10)])  # raw rows: the raw file's WAL
    raw, main = store.wal_bytes()
    assert raw > 0 and main == 0
    store.absorb_new_events()  # session bounds, stats rows: the main file's
    assert store.wal_bytes()[1] > 0
    store.checkpoint_raw()
    assert store.wal_bytes()[0] == 0
    store.close()


def test_the_derive_threads_checkpoints_leave_the_write_connection_to_ingest(tmp_path, caplog) -> None:
    """A DuckDB connection refuses a second caller instead of waiting (ResourceInUseException): the derive thread's
    checkpoint of the main file must not run on the writer's connection while ingest commits on it, or one of the
    two fails (a checkpoint skipped, or worse an ingest commit). Here the derive loop checkpoints after every step
    while a thread appends as the writer thread does, without pause."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path, wal_autocheckpoint_mb=1024)
    worker = DeriveWorker(store, DeriveStats(), HandoffLock(), batch=10, interval=0.01, checkpoint_bytes=1)
    failures: list[BaseException] = []

    def ingest() -> None:
        for n in range(300):
            try:
                store.append_events([batch(f"i{n}", 20)])
            except Exception as exc:  # an ingest commit refused
                failures.append(exc)
            worker.wake()

    appender = threading.Thread(target=ingest)
    worker.start()
    appender.start()
    appender.join(120)
    worker.stop()
    assert failures == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert store.reader().execute("SELECT count(*) FROM events").fetchone() == (300,)  # one connection event each
    store.close()
