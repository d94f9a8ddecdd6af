"""DuckDB's tuning settings (docs/configuration.md) reach the database the server opens: the keywords
web/app.py passes through open_store, from the environment variables an operator sets."""

from __future__ import annotations

from typing import Any

import duckdb

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
        assert setting(store, "wal_autocheckpoint") == "32.0 MiB"
    finally:
        store.close()


def test_duckdbs_own_checkpoint_is_the_larger_of_the_two_files_thresholds(tmp_path) -> None:
    """The writer checkpoints the raw file at wal_autocheckpoint_mb, the derive thread the main file at
    derived_wal_checkpoint_mb (store/writer.py, derive/worker.py); DuckDB's own threshold, instance-wide, must not
    cut in below either."""
    env = {"VIDEOINSIGHTS_WAL_AUTOCHECKPOINT_MB": "32", "VIDEOINSIGHTS_DERIVED_WAL_CHECKPOINT_MB": "384"}
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}", duckdb_options=duckdb_options_of(env))
    try:
        assert setting(store, "wal_autocheckpoint") == "384.0 MiB"
    finally:
        store.close()


def test_threads_default_to_duckdbs_own(tmp_path) -> None:
    own = str(duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0])  # one per core
    store = open_store(f"duckdb://{tmp_path / 'vi.duckdb'}", duckdb_options=duckdb_options_of({}))
    try:
        assert setting(store, "threads") == own
    finally:
        store.close()
