"""session_bounds at absorb (store/duckdb/bounds.py): stored rows found by rowid (remembered or looked up through the
session_id index) and widened, new sessions inserted and marked never derived; a remembered rowid that points at
another row updates nothing and its session is looked up again."""

from __future__ import annotations

from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.bounds import BoundsRowids
from videoinsights.store.duckdb.store import DuckDBStore

NOW = day_start_ms(la_day(1_790_000_000_000)) + 12 * 3_600_000  # noon, LA, of a fixed day
MINUTE = 60_000


def created(session: str, n: int, ts: int) -> dict:
    return {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": f"{session}-c{n}"}


def load(store: DuckDBStore, project: str, events: list[dict]) -> None:
    assert load_events(store, project, events, max_ts=NOW + 60 * MINUTE).accepted == len(events)


def bounds(store: DuckDBStore) -> list[tuple]:
    return store.reader().execute("SELECT project_id, session_id, first_ts, last_ts FROM session_bounds "
                                  "ORDER BY ALL").fetchall()


def dirty(store: DuckDBStore) -> list[tuple]:
    return store.reader().execute("SELECT project_id, session_id, never_derived FROM dirty_sessions "
                                  "ORDER BY ALL").fetchall()


def test_stored_bounds_widen_and_new_sessions_are_inserted(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    load(store, "1", [created("A", 0, NOW), created("A", 1, NOW + MINUTE), created("B", 0, NOW)])
    store.absorb_new_events()
    assert bounds(store) == [("1", "A", NOW, NOW + MINUTE), ("1", "B", NOW, NOW)]
    assert dirty(store) == [("1", "A", True), ("1", "B", True)]
    store._dcon.execute("DELETE FROM dirty_sessions")  # as if derived
    # A: a late event and a later one; C: new; A of another project: new (the lookup is by session id)
    load(store, "1", [created("A", 2, NOW - 5 * MINUTE), created("A", 3, NOW + 9 * MINUTE), created("C", 0, NOW)])
    load(store, "2", [created("A", 0, NOW + 2 * MINUTE)])
    store.absorb_new_events()
    assert bounds(store) == [("1", "A", NOW - 5 * MINUTE, NOW + 9 * MINUTE), ("1", "B", NOW, NOW),
                             ("1", "C", NOW, NOW), ("2", "A", NOW + 2 * MINUTE, NOW + 2 * MINUTE)]
    assert dirty(store) == [("1", "A", False), ("1", "C", True), ("2", "A", True)]
    # A was looked up at the second absorb and is remembered for the next
    assert [k[:2] for k in store._bounds_rowids.split([("1", "A")])[0]] == [("1", "A")]
    store.close()


def test_a_remembered_rowid_of_another_row_is_looked_up_again(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    load(store, "1", [created("A", 0, NOW), created("B", 0, NOW)])
    store.absorb_new_events()
    rowid = dict(store.reader().execute("SELECT session_id, rowid FROM session_bounds").fetchall())
    # each remembered with the other's row, and one with a row that does not exist
    store._bounds_rowids.remember([("1", "A", rowid["B"]), ("1", "B", rowid["A"]), ("1", "D", 10**9)])
    load(store, "1", [created("A", 1, NOW + MINUTE), created("B", 1, NOW - MINUTE), created("D", 0, NOW)])
    store.absorb_new_events()
    assert bounds(store) == [("1", "A", NOW, NOW + MINUTE), ("1", "B", NOW - MINUTE, NOW), ("1", "D", NOW, NOW)]
    known, unknown = store._bounds_rowids.split([("1", "A"), ("1", "B"), ("1", "D")])
    assert known == [("1", "A", rowid["A"]), ("1", "B", rowid["B"])] and unknown == [("1", "D")]
    store.close()


def test_a_purge_forgets_the_rowids(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    load(store, "1", [created("A", 0, NOW), created("A", 1, NOW + MINUTE)])
    store.absorb_new_events()
    load(store, "1", [created("A", 2, NOW + 2 * MINUTE)])
    store.absorb_new_events()
    assert len(store._bounds_rowids) == 1
    day = la_day(NOW)
    store.purge(day, day, day)  # nothing before the day: no row goes, the rowids are forgotten all the same
    assert len(store._bounds_rowids) == 0
    load(store, "1", [created("A", 3, NOW + 3 * MINUTE)])
    store.absorb_new_events()
    assert bounds(store) == [("1", "A", NOW, NOW + 3 * MINUTE)]
    store.close()


def test_the_least_recently_used_are_forgotten_first() -> None:
    rowids = BoundsRowids(limit=2)
    rowids.remember([("1", "A", 1), ("1", "B", 2)])
    assert rowids.split([("1", "A")]) == ([("1", "A", 1)], [])  # A used: B is now the least recent
    rowids.remember([("1", "C", 3)])
    assert rowids.split([("1", "A"), ("1", "B"), ("1", "C")]) == ([("1", "A", 1), ("1", "C", 3)], [("1", "B")])
