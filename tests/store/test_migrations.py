"""An older database file is brought up to the current schema when the store opens it."""

from __future__ import annotations

import time
from datetime import date, timedelta

import duckdb

from tests.support import duckdb_file
from videoinsights.derive.engine import derive_until_clean
from videoinsights.derive.model import QUALITY_SIDES
from videoinsights.domain.quality import STATS_EXTRA_COLUMNS
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.schema import DERIVED_SESSION_TABLES, SCHEMA_VERSION
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)
V3_COLUMNS = ("quality_limitation_reason", "available_outgoing_bitrate_kbps")
V4_ENDPOINT_TABLES = ("session_endpoint_days", "rollup_endpoint_daily", "rollup_endpoint_monthly")


def old_file(path: str) -> duckdb.DuckDBPyConnection:
    """A closed store's file in the layout of versions before 16 (one file), opened to be made older still."""
    duckdb_file.as_single_file(path)
    return duckdb.connect(path)


def stats(event_id: str, **fields: object) -> dict:
    return {"id": event_id, "type": "publisherStats", "sessionId": "s1", "timestamp": NOW, "streamId": "st1",
            "videoBitrateKbps": 500.0, **fields}


def make_v2_file(path: str) -> None:
    """A file as schema version 2 left it: the raw tables without the collector's publisher fields."""
    DuckDBStore(path).close()
    con = old_file(path)
    for table in ("events", "stats_samples"):
        con.execute(f"DROP INDEX {table}_session")  # DuckDB drops no column of an indexed table
        for column in V3_COLUMNS:
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute(f"CREATE INDEX {table}_session ON {table} (session_id)")  # as version 2 had it
    # stats_daily has a primary key (DuckDB drops no column then): re-create it as version 3 had it
    keep = [r[0] for r in con.execute("DESCRIBE stats_daily").fetchall() if r[0] not in STATS_EXTRA_COLUMNS]
    con.execute(f"CREATE TABLE old_stats_daily AS SELECT {', '.join(keep)} FROM stats_daily")
    con.execute("DROP TABLE stats_daily")
    con.execute("ALTER TABLE old_stats_daily RENAME TO stats_daily")
    con.execute("ALTER TABLE stats_daily ADD PRIMARY KEY (project_id, session_id, side, entity_id, day)")
    for table in V4_ENDPOINT_TABLES:
        for side in QUALITY_SIDES:
            for column in STATS_EXTRA_COLUMNS:
                con.execute(f"ALTER TABLE {table} DROP COLUMN {side}_{column}")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.execute("INSERT INTO projects VALUES ('1', 'project', 'p', 'x', NULL, 't', true, 0)")
    con.close()


