"""Dedup keys live in the keys file beside the database (store/duckdb/dedup.py): a duplicate id of a
project is never stored twice, across checkpoints, restarts, days, a crash between the two commits,
a lost keys file and the move from schema 5's `event_ids` table."""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta

import duckdb
import pytest

from tests.support import duckdb_file
from videoinsights.domain.days import la_day
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import LoadResult, load_events
from videoinsights.settings import Settings
from videoinsights.store import writer
from videoinsights.store.duckdb.schema import SCHEMA_VERSION
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)
DAY_MS = 86_400_000


def attempt(event_id: str, ts: int = NOW, session: str = "s1") -> dict:
    return {"id": event_id, "type": "connectAttempt", "sessionId": session, "timestamp": ts, "outcome": "success"}


def stored(path: str) -> list[tuple[str, str]]:
    con = duckdb_file.connect(path, read_only=True)
    try:
        return con.execute("SELECT project_id, event_id FROM events UNION ALL"
                           " SELECT project_id, event_id FROM stats_samples ORDER BY 1, 2").fetchall()
    finally:
        con.close()


def load(path: str, project: str, events: list[dict]) -> LoadResult:
    store = DuckDBStore(path)
    try:
        return load_events(store, project, events, min_ts=NOW - 21 * DAY_MS)
    finally:
        store.close()


