"""Derivation has its own DuckDB connection (its own thread, its own transactions). A failed derive
transaction must be rolled back on that connection, not on the writer's, and a reopened database (after
DuckDB invalidated it) must give derivation a live connection again."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pytest

from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.batch import validate_events
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000) - 3_600_000


def connection(session: str, n: int) -> dict:
    return {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session,
            "timestamp": NOW + n * 1000, "connectionId": f"c{n}"}


def append(store: DuckDBStore, events: list[dict]) -> None:
    batch = validate_events(events, "1", NOW + 60_000, 0, NOW + 3_600_000)
    assert batch.size == len(events) and not batch.rejected
    store.append_events([batch.columns])


def derived(store: DuckDBStore) -> list[str]:
    return [r[0] for r in store.reader().execute("SELECT session_id FROM sessions ORDER BY session_id").fetchall()]


def test_a_failed_derive_transaction_leaves_derivation_usable(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    append(store, [connection("s1", 1)])
    store.absorb_new_events()
    bad = pa.table({"no_such_column": [1]})
    with pytest.raises(Exception, match="no_such_column"):
        store.replace_derived([("1", "s1")], {"sessions": [bad]})
    # The writer is unaffected and derivation starts a new transaction on its own connection.
    append(store, [connection("s2", 2)])
    assert derive_until_clean(store) == 2
    assert derived(store) == ["s1", "s2"]
    store.close()


def test_derivation_works_after_the_database_is_reopened(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    append(store, [connection("s1", 1)])
    store._invalidated = True  # as after a failed checkpoint (tests/ingest/test_disk_full.py does it for real)
    append(store, [connection("s2", 2)])  # the write reopens the database first
    assert derive_until_clean(store) == 2
    assert derived(store) == ["s1", "s2"]
    store.close()
