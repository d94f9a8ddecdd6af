"""DuckDB's tuning settings (docs/configuration.md) reach the database the server opens: the keywords
web/app.py passes through open_store, from the environment variables an operator sets."""

from __future__ import annotations

from typing import Any

import duckdb

from tests.store.test_raw_file import batch
from videoinsights.derive.engine import derive_until_clean
from videoinsights.settings import load_settings
from videoinsights.store.open import duckdb_options, open_store


def duckdb_options_of(env: dict[str, str]) -> dict[str, Any]:
    return duckdb_options(load_settings(env))  # as web/app.py opens its store


def setting(store, name: str) -> str:
    return str(store._con.execute("SELECT current_setting(?)", [name]).fetchone()[0])


def test_threads_memory_limit_and_wal_size_from_the_environment(tmp_path) -> None:
    env = {"VIDEOINSIGHTS_DUCKDB_THREADS": "1", "VIDEOINSIGHTS_DUCKDB_MEMORY_LIMIT_MB": "512",
           "VIDEOINSIGHTS_WAL_AUTOCHECKPOINT_MB": "32", "VIDEOINSIGHTS_DERIVED_WAL_CHECKPOINT_MB": "16"}
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}", duckdb_options=duckdb_options_of(env))
    try:
        assert setting(store, "threads") == "1"
        assert setting(store, "memory_limit") == "512.0 MiB"
        assert setting(store, "wal_autocheckpoint") == "64.0 MiB"  # twice the larger of the two (below)
    finally:
        store.close()


def test_both_files_wals_pass_their_thresholds_without_duckdbs_own_checkpoint(tmp_path) -> None:
    """The writer checkpoints the raw file when its WAL has passed wal_autocheckpoint_mb, the derive thread the main
    file when its WAL has passed derived_wal_checkpoint_mb, each between its commits (store/writer.py,
    derive/worker.py). DuckDB's own threshold, one for the instance, checkpoints inside the commit it expects to take a
    WAL past it (its estimate of a commit's WAL is larger than what it writes): were it either of theirs, that commit
    would checkpoint (a derive step held up ~1.3 s at 10,000 events/s, docs/benchmarks.md) and their checks would never
    find their threshold reached. Here 1 and 4 MiB: commits take each WAL past its threshold, and it stays there."""
    env = {"VIDEOINSIGHTS_WAL_AUTOCHECKPOINT_MB": "1", "VIDEOINSIGHTS_DERIVED_WAL_CHECKPOINT_MB": "4"}
    thresholds = (2**20, 4 * 2**20)  # the raw file's, the main file's
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}", duckdb_options=duckdb_options_of(env))
    largest = [0, 0]  # each WAL's largest size after a commit
    try:
        for n in range(40):
            store.append_events([batch(f"b{n}", 2000)])
            derive_until_clean(store)
            largest = [max(w, now) for w, now in zip(largest, store.wal_bytes(), strict=True)]
            if all(w >= t for w, t in zip(largest, thresholds, strict=True)):
                break
    finally:
        store.close()
    assert largest[0] >= thresholds[0] and largest[1] >= thresholds[1], largest



def test_threads_default_to_duckdbs_own(tmp_path) -> None:
    own = str(duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0])  # one per core
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}", duckdb_options=duckdb_options_of({}))
    try:
        assert setting(store, "threads") == own
    finally:
        store.close()
