"""The derive connection keeps live sessions' lifecycle events between steps (store/duckdb/event_cache.py) and reads
only later commits for them: what a step reads must still be every absorbed event of its sessions, late ones
included, and never one that a purge deleted."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa

from videoinsights.derive.engine import derive_pending
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.base import SessionKey
from videoinsights.store.duckdb import event_cache
from videoinsights.store.duckdb.store import DuckDBStore

NOW = day_start_ms(la_day(1_790_000_000_000)) + 12 * 3_600_000  # noon, LA, of a fixed day
DAY = 86_400_000
HOUR = 3_600_000


def connect(session: str, n: int, ts: int) -> dict:
    return {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": f"c{n}"}


def ids_read(store: DuckDBStore, keys: list[SessionKey]) -> dict[str, list[str]]:
    """The event ids a derive step reads for these sessions, by session (after absorbing what is committed)."""
    store.absorb_new_events()
    table = store.load_session_event_table(keys)
    out: dict[str, list[str]] = {k[1]: [] for k in keys}
    for session, event in zip(table["session_id"].to_pylist(), table["event_id"].to_pylist(), strict=True):
        out[session].append(event)
    return {s: sorted(v) for s, v in out.items()}


def load(store: DuckDBStore, *events: dict) -> None:
    assert load_events(store, "1", list(events), max_ts=NOW + DAY).accepted == len(events)


def test_a_kept_session_is_completed_with_later_commits_late_events_included(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    keys = [("1", "a"), ("1", "b")]
    load(store, connect("a", 1, NOW - HOUR), connect("b", 1, NOW - HOUR), connect("a", 0, NOW))
    assert ids_read(store, keys) == {"a": ["a-0", "a-1"], "b": ["b-1"]}
    assert len(store._event_cache) == 2  # both began over 10 minutes before the batch's latest event: kept
    load(store, connect("a", 2, NOW + 1_000))
    load(store, connect("a", 3, NOW - 2 * HOUR))  # late: older than anything read so far
    assert ids_read(store, keys) == {"a": ["a-0", "a-1", "a-2", "a-3"], "b": ["b-1"]}
    load(store, connect("b", 2, NOW + 2_000), connect("c", 1, NOW))
    assert ids_read(store, [("1", "b"), ("1", "c")]) == {"b": ["b-1", "b-2"], "c": ["c-1"]}  # one kept, one new
    assert set(store._event_cache.lookup([*keys, ("1", "c")]).entries) == set(keys)  # c is young: read whole
    assert ids_read(store, keys) == {"a": ["a-0", "a-1", "a-2", "a-3"], "b": ["b-1", "b-2"]}  # nothing twice
    store.close()


def test_only_absorbed_commits_are_read(tmp_path) -> None:
    """A session is kept with the commits read up to: one committed but not yet absorbed (the derive step's
    watermark, derived_seq) is read at the next step, not lost between the two."""
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    load(store, connect("a", 1, NOW - HOUR), connect("a", 0, NOW))
    assert ids_read(store, [("1", "a")]) == {"a": ["a-0", "a-1"]}
    load(store, connect("a", 2, NOW))
    read = store.load_session_event_table([("1", "a")])["event_id"].to_pylist()
    assert sorted(read) == ["a-0", "a-1"]  # a-2 is not absorbed yet
    assert ids_read(store, [("1", "a")]) == {"a": ["a-0", "a-1", "a-2"]}
    store.close()


def test_a_budget_too_small_keeps_nothing_and_reads_stay_whole(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"), event_cache_mb=1e-6)  # one byte
    load(store, connect("a", 1, NOW - HOUR), connect("a", 2, NOW), connect("b", 1, NOW - HOUR))
    assert ids_read(store, [("1", "a"), ("1", "b")]) == {"a": ["a-1", "a-2"], "b": ["b-1"]}
    assert len(store._event_cache) == 0 and store._event_cache.bytes == 0
    load(store, connect("a", 3, NOW))
    assert ids_read(store, [("1", "a"), ("1", "b")]) == {"a": ["a-1", "a-2", "a-3"], "b": ["b-1"]}
    store.close()


def events_of(session: str, rows: int) -> pa.Table:
    return pa.table({"project_id": pa.array(["1"] * rows, pa.string()),
                     "session_id": pa.array([session] * rows, pa.string()),
                     "event_id": pa.array([f"{session}-{i}" for i in range(rows)], pa.string())})


ALL = 10**15  # keep_before: every session counts as old enough to keep


def test_over_budget_the_sessions_not_read_lately_go_then_the_ones_that_began_last(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(event_cache.time, "monotonic", lambda: clock[0])
    one = events_of("old", 10).nbytes  # each session below: 10 rows, ids of the same length (about as many bytes)
    cache = event_cache.SessionEventCache(2 * one + one // 2)  # two fit, not three
    first_ts = {("1", "old"): 1_000, ("1", "mid"): 2_000, ("1", "new"): 3_000}
    fresh = pa.concat_tables([events_of(s, 10) for s in ("old", "mid", "new")])
    keys = list(first_ts)
    got = cache.complete(keys, cache.lookup(keys), fresh, 7, first_ts, ALL)
    assert got.num_rows == 30  # all read ...
    assert set(cache.lookup(keys).entries) == {("1", "old"), ("1", "mid")}  # ... the one that began last dropped
    clock[0] += event_cache.STALE_S + 1  # "old" and "mid" not read since: ended, for all the cache knows
    cache.complete([("1", "mid")], cache.lookup([("1", "mid")]), events_of("mid", 0), 8, first_ts, ALL)  # read again
    late = ("1", "end")  # began last of all
    cache.complete([late], cache.lookup([late]), events_of("end", 10), 8, {late: 9_000}, ALL)
    assert set(cache.lookup([*keys, late]).entries) == {("1", "mid"), late}  # "old" went: not read lately
    assert cache.bytes < 2 * one + one // 2


def test_a_purge_empties_it(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    # ("a" has no event within the raw window: its raw rows go; a session with one there keeps them all, and "b"'s
    # read shows that the cache emptied by the purge is filled again from the file)
    load(store, connect("a", 1, NOW - 30 * DAY), connect("b", 1, NOW - 30 * DAY), connect("b", 2, NOW))
    assert ids_read(store, [("1", "a"), ("1", "b")]) == {"a": ["a-1"], "b": ["b-1", "b-2"]}
    today = la_day(NOW)
    store.purge(today - timedelta(days=21), today - timedelta(days=90), today - timedelta(days=365))
    assert len(store._event_cache) == 0
    # the kept copy of a-1 went with the raw row
    assert ids_read(store, [("1", "a"), ("1", "b")]) == {"a": [], "b": ["b-1", "b-2"]}
    store.close()


def test_a_derivation_sees_the_events_of_later_steps(tmp_path) -> None:
    """Through the engine: a connection destroyed in a later commit ends the connection the first step derived."""
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    load(store, connect("a", 1, NOW - HOUR), connect("a", 0, NOW))
    assert derive_pending(store, 10) == (1, 0)
    assert len(store._event_cache) == 1
    load(store, {"id": "a-x", "type": "connectionDestroyed", "sessionId": "a", "timestamp": NOW + 90_000,
                 "connectionId": "c1"})
    assert derive_pending(store, 10) == (1, 0)
    rows = store.reader().execute("SELECT connection_id, created_at, destroyed_at FROM connections "
                                  "ORDER BY connection_id").fetchall()
    assert rows == [("c0", NOW, None), ("c1", NOW - HOUR, NOW + 90_000)]
    store.close()
