"""A DuckDB cursor refuses register() and sql() while an earlier result of it is unfinished (DuckDB 2.0): the store
reads its results whole (store/duckdb/fetch.py), so that one call's lookup never fails the next call on the same
thread's cursor."""

from __future__ import annotations

import ast
import time
from pathlib import Path

from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)
DUCKDB_BACKEND = Path(__file__).resolve().parents[2] / "videoinsights" / "store" / "duckdb"
SQLITE_MODULES = {"dedup.py"}  # the keys file is SQLite, whose cursors fetchone() leaves nothing open on


def test_no_fetchone_on_a_duckdb_result() -> None:
    """The mechanism, not one call site: a new fetchone() in the DuckDB backend would leave its result unfinished
    (use fetch.first_row or fetchall())."""
    offenders = []
    for path in sorted(DUCKDB_BACKEND.glob("*.py")):
        if path.name in SQLITE_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "fetchone":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


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