def test_v2_file_gains_the_publisher_stats_columns(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    make_v2_file(path)
    con = duckdb.connect(path)
    con.execute("INSERT INTO stats_samples (project_id, event_id, type, session_id, ts, day, received_at, seq,"
                " stream_id, video_bitrate_kbps) VALUES ('1', 'old', 'publisherStats', 's1', 1, DATE '2026-01-01',"
                " 1, 1, 'st1', 400.0)")
    con.close()
    store = DuckDBStore(path)
    load_events(store, "1", [stats("new", qualityLimitationReason="cpu", availableOutgoingBitrateKbps=900.0)])
    store.close()
    con = duckdb_file.connect(path, read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    rows = con.execute("SELECT event_id, video_bitrate_kbps, quality_limitation_reason, available_outgoing_bitrate_kbps"
                       " FROM stats_samples ORDER BY event_id").fetchall()
    assert rows == [("new", 500.0, "cpu", 900.0), ("old", 400.0, None, None)]
    event_columns = {r[0] for r in con.execute("DESCRIBE events").fetchall()}
    assert set(V3_COLUMNS) <= event_columns


def test_v2_file_gains_the_quality_average_columns(tmp_path) -> None:
    """stats_daily and the endpoint rollups gain the sums and counts of the extension averages (schema 4)."""
    path = str(tmp_path / "vi.duckdb")
    make_v2_file(path)
    store = DuckDBStore(path)
    events = [{"id": "c", "type": "connectionCreated", "sessionId": "s1", "timestamp": NOW - 60_000,
               "connectionId": "u1", "sdkType": "JS"},
              {"id": "st", "type": "streamCreated", "sessionId": "s1", "timestamp": NOW - 60_000,
               "connectionId": "u1", "streamId": "st1"},
              stats("a", jitterMs=12.0, qualityLimitationReason="cpu"), stats("b", jitterMs=18.0)]
    load_events(store, "1", events)
    derive_until_clean(store)
    store.close()
    con = duckdb_file.connect(path, read_only=True)
    assert con.execute("SELECT jit_sum, jit_count, qlr_cpu FROM stats_daily").fetchall() == [(30.0, 2.0, 1.0)]
    for table in V4_ENDPOINT_TABLES:
        assert con.execute(f"SELECT sum(pub_jit_sum), sum(pub_jit_count), sum(pub_qlr_cpu), sum(sub_jit_count)"
                           f" FROM {table}").fetchall() == [(30.0, 2.0, 1.0, 0.0)], table


def test_reopening_a_current_file_changes_nothing(tmp_path) -> None:
    path = str(tmp_path / "vi.duckdb")
    DuckDBStore(path).close()
    DuckDBStore(path).close()  # migrations must not run (or fail) twice
    con = duckdb_file.connect(path, read_only=True)
    columns = [r[0] for r in con.execute("DESCRIBE stats_samples").fetchall()]
    assert columns.count("quality_limitation_reason") == 1


def old_session_bounds(con: duckdb.DuckDBPyConnection, columns: str) -> None:
    """session_bounds re-created with only these columns, as an older version had it (it has a primary key: DuckDB
    drops no column then)."""
    con.execute(f"CREATE TABLE old_bounds AS SELECT {columns} FROM session_bounds")
    con.execute("DROP TABLE session_bounds")
    con.execute("ALTER TABLE old_bounds RENAME TO session_bounds")
    con.execute("ALTER TABLE session_bounds ADD PRIMARY KEY (project_id, session_id)")


def connection(event_id: str, session: str) -> dict:
    return {"id": event_id, "type": "connectionCreated", "sessionId": session, "timestamp": NOW,
            "connectionId": event_id}


def test_v8_file_keeps_never_derived_sessions_first(tmp_path) -> None:
    """Version 9 keeps `never_derived` with each dirty session; a version 8 file's dirty sessions get it from
    whether `sessions` has them, so the one never derived is still taken first."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [connection("e1", "old")])
    derive_until_clean(store)
    load_events(store, "1", [connection("e2", "old")])  # dirty again, derived before
    load_events(store, "1", [connection("e3", "new")])  # dirtied later, never derived
    store.absorb_new_events()
    store.close()
    con = old_file(path)  # as version 8 had it: no never_derived column (re-created: it has a primary key)
    con.execute("CREATE TABLE old_dirty AS SELECT project_id, session_id, dirtied_seq FROM dirty_sessions")
    con.execute("DROP TABLE dirty_sessions")
    con.execute("ALTER TABLE old_dirty RENAME TO dirty_sessions")
    con.execute("ALTER TABLE dirty_sessions ADD PRIMARY KEY (project_id, session_id)")
    con.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    assert store.dirty_sessions(10) == [("1", "new"), ("1", "old")]
    assert store.dirty_sessions(10, never_derived=True) == [("1", "new")]
    store.close()


def test_v9_file_rederives_its_sessions_without_leaving_their_old_rows(tmp_path) -> None:
    """Version 10 stamps every derived row with the step that wrote it and finds a session's rows at or above its
    session_bounds.written_seq. A version 9 file's rows have no stamp: they are all read as written at 0, so
    re-deriving one of its sessions still replaces its rows (none left twice)."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [connection("c1", "old"), connection("c2", "other")])
    derive_until_clean(store)
    store.close()
    con = old_file(path)  # as version 9 had it: no write_seq, no written_seq
    for table in DERIVED_SESSION_TABLES:
        con.execute(f"DROP INDEX IF EXISTS {table}_session")
        con.execute(f"ALTER TABLE {table} DROP COLUMN write_seq")
    old_session_bounds(con, "project_id, session_id, first_ts, last_ts")
    con.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    try:
        load_events(store, "1", [connection("c3", "old")])  # a second connection: "old" is derived again
        derive_until_clean(store)
        cur = store.reader()
        assert cur.execute("SELECT session_id, count(*) FROM sessions GROUP BY ALL ORDER BY ALL").fetchall() == [
            ("old", 1), ("other", 1)]
        assert cur.execute("SELECT connection_id FROM connections WHERE session_id = 'old' ORDER BY ALL").fetchall() \
            == [("c1",), ("c3",)]
        stamps = dict(cur.execute("SELECT session_id, written_seq FROM session_bounds").fetchall())
        assert stamps["other"] == 0 and stamps["old"] > 0  # not derived since: as migrated
    finally:
        store.close()


def test_v12_file_has_its_samples_moved_by_a_pass(tmp_path) -> None:
    """Version 13 moves ended sessions' stats samples into session order (store/duckdb/compaction.py). A version 12
    file's samples and sessions have no key: a pass numbers and moves them, and the session's reads are the same."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [stats(f"e{i}", timestamp=NOW - 3_600_000 + i * 30_000, videoBitrateKbps=float(i))
                             for i in range(4)])
    store.absorb_new_events()
    store.close()
    con = old_file(path)  # as version 12 had it: no skey, no last_seq / skey / compacted_seq
    con.execute("DROP INDEX stats_samples_session")
    con.execute("ALTER TABLE stats_samples DROP COLUMN skey")
    con.execute("CREATE INDEX stats_samples_session ON stats_samples (session_id)")
    old_session_bounds(con, "project_id, session_id, first_ts, last_ts, written_seq")
    con.execute("UPDATE meta SET value = '12' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    try:
        cur = store.reader()
        assert cur.execute("SELECT last_seq, skey, compacted_seq FROM session_bounds").fetchall() == [
            (None, None, None)]
        assert store.compact_stats(NOW) == (4, False)
        assert cur.execute("SELECT skey, compacted_seq FROM session_bounds").fetchall() == [(1, store.derived_seq)]
        assert cur.execute("SELECT DISTINCT skey FROM stats_samples").fetchall() == [(1,)]
        rows, _ = store.sql.reads.publisher_stats(cur, "1", [("s1", "st1")], (0, NOW), 0, 50)
        assert [r["video_bitrate_kbps"] for r in rows] == [0.0, 1.0, 2.0, 3.0]
    finally:
        store.close()


def test_v15_file_has_its_raw_tables_moved_to_the_raw_file(tmp_path) -> None:
    """Version 16 keeps the raw tables in `<db>.raw` (store/duckdb/rawfile.py). A version 15 file's are copied there
    when it is opened, replacing a copy a crash left half-made, and the main file keeps views of them: every row is
    still read, and new ones are appended to the raw file."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [connection("c1", "s1"), stats("a")])
    store.close()
    con = old_file(path)
    con.execute("UPDATE meta SET value = '15' WHERE key = 'schema_version'")
    con.execute(f"ATTACH '{path}.raw' AS raw")  # a crash after copying part of the events: a copy with one row
    con.execute("CREATE TABLE raw.events AS SELECT * FROM main.events LIMIT 0")
    con.execute("INSERT INTO raw.events SELECT * FROM main.events")
    con.close()
    store = DuckDBStore(path)
    load_events(store, "1", [connection("c2", "s1"), stats("b")])
    store.close()
    con = duckdb_file.connect(path, read_only=True)
    main_tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'vi'").fetchall()}
    assert not main_tables & {"events", "stats_samples"}
    assert con.execute("SELECT event_id FROM raw.events ORDER BY 1").fetchall() == [("c1",), ("c2",)]
    assert con.execute("SELECT event_id FROM stats_samples ORDER BY 1").fetchall() == [("a",), ("b",)]
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)


def raw_indexes(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes() WHERE database_name = 'raw'").fetchall()]


def test_v16_file_loses_its_raw_tables_session_indexes(tmp_path) -> None:
    """Version 17 drops the raw tables' session_id indexes (schema.RAW_TABLES): a version 16 file has them, and keeps
    its rows, which are read, appended to and purged as before."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    load_events(store, "1", [connection("c1", "s1"), stats("a")])
    store.close()
    con = duckdb_file.connect(path)
    assert raw_indexes(con) == []  # a new file never had them
    for table in ("events", "stats_samples"):
        con.execute(f"CREATE INDEX {table}_session ON raw.{table} (session_id)")  # as version 16 made them
    con.execute("UPDATE meta SET value = '16' WHERE key = 'schema_version'")
    assert sorted(raw_indexes(con)) == ["events_session", "stats_samples_session"]
    con.close()
    store = DuckDBStore(path)
    try:
        load_events(store, "1", [connection("c2", "s1"), stats("b")])
        cur = store.reader()
        assert raw_indexes(cur) == []
        assert cur.execute("SELECT event_id FROM events ORDER BY 1").fetchall() == [("c1",), ("c2",)]
        assert cur.execute("SELECT event_id FROM stats_samples ORDER BY 1").fetchall() == [("a",), ("b",)]
        assert cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        tomorrow = date.fromtimestamp(NOW / 1000) + timedelta(days=2)
        counts = store.purge(raw_before=tomorrow, daily_before=tomorrow, monthly_before=tomorrow)
        assert (counts["events"], counts["stats_samples"]) == (2, 2)
    finally:
        store.close()
