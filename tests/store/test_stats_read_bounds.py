"""stats_daily read and written with bounds on first events. A derive step reads its sessions' rows bounded by the
batch's oldest session (its first event, which session_bounds takes over samples too): a row whose stream began
exactly then must be read, and one of another session between the two must not. The absorb finds the stored rows
it adds to with the same kind of bound, and falls back to an upsert should a row lie outside it."""

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


def stored(store: DuckDBStore) -> list[tuple]:
    return store.reader().execute("SELECT session_id, entity_id, samples, first_ts, last_ts FROM stats_daily "
                                  "ORDER BY session_id, entity_id").fetchall()


def test_the_absorb_adds_new_samples_to_the_stored_rows(tmp_path) -> None:
    """The absorb writes stats_daily in parts (store._absorb_stats): rows found by a first_ts bound are added to,
    the others inserted."""
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    assert load_events(store, "1", [stats("A", "a1", 0, NOW - HOUR), stats("A", "a1", 1, NOW - HOUR + 30_000)],
                       max_ts=NOW + HOUR).accepted == 2
    store.absorb_new_events()
    late = stats("A", "a1", 2, NOW - 2 * HOUR)  # a late sample: before anything stored of the session
    assert load_events(store, "1", [stats("A", "a1", 3, NOW), late, stats("A", "a2", 0, NOW),
                                    stats("B", "b1", 0, NOW)], max_ts=NOW + HOUR).accepted == 4
    store.absorb_new_events()
    assert stored(store) == [("A", "a1", 4, NOW - 2 * HOUR, NOW), ("A", "a2", 1, NOW, NOW), ("B", "b1", 1, NOW, NOW)]
    assert store._stats_in_parts
    store.close()


def test_a_stored_row_older_than_its_session_bounds_falls_back_to_the_upsert(tmp_path) -> None:
    """Should a file hold a row its session's bounds do not cover (the bound would miss it and the insert meet its
    primary key), the absorb is done again with the upsert, and nothing is counted twice or lost."""
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    assert load_events(store, "1", [stats("A", "a1", 0, NOW - HOUR), stats("A", "a1", 1, NOW - HOUR + 30_000)],
                       max_ts=NOW + HOUR).accepted == 2
    store.absorb_new_events()
    store._dcon.execute("UPDATE session_bounds SET first_ts = ? WHERE session_id = 'A'", [NOW])
    assert load_events(store, "1", [stats("A", "a1", 2, NOW - HOUR + 60_000)], max_ts=NOW + HOUR).accepted == 1
    store.absorb_new_events()
    assert stored(store) == [("A", "a1", 3, NOW - HOUR, NOW - HOUR + 60_000)]
    assert not store._stats_in_parts
    store.close()
