"""Stats of sessions far apart in time are read with one ts-bounded scan per session (bounds from
session_bounds), or by key once moved into session order, plus the rows not yet absorbed into session_bounds; the
answer must be exactly the one of a scan of every sample, and it must include samples committed after the last
absorb, even outside the session's absorbed bounds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from videoinsights.ingest.batch import validate_events
from videoinsights.store.duckdb import reads
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)
HOUR = 3_600_000
PID = "12345678"


def sample(i: int, session: str, stream: str, ts: int, kbps: float) -> dict:
    return {"id": f"{session}-{stream}-{i}", "type": "publisherStats", "sessionId": session, "timestamp": ts,
            "streamId": stream, "videoBitrateKbps": kbps}


def append(store: DuckDBStore, events: list[dict]) -> None:
    batch = validate_events(events, PID, NOW, NOW - 30 * 24 * HOUR, NOW + HOUR)
    assert not batch.rejected
    store.append_events([batch.columns])


def read(store: DuckDBStore, parents: list[tuple[str, str]], offset: int = 0, limit: int = 50):
    return reads.publisher_stats(store.reader(), PID, parents, (NOW - 20 * 24 * HOUR, NOW), offset, limit)


@pytest.fixture
def store(tmp_path: Path):
    store = DuckDBStore(str(tmp_path / "w.duckdb"))
    yield store
    store.close()


def test_windowed_read_equals_one_scan_and_sees_unabsorbed_rows(store: DuckDBStore, monkeypatch) -> None:
    a_ts, b_ts = NOW - 10 * 24 * HOUR, NOW - 2 * 24 * HOUR  # 8 days apart: not "narrow"
    append(store, [sample(i, "A", "a1", a_ts + i * 30_000, 100.0 + i) for i in range(5)]
           + [sample(i, "B", "b1", b_ts + i * 30_000, 200.0 + i) for i in range(3)]
           + [sample(0, "C", "c1", b_ts, 1.0)])  # another session: never read
    store.absorb_new_events()
    # Committed after the absorb: one inside A's bounds, one an hour after them, a new stream of B.
    append(store, [sample(5, "A", "a1", a_ts + 60_000 + 1, 150.0), sample(6, "A", "a1", a_ts + HOUR, 160.0),
                   sample(0, "B", "b2", b_ts + 10, 300.0)])
    parents = [("A", "a1"), ("B", "b1"), ("B", "b2")]

    rows, totals = read(store, parents)
    assert totals == {("A", "a1"): 7, ("B", "b1"): 3, ("B", "b2"): 1}
    by_stream = {}
    for row in rows:
        by_stream.setdefault(row["stream_id"], []).append(row["video_bitrate_kbps"])
    # in ts order: A's samples at +0, +30 s, +60 s, +60.001 s (late), +90 s, +120 s, +1 h (late)
    assert by_stream == {"a1": [100.0, 101.0, 102.0, 150.0, 103.0, 104.0, 160.0], "b1": [200.0, 201.0, 202.0],
                         "b2": [300.0]}

    page, page_totals = read(store, parents, offset=2, limit=3)  # pages are per parent
    assert [r["video_bitrate_kbps"] for r in page] == [102.0, 150.0, 103.0, 202.0] and page_totals == totals

    monkeypatch.setattr(reads, "_STATS_MAX_WINDOWS", 0)  # one scan of every sample: the same answer
    assert read(store, parents) == (rows, totals)
    assert read(store, parents, offset=2, limit=3) == (page, page_totals)
    monkeypatch.undo()

    store.absorb_new_events()  # now everything is inside the bounds
    assert read(store, parents) == (rows, totals)

    other = validate_events([sample(0, "A", "a1", NOW - 15 * 24 * HOUR, 9.0)], "87654321", NOW,
                            NOW - 30 * 24 * HOUR, NOW + HOUR)  # another project's session "A", days earlier
    store.append_events([other.columns])
    store.absorb_new_events()  # the bounds are looked up by session id alone: its sample must not be read
    # as this project's (the lookup keeps this project's bounds; the stats read filters by project too)
    assert read(store, parents) == (rows, totals)


def test_sessions_not_yet_absorbed_are_read_whole(store: DuckDBStore) -> None:
    # No session_bounds row yet (nothing absorbed): the watermark is read apart, then every row of the sessions.
    a_ts, b_ts = NOW - 10 * 24 * HOUR, NOW - 2 * 24 * HOUR
    append(store, [sample(0, "A", "a1", a_ts, 100.0), sample(0, "B", "b1", b_ts, 200.0)])
    store.absorb_new_events()  # the watermark exists (meta.derived_seq) ...
    store.reader().execute("DELETE FROM session_bounds")  # ... but neither session has bounds
    rows, totals = read(store, [("A", "a1"), ("B", "b1")])
    assert [r["video_bitrate_kbps"] for r in rows] == [100.0, 200.0]
    assert totals == {("A", "a1"): 1, ("B", "b1"): 1}


def test_moved_sessions_are_read_by_key_whatever_the_window_limit(store: DuckDBStore, monkeypatch) -> None:
    # Sessions not yet moved need a ts window each (none allowed here: the scan instead); once moved, none does.
    a_ts, b_ts = NOW - 10 * 24 * HOUR, NOW - 2 * 24 * HOUR
    append(store, [sample(i, "A", "a1", a_ts + i * 30_000, 100.0 + i) for i in range(3)]
           + [sample(0, "B", "b1", b_ts, 200.0)])
    store.absorb_new_events()
    parents = [("A", "a1"), ("B", "b1")]
    span = (NOW - 20 * 24 * HOUR, NOW)
    assert reads._windowed_stats_sql(store.reader(), PID, ["A", "B"], span, "ts", 1) is None
    assert reads._windowed_stats_sql(store.reader(), PID, ["A", "B"], span, "ts", 2) is not None
    rows, totals = read(store, parents)
    assert store.compact_stats(NOW) == (4, False)
    assert reads._windowed_stats_sql(store.reader(), PID, ["A", "B"], span, "ts", 0) is not None
    monkeypatch.setattr(reads, "_STATS_MAX_WINDOWS", 0)
    assert read(store, parents) == (rows, totals)
    assert [r["video_bitrate_kbps"] for r in rows] == [100.0, 101.0, 102.0, 200.0]
