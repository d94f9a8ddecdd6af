"""The raw tables in a file of their own (store/duckdb/rawfile.py): where the rows go, and ingest going on, its file
checkpointed, while a derive cycle holds the derivation lock."""

from __future__ import annotations

import os
import time
from typing import Any

import duckdb

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
    # (no retention purge: it runs on the writer thread under the lock, at start and then hourly)
    writer = Writer(store, Settings(db=path, checkpoint_interval_s=0, purge_interval_s=10**9))
    writer.start()
    try:
        with writer.derive_lock:
            for n in range(3):  # each acknowledged after the checkpoint that followed the one before
                assert writer.append(batch(f"b{n}", 500)).result(timeout=30) == [True] * 501
            wal = f"{path}.raw.wal"
            deadline = time.monotonic() + 30
            while os.path.exists(wal) and os.path.getsize(wal) > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not os.path.exists(wal) or os.path.getsize(wal) == 0
    finally:
        writer.stop()
        store.close()
