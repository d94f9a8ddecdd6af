"""load_events (the demo's, tests' and benchmarks' way in) stores what POST /v1/events would: a chunk the
compiled path takes whole gives the rows the Python path gives, and a chunk with a bad event or an id twice
is counted as the Python path counts it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.support.days import weekday_start
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore

PID = "12345678"
STORED = "SELECT * EXCLUDE (received_at) FROM events ORDER BY event_id"


def stored(path: Path, fill: Any) -> list[tuple[Any, ...]]:
    store = DuckDBStore(str(path))
    try:
        fill(store)
        return store.reader().execute(STORED).fetchall()
    finally:
        store.close()


def test_valid_traffic_is_stored_as_the_python_path_stores_it(tmp_path: Path) -> None:
    events = list(generate(PID, weekday_start(2, 1), 1, 3, seed=7))
    assert len(events) > 1000 and len({e["type"] for e in events}) > 5

    def python_path(store: DuckDBStore) -> None:
        now = int(time.time() * 1000)
        for i in range(0, len(events), 500):
            batch = validate_events(events[i : i + 500], PID, now, 0, now + 300_000)
            assert not batch.rejected
            store.append_events([batch.columns])

    def loaded(store: DuckDBStore) -> None:
        result = load_events(store, PID, events, batch_size=500)
        assert (result.accepted, result.duplicates, result.rejected) == (len(events), 0, 0)

    assert stored(tmp_path / "a.duckdb", loaded) == stored(tmp_path / "b.duckdb", python_path)


def test_a_bad_event_and_an_id_twice_are_counted(tmp_path: Path) -> None:
    t = weekday_start(2, 1)
    good = [{"id": f"c{i}", "type": "connectionCreated", "sessionId": "s", "timestamp": t + i, "connectionId": f"c{i}"}
            for i in range(4)]
    bad = {"id": "x", "type": "connectionCreated", "sessionId": "s", "timestamp": t}  # no connectionId
    # JSON has no NaN: as a dict it is a bad number, not an absent field (orjson would write it as null)
    nan = {"id": "n", "type": "publisherStats", "sessionId": "s", "timestamp": t, "streamId": "st",
           "videoBitrateKbps": float("nan")}
    store = DuckDBStore(str(tmp_path / "c.duckdb"))
    try:
        result = load_events(store, PID, [*good, bad, good[0], nan])
        assert (result.accepted, result.duplicates, result.rejected) == (4, 1, 2)
        assert load_events(store, PID, [nan]).rejected == 1  # alone too: nothing else to refuse in its chunk
        assert store.reader().execute("SELECT count(*) FROM events").fetchall() == [(4,)]
    finally:
        store.close()