def test_a_duplicate_is_refused_after_a_checkpoint_and_after_a_restart(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    assert load_events(store, "1", [attempt("a"), attempt("b")]).accepted == 2
    store.checkpoint()
    assert load_events(store, "1", [attempt("a"), attempt("c")]) == LoadResult(accepted=1, duplicates=1)
    store.close()
    assert load(path, "1", [attempt("b"), attempt("c"), attempt("d")]) == LoadResult(accepted=1, duplicates=2)
    assert load(path, "2", [attempt("a")]).accepted == 1  # ids are per project
    assert stored(path) == [("1", "a"), ("1", "b"), ("1", "c"), ("1", "d"), ("2", "a")]


def test_a_duplicate_days_later_with_another_timestamp_is_refused(tmp_path) -> None:
    """The key is (project, id) whatever the event says: an id first sent for an event 20 days ago."""
    path = str(tmp_path / "vi.duckdb")
    assert load(path, "1", [attempt("old", NOW - 20 * DAY_MS, "s-old")]).accepted == 1
    assert load(path, "1", [attempt("old", NOW, "s-new"), attempt("new", NOW)]) == LoadResult(accepted=1, duplicates=1)
    assert stored(path) == [("1", "new"), ("1", "old")]


def test_the_purge_forgets_the_keys_of_expired_days_only(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    # (two sessions: a session with an event in the window keeps its raw rows of every day, docs/derivation.md)
    load_events(store, "1", [attempt("old", NOW - 10 * DAY_MS, "s0"), attempt("recent", NOW - DAY_MS)],
                min_ts=NOW - 21 * DAY_MS)
    raw_before = la_day(NOW) - timedelta(days=5)
    counts = store.purge(raw_before=raw_before, daily_before=la_day(NOW) - timedelta(days=90),
                         monthly_before=la_day(NOW) - timedelta(days=400))
    assert counts["events"] == 1
    assert store.purge_keys(raw_before, 10) == 1  # the keys after the rows (the server's writer: in pieces)
    # "old" expired with its row: its id is free again; "recent" is still a duplicate
    assert load_events(store, "1", [attempt("old"), attempt("recent")]) == LoadResult(accepted=1, duplicates=1)
    store.close()


def test_keys_missed_by_a_crash_between_the_two_commits_are_repaired_at_open(tmp_path) -> None:
    """The raw rows commit first: a crash before the keys file's commit leaves it behind. Simulated by
    putting back the keys file as it was before the last append (the DuckDB file keeps the rows)."""
    path = str(tmp_path / "vi.duckdb")
    load(path, "1", [attempt("a")])
    shutil.copy(f"{path}.keys", tmp_path / "keys.before")
    load(path, "1", [attempt("b"), attempt("c")])
    os.replace(tmp_path / "keys.before", f"{path}.keys")
    assert load(path, "1", [attempt("a"), attempt("b"), attempt("c")]) == LoadResult(duplicates=3)
    assert stored(path) == [("1", "a"), ("1", "b"), ("1", "c")]


def test_a_lost_keys_file_is_rebuilt_from_the_raw_rows(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    load(path, "1", [attempt("a"), attempt("b", NOW - 3 * DAY_MS)])
    os.remove(f"{path}.keys")
    assert load(path, "1", [attempt("b"), attempt("c")]) == LoadResult(accepted=1, duplicates=1)
    assert stored(path) == [("1", "a"), ("1", "b"), ("1", "c")]


def test_a_keys_file_ahead_of_the_database_is_rebuilt(tmp_path) -> None:
    """An older copy of the database restored beside a newer keys file: ids that the restored file
    doesn't hold must be accepted again, not refused as duplicates of rows that are gone."""
    path = str(tmp_path / "vi.duckdb")
    load(path, "1", [attempt("a")])
    shutil.copy(path, tmp_path / "backup.duckdb")  # a backup: the database and its raw file (docs/deployment.md)
    shutil.copy(f"{path}.raw", tmp_path / "backup.duckdb.raw")
    load(path, "1", [attempt("b")])
    os.replace(tmp_path / "backup.duckdb", path)
    os.replace(tmp_path / "backup.duckdb.raw", f"{path}.raw")
    assert load(path, "1", [attempt("a"), attempt("b")]) == LoadResult(accepted=1, duplicates=1)
    assert stored(path) == [("1", "a"), ("1", "b")]


# Schema 5's dedup table, as store/duckdb/schema.py had it.
V5_EVENT_IDS = """CREATE TABLE event_ids (
  project_id VARCHAR NOT NULL,
  event_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  PRIMARY KEY (project_id, event_id)
)"""


def test_a_schema_5_file_moves_its_keys_out_of_duckdb(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    load(path, "1", [attempt("a"), attempt("b")])
    os.remove(f"{path}.keys")  # schema 5 had no keys file ...
    duckdb_file.as_single_file(path)  # ... nor a raw file ...
    con = duckdb.connect(path)  # ... but the event_ids table, with the key of every stored row
    con.execute(V5_EVENT_IDS)
    con.execute("INSERT INTO event_ids SELECT project_id, event_id, day FROM events")
    # a key only event_ids holds: refused afterwards only if the keys were copied (the raw rows lack it)
    con.execute("INSERT INTO event_ids VALUES ('1', 'only-in-event-ids', current_date)")
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.close()
    assert load(path, "1", [attempt("a"), attempt("only-in-event-ids"), attempt("c")]) == LoadResult(
        accepted=1, duplicates=2
    )
    con = duckdb.connect(path, read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'event_ids'").fetchone() == (0,)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    con.close()
    assert stored(path) == [("1", "a"), ("1", "b"), ("1", "c")]
    assert os.stat(f"{path}.keys").st_mode & 0o077 == 0  # tenants' data: owner only, like the database


def test_claim_adds_and_returns_exactly_the_keys_not_stored_each_once(tmp_path) -> None:
    """`claim` inserts every key it is given that is not stored yet and returns those: all of a fresh call, none of
    the stored ones, a key given twice once. An id that is not a string is refused before anything is opened."""
    from datetime import date

    from videoinsights.store.base import RejectedBatch
    from videoinsights.store.duckdb.dedup import DedupKeys

    keys = DedupKeys(str(tmp_path / "k"))
    day = date(2026, 12, 2)
    assert keys.claim(["1", "1"], ["a", "b"], [day, day]) == {("1", "a"), ("1", "b")}
    keys.commit(1)
    assert keys.claim(["1", "1", "2"], ["b", "c", "b"], [day] * 3) == {("1", "c"), ("2", "b")}  # "b" of 1 stored
    keys.commit(2)
    assert keys.claim(["1", "1"], ["d", "d"], [day, day]) == {("1", "d")}
    keys.commit(3)
    assert keys.claim(["1"], ["a"], [day]) == set()
    keys.rollback()
    with pytest.raises(RejectedBatch):  # SQLite would keep "5" and return it, which is not the key 5
        keys.claim(["1", "1"], ["e", 5], [day, day])  # type: ignore[list-item]
    assert keys.claim(["1"], ["e"], [day]) == {("1", "e")}  # no transaction was left open by the refusal
    keys.commit(4)
    assert keys.event_ids() == {("1", "a"), ("1", "b"), ("1", "c"), ("2", "b"), ("1", "d"), ("1", "e")}
    keys.close()


def test_a_group_commit_with_a_repeated_id_across_requests_stores_it_once(tmp_path) -> None:
    """Two requests' batches committed together, the second repeating one id of the first and one stored
    before: the first occurrence is new, the others are duplicates."""
    from videoinsights.ingest.batch import validate_events

    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    assert load_events(store, "1", [attempt("old")]).accepted == 1
    first = validate_events([attempt("x"), attempt("y")], "1", NOW, NOW - DAY_MS, NOW + 60_000)
    second = validate_events([attempt("y"), attempt("old"), attempt("z")], "1", NOW, NOW - DAY_MS, NOW + 60_000)
    result = store.append_events([first.columns, second.columns])
    assert result.inserted == [[True, True], [False, False, True]]
    store.close()
    assert stored(path) == [("1", "old"), ("1", "x"), ("1", "y"), ("1", "z")]


def test_claim_takes_the_keys_in_chunks(tmp_path) -> None:
    """`claim` inserts CLAIM_CHUNK keys per statement: a call over two projects and more keys than a chunk returns
    exactly the keys not stored, each once, and stores them with their day."""
    from datetime import date

    from videoinsights.store.duckdb.dedup import CLAIM_CHUNK, DedupKeys

    keys = DedupKeys(str(tmp_path / "k"))
    day = date(2026, 12, 2)
    n = CLAIM_CHUNK + 500
    stored_before = [("1", f"e{i}") for i in range(0, n, 7)] + [("2", f"e{i}") for i in range(0, n, 11)]
    keys.add_stored([[(p, e, day) for p, e in stored_before]], 1)
    asked = [(p, f"e{i}") for p in ("1", "2") for i in range(n)] + [("2", "e1"), ("1", "e3")]  # two repeats
    new = keys.claim([p for p, _ in asked], [e for _, e in asked], [day] * len(asked))
    expected = {(p, f"e{i}") for p in ("1", "2") for i in range(n)} - set(stored_before)
    assert new == expected
    keys.commit(2)
    assert keys.event_ids() == expected | set(stored_before)
    assert keys.purge(day + timedelta(days=1), 10 * n) == 2 * n  # every key kept its day
    keys.close()


def test_commits_after_one_with_a_duplicate_still_tell_new_from_stored(tmp_path) -> None:
    """Through the store (DuckDBStore._append_once: every row new, none new, or some): clean commits, commits
    repeating an id within themselves and commits of duplicates only, in a row, each told apart from what is stored."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    try:
        assert load_events(store, "1", [attempt("a"), attempt("b")]).accepted == 2  # clean
        assert load_events(store, "1", [attempt("b"), attempt("c")]).accepted == 1  # a duplicate
        assert load_events(store, "1", [attempt("d"), attempt("e")]).accepted == 2  # clean, after a duplicate
        assert load_events(store, "1", [attempt("f"), attempt("f")]).accepted == 1  # repeated within the call
        assert load_events(store, "1", [attempt("a"), attempt("f")]).accepted == 0  # duplicates only
        assert load_events(store, "1", [attempt("g")]).accepted == 1
    finally:
        store.close()
    assert stored(path) == [("1", e) for e in "abcdefg"]


OLD_KEYS_DDL = (  # the keys file of before 2026-12-05: keyed WITHOUT ROWID, a day index of (day, project, id)
    """CREATE TABLE keys (project_id TEXT NOT NULL, event_id TEXT NOT NULL, day INTEGER NOT NULL,
                          PRIMARY KEY (project_id, event_id)) WITHOUT ROWID""",
    "CREATE INDEX keys_day ON keys (day)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


def test_a_keyed_keys_file_is_moved_into_the_rowid_table(tmp_path) -> None:
    """A keys file of the old layout keeps every key, its day and its seq; afterwards duplicates are refused, new keys
    claimed and expired days purged as before, and a store opened on it refuses the ids it stored."""
    import sqlite3
    from datetime import date

    from videoinsights.store.duckdb.dedup import DedupKeys, keys_path

    path = str(tmp_path / "vi.duckdb")
    assert load(path, "1", [attempt("a"), attempt("b", NOW - 3 * DAY_MS)]).accepted == 2
    old = sqlite3.connect(keys_path(path), isolation_level=None)
    kept = sorted(old.execute("SELECT project_id, event_id, day FROM keys").fetchall())
    seq = old.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
    old.execute("DROP TABLE keys")
    old.execute("DROP TABLE meta")
    for ddl in OLD_KEYS_DDL:
        old.execute(ddl)
    old.executemany("INSERT INTO keys VALUES (?, ?, ?)", kept)
    old.execute("INSERT INTO meta VALUES ('seq', ?)", [seq])
    old.close()

    assert load(path, "1", [attempt("a"), attempt("b", NOW - 3 * DAY_MS), attempt("c")]).accepted == 1  # migrated
    keys = DedupKeys(keys_path(path))
    table = keys._con.execute("SELECT sql FROM sqlite_master WHERE name = 'keys'").fetchone()[0]
    assert "WITHOUT ROWID" not in table.upper()
    assert sorted(keys._con.execute("SELECT project_id, event_id, day FROM keys").fetchall()) == sorted(
        [*kept, ("1", "c", la_day(NOW).toordinal())])
    assert keys.seq == seq + 1
    day = date.fromordinal(max(d for _, _, d in kept))
    assert keys.claim(["1", "1"], ["a", "z"], [day, day]) == {("1", "z")}  # "a" still known
    keys.rollback()
    assert keys.purge(day, 100) == 1  # "b", three days older, only
    keys.close()
    assert stored(path) == [("1", "a"), ("1", "b"), ("1", "c")]


def test_expired_keys_are_forgotten_in_pieces_of_at_most_the_limit(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [attempt(f"old{i}", NOW - 10 * DAY_MS) for i in range(5)] + [attempt("recent")],
                min_ts=NOW - 21 * DAY_MS)
    before = la_day(NOW) - timedelta(days=5)
    assert [store.purge_keys(before, 2) for _ in range(4)] == [2, 2, 1, 0]
    assert load_events(store, "1", [attempt("recent")]) == LoadResult(duplicates=1)  # a key of a kept day stays
    store.close()


def test_purge_expired_forgets_every_expired_key_across_pieces(tmp_path, monkeypatch) -> None:
    """The CLI's purge (store/writer.purge_expired) goes on piece after piece until none is left."""
    monkeypatch.setattr(writer, "KEYS_PURGE_PIECE", 2)
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [attempt(f"old{i}", NOW - 30 * DAY_MS) for i in range(5)], min_ts=NOW - 40 * DAY_MS)
    counts = writer.purge_expired(store, Settings(raw_retention_days=21))
    assert (counts["events"], counts["event_ids"]) == (5, 5)
    store.close()


def test_the_server_forgets_a_purges_keys_between_commits(tmp_path) -> None:
    """The writer purges the rows under the derivation lock, then the dedup keys a piece at a time between commits:
    an expired id is accepted as new again once its piece went, and commits go on meanwhile."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [attempt("old", NOW - 30 * DAY_MS)], min_ts=NOW - 40 * DAY_MS)
    w = writer.Writer(store, Settings(db=path, raw_retention_days=21, purge_interval_s=3600))
    w.start()
    try:
        again = validate_events([attempt("old")], "1", NOW, NOW - DAY_MS, NOW + DAY_MS).columns
        deadline = time.monotonic() + 30
        while w.append(again).result(timeout=30) != [True]:  # a duplicate until the key is forgotten
            assert time.monotonic() < deadline, "the expired key was never forgotten"
            time.sleep(0.05)
    finally:
        w.stop()
        store.close()
