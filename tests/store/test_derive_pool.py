"""Derivation split over worker processes (the server's default) writes what inline derivation writes,
even when the workers' row tables infer different column types (a session without meetings has
integer zero tiers, one with meetings has floats): a regression that once stopped derivation."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)


def traffic() -> list[dict]:
    return [
        # "a": stats only, no connection: no meeting record, tiers are the integer 0
        {"id": "a1", "type": "publisherStats", "sessionId": "a", "timestamp": NOW - 60_000, "streamId": "s1",
         "videoLatencyMs": 80.0},
        # "b": two connections for two minutes: a meeting, tiers are floats
        {"id": "b1", "type": "connectionCreated", "sessionId": "b", "timestamp": NOW - 180_000, "connectionId": "c1"},
        {"id": "b2", "type": "connectionCreated", "sessionId": "b", "timestamp": NOW - 180_000, "connectionId": "c2"},
        {"id": "b3", "type": "connectionDestroyed", "sessionId": "b", "timestamp": NOW - 60_000, "connectionId": "c1"},
        {"id": "b4", "type": "connectionDestroyed", "sessionId": "b", "timestamp": NOW - 60_000, "connectionId": "c2"},
    ]


def sessions(store: DuckDBStore) -> list[tuple]:
    return store.reader().execute("SELECT * FROM sessions ORDER BY session_id").fetchall()


def test_worker_processes_write_what_inline_derivation_writes(tmp_path) -> None:
    inline, pooled = DuckDBStore(str(tmp_path / "inline.duckdb")), DuckDBStore(str(tmp_path / "pooled.duckdb"))
    for store in (inline, pooled):
        load_events(store, "1", traffic())
    assert derive_pending(inline, 10) == (2, 0)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert derive_pending(pooled, 10, pool) == (2, 0)  # the two sessions go to the worker in two parts
    assert pooled.dirty_session_count() == 0
    expected = sessions(inline)
    assert [r[1] for r in expected] == ["a", "b"] and expected[1][5] == 1  # b has one meeting
    assert sessions(pooled) == expected
    inline.close()
    pooled.close()


def test_the_workers_parts_of_a_table_are_written_as_one() -> None:
    """finish_batch joins the workers' tables of one name (an INSERT each costs the same whatever its rows): the
    column types unified (int with double, null with string, columns in another order), or the parts as they are
    where they cannot be (string with int: the store then casts each part to its columns)."""
    import pyarrow as pa

    from videoinsights.derive.engine import _together

    one = pa.table({"tier": [0, 0], "name": [None, None]})
    two = pa.table({"name": ["x"], "tier": [1.5]})
    (joined,) = _together([one, two])
    assert joined.schema == pa.schema([("tier", pa.float64()), ("name", pa.string())])
    assert joined.to_pylist() == [{"tier": 0.0, "name": None}, {"tier": 0.0, "name": None},
                                  {"tier": 1.5, "name": "x"}]
    clash = pa.table({"tier": ["high"], "name": ["y"]})
    assert _together([one, clash]) == [one, clash]
    assert _together([one]) == [one]
