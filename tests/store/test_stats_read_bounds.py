"""A derive step reads its sessions' stats_daily rows bounded by the batch's oldest session (its first event, which
session_bounds takes over samples too): a row whose stream began exactly then must be read, and one of another
session between the two must not."""

from __future__ import annotations

from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

NOW = day_start_ms(la_day(1_790_000_000_000)) + 12 * 3_600_000  # noon, LA, of a fixed day
HOUR = 3_600_000


def stats(session: str, stream: str, n: int, ts: int) -> dict:
    return {"id": f"{session}-{stream}-{n}", "type": "publisherStats", "sessionId": session, "timestamp": ts,
            "streamId": stream, "videoBitrateKbps": 500.0}


def test_a_stream_that_began_with_the_oldest_session_is_read(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    events = [stats("A", "a1", 0, NOW - HOUR), stats("A", "a1", 1, NOW - HOUR + 30_000),  # A's first record
              stats("C", "c1", 0, NOW - HOUR + 60_000),  # another session, not read
              {"id": "B-0", "type": "connectionCreated", "sessionId": "B", "timestamp": NOW - 60_000,
               "connectionId": "b"},
              stats("B", "b1", 0, NOW - 30_000)]
    assert load_events(store, "1", events, max_ts=NOW + HOUR).accepted == len(events)
    store.absorb_new_events()
    table = store.load_stats_table([("1", "A"), ("1", "B")])
    rows = sorted(zip(table["session_id"].to_pylist(), table["entity_id"].to_pylist(),
                      table["samples"].to_pylist(), table["first_ts"].to_pylist(), strict=True))
    assert rows == [("A", "a1", 2, NOW - HOUR), ("B", "b1", 1, NOW - 30_000)]
    store.close()
