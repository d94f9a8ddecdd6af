"""Stats samples moved into session order (store/duckdb/compaction.py): which sessions a pass takes, in what order it
numbers them, what it leaves where it was, and that every read and rebuild answers as before the pass."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from videoinsights.domain.days import la_day
from videoinsights.ingest.batch import validate_events
from videoinsights.settings import Settings
from videoinsights.store.duckdb import compaction, reads
from videoinsights.store.duckdb import store as store_module
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import Writer

NOW = int(time.time() * 1000)
MINUTE, HOUR, DAY = 60_000, 3_600_000, 24 * 3_600_000
PID = "12345678"
A_TS, B_TS = NOW - 10 * DAY, NOW - 2 * DAY
SETTLED = NOW - 10 * MINUTE  # a pass's bound: sessions whose last event is older


def sample(i: int, session: str, stream: str, ts: int, kbps: float) -> dict:
    return {"id": f"{session}-{stream}-{i}", "type": "publisherStats", "sessionId": session, "timestamp": ts,
            "streamId": stream, "videoBitrateKbps": kbps}


def live_samples(now: int = NOW) -> list[dict]:
    """D's two samples, two minutes and one before `now`. Tests that settle by the clock (the derive thread, the
    compact command) pass the time they run: the suite may run them more than the settle time after importing this
    module, and samples a minute before NOW would then be settled."""
    return [sample(0, "D", "d1", now - 2 * MINUTE, 400.0), sample(1, "D", "d1", now - MINUTE, 401.0)]


def append(store: DuckDBStore, events: list[dict]) -> None:
    batch = validate_events(events, PID, NOW, NOW - 30 * DAY, NOW + HOUR)
    assert not batch.rejected
    store.append_events([batch.columns])


def read(store: DuckDBStore, parents: list[tuple[str, str]], since: int = NOW - 20 * DAY,
         until: int = NOW + HOUR) -> dict[str, list[float]]:
    rows, _ = reads.publisher_stats(store.reader(), PID, parents, (since, until), 0, 50)
    by_stream: dict[str, list[float]] = {}
    for row in rows:
        by_stream.setdefault(row["stream_id"], []).append(row["video_bitrate_kbps"])
    return by_stream


def keys(store: DuckDBStore) -> dict[str, tuple]:
    rows = store.reader().execute("SELECT session_id, skey, compacted_seq FROM session_bounds").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def sample_keys(store: DuckDBStore) -> list[tuple]:
    """(session, skey) of every stored sample, in the table's order."""
    return store.reader().execute("SELECT session_id, skey FROM raw.stats_samples ORDER BY rowid").fetchall()


def fill(store: DuckDBStore, now: int = NOW) -> DuckDBStore:
    # A: 5 samples ten days ago; B: 3 two days ago, interleaved with C's one; D: live (its last sample a minute ago)
    append(store, [sample(i, "A", "a1", A_TS + i * 30_000, 100.0 + i) for i in range(5)])
    append(store, [sample(0, "B", "b1", B_TS, 200.0), sample(0, "C", "c1", B_TS + 1, 1.0),
                   sample(1, "B", "b1", B_TS + 30_000, 201.0), sample(2, "B", "b1", B_TS + 60_000, 202.0),
                   *live_samples(now)])
    store.absorb_new_events()
    return store


@pytest.fixture
def store(tmp_path: Path):
    store = fill(DuckDBStore(str(tmp_path / "c.duckdb")))
    yield store
    store.close()


PARENTS = [("A", "a1"), ("B", "b1"), ("D", "d1")]
EXPECTED = {"a1": [100.0, 101.0, 102.0, 103.0, 104.0], "b1": [200.0, 201.0, 202.0], "d1": [400.0, 401.0]}


def test_a_pass_whose_keys_were_not_recorded_is_taken_up_by_the_next(store: DuckDBStore) -> None:
    """A pass moves the samples (raw file) and records the keys (main file) in two transactions: a crash between them
    leaves A's samples moved with key 1 and A without a key. The next pass numbers E (which ended before A) 1 and A
    2, but keeps for A the key its samples carry; the shared key costs reads nothing."""
    assert store.compact_stats(SETTLED, sessions=1) == (5, True)  # A's 5 samples, a full pass of one session
    cur = store.export_cursor()  # what the lost second transaction leaves: no key recorded, the next key unchanged
    cur.execute("UPDATE session_bounds SET skey = NULL, compacted_seq = NULL")
    cur.execute("DELETE FROM meta WHERE key = 'skey_next'")
    cur.close()
    append(store, [sample(i, "E", "e1", A_TS - DAY + i * 30_000, 500.0 + i) for i in range(2)])
    store.absorb_new_events()
    seq = store.derived_seq
    assert store.compact_stats(SETTLED) == (6, False)  # E, A, C, B numbered; E's 2, C's 1, B's 3 moved
    assert keys(store) == {"E": (1, seq), "A": (1, seq), "C": (3, seq), "B": (4, seq), "D": (None, None)}
    assert [k for k in sample_keys(store) if k[0] in "AE"] == [("A", 1)] * 5 + [("E", 1)] * 2
    assert read(store, [*PARENTS, ("E", "e1")]) == {**EXPECTED, "e1": [500.0, 501.0]}
    assert store.compact_stats(NOW) == (2, False)
    assert keys(store)["D"] == (5, seq)  # numbering goes on after the keys in use


def test_a_pass_moves_the_ended_sessions_in_the_order_they_ended(store: DuckDBStore) -> None:
    assert read(store, PARENTS) == EXPECTED
    seq = store.derived_seq
    assert store.compact_stats(SETTLED) == (9, False)  # A's 5, B's 3, C's 1; D is live
    # numbered by last event: A (ten days ago), C (B_TS + 1 ms), B (B_TS + 60 s); D untouched
    assert keys(store) == {"A": (1, seq), "C": (2, seq), "B": (3, seq), "D": (None, None)}
    # D's rows stay where they were appended, the others follow in key order, each session's rows together
    assert sample_keys(store) == [("D", None), ("D", None), ("A", 1), ("A", 1), ("A", 1), ("A", 1), ("A", 1),
                                  ("C", 2), ("B", 3), ("B", 3), ("B", 3)]
    sql, _ = reads._windowed_stats_sql(store.reader(), PID, ["A", "B", "D"], (NOW - 20 * DAY, NOW), "ts",
                                       reads._STATS_MAX_WINDOWS)
    assert "skey IN (SELECT unnest([1, 3]))" in sql and sql.count("ts BETWEEN") == 1  # D's window alone
    assert read(store, PARENTS) == EXPECTED
    # a range that cuts into A's moved samples and D's window: both clipped
    assert read(store, PARENTS, A_TS + 30_000, NOW - 90_000) == {"a1": [101.0, 102.0, 103.0, 104.0],
                                                               "b1": [200.0, 201.0, 202.0], "d1": [400.0]}
    assert store.compact_stats(SETTLED) == (0, False)  # nothing more is due
    assert store.compact_stats(NOW) == (2, False)  # D, once its last event is before the bound
    assert keys(store)["D"] == (4, seq)
    assert read(store, PARENTS) == EXPECTED


def test_samples_committed_after_the_pass_stay_put_and_are_read(store: DuckDBStore) -> None:
    store.compact_stats(SETTLED)
    # A late sample inside A's bounds, one after them, and a new stream of B: committed, not yet absorbed
    append(store, [sample(5, "A", "a1", A_TS + 45_000, 150.0), sample(6, "A", "a1", A_TS + HOUR, 160.0),
                   sample(0, "B", "b2", B_TS + 10, 300.0)])
    late = {"a1": [100.0, 101.0, 150.0, 102.0, 103.0, 104.0, 160.0], "b1": [200.0, 201.0, 202.0], "b2": [300.0],
            "d1": [400.0, 401.0]}
    parents = [*PARENTS, ("B", "b2")]
    assert read(store, parents) == late  # read apart, above the derive watermark
    moved_at = keys(store)["A"][1]
    store.absorb_new_events()
    assert read(store, parents) == late  # now through A's and B's windows, above the seq their rows were moved at
    sql, _ = reads._windowed_stats_sql(store.reader(), PID, ["A", "B"], (NOW - 20 * DAY, NOW), "ts",
                                       reads._STATS_MAX_WINDOWS)
    assert sql.count(f"AND seq > {moved_at} ") == 2
    assert store.compact_stats(SETTLED) == (0, False)  # a session is moved once: its late rows stay in arrival order
    assert sorted(s for s, k in sample_keys(store) if k is None) == ["A", "A", "B", "D", "D"]
    assert read(store, parents) == late


def test_rows_not_yet_absorbed_are_not_moved(store: DuckDBStore) -> None:
    append(store, [sample(7, "A", "a1", A_TS + 10, 170.0)])  # committed, not absorbed: above the pass's watermark
    assert store.compact_stats(SETTLED) == (9, False)
    assert ("A", None) in sample_keys(store)
    store.absorb_new_events()
    assert read(store, [("A", "a1")]) == {"a1": [100.0, 170.0, 101.0, 102.0, 103.0, 104.0]}


def test_a_session_longer_than_the_span_stays_in_arrival_order(store: DuckDBStore, monkeypatch) -> None:
    monkeypatch.setattr(compaction, "MAX_SPAN_MS", 60_000)  # A and B span 120 s and 60 s
    assert store.compact_stats(SETTLED) == (4, False)  # C's sample and B's 3 (a span of 60 s is not above it)
    assert {s: k for s, (k, _) in keys(store).items()} == {"A": 0, "C": 2, "B": 3, "D": None}
    assert [s for s, k in sample_keys(store) if k is None] == ["A"] * 5 + ["D", "D"]
    assert read(store, PARENTS) == EXPECTED


def test_a_full_pass_says_more_are_due(store: DuckDBStore, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "PASS_SESSIONS", 2)
    assert store.compact_stats(SETTLED) == (6, True)  # A and C
    assert store.compact_stats(SETTLED) == (3, False)  # B
    assert read(store, PARENTS) == EXPECTED


def test_a_rebuild_after_a_pass_gives_the_same_rows(store: DuckDBStore) -> None:
    tables = ("stats_daily", "quality_samples", "quality_buckets", "quality_runs")

    def derived() -> dict[str, list[tuple]]:
        con = store.reader()
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}

    store.clear_derived()
    before = derived()
    assert before["stats_daily"] and before["quality_samples"]
    store.compact_stats(NOW)
    store.clear_derived()
    assert derived() == before


@pytest.mark.parametrize("settle_s", [600, 0])
def test_the_derive_thread_moves_settled_sessions_when_idle(tmp_path: Path, settle_s: int) -> None:
    """Through the writer, as the server runs it: A, B and C ended days ago, D a minute ago (off at 0)."""
    path = str(tmp_path / "w.duckdb")
    store = DuckDBStore(path)
    writer = Writer(store, Settings(db=path, derive_interval_ms=20, stats_compaction_settle_s=settle_s))
    events = ([sample(i, "A", "a1", A_TS + i * 30_000, 100.0 + i) for i in range(5)]
              + [sample(0, "C", "c1", B_TS + 1, 1.0)] + [sample(i, "B", "b1", B_TS + i * 30_000, 200.0 + i) for i in
                                                          range(3)]
              + live_samples(int(time.time() * 1000)))
    writer.start()
    try:
        writer.append(validate_events(events, PID, NOW, NOW - 30 * DAY, NOW + HOUR).columns).result(timeout=30)
        moved = 9 if settle_s else 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (writer.stats.sessions_derived < 4
                                               or writer.stats.stats_samples_compacted < moved):
            time.sleep(0.05)
        time.sleep(0.5)  # idle loops more: nothing else may move
        assert writer.stats.stats_samples_compacted == moved
        assert sorted(s for s, (k, _) in keys(store).items() if k) == (["A", "B", "C"] if settle_s else [])
        assert read(store, PARENTS) == EXPECTED
    finally:
        writer.stop()
        store.close()


def test_the_purge_deletes_moved_samples_by_their_day(store: DuckDBStore) -> None:
    store.compact_stats(SETTLED)
    cutoff = la_day(B_TS) - timedelta(days=1)  # A's day (ten days ago) goes, B's and C's (two days ago) stay
    counts = store.purge(raw_before=cutoff, daily_before=cutoff, monthly_before=cutoff.replace(day=1))
    assert counts["stats_samples"] == 5 and counts["session_bounds"] == 1
    assert sorted(set(sample_keys(store))) == [("B", 3), ("C", 2), ("D", None)]
    assert read(store, PARENTS) == {"b1": EXPECTED["b1"], "d1": EXPECTED["d1"]}
    assert store.compact_stats(NOW) == (2, False)  # D, numbered after the keys the purge took away
    assert keys(store)["D"][0] == 4


# `videoinsights compact`: passes of --sessions until none is due. With 2 per pass: A and C (6 samples), then B (3);
# D is live (its last sample a minute ago, settle 600 s).
COMPACTED = {"passes": 2, "samples": 9}


def compacted_keys(path: Path) -> dict[str, tuple]:
    store = DuckDBStore(str(path), read_only=True)
    try:
        seq = store.derived_seq
        assert read(store, PARENTS) == EXPECTED
        return {session: (k, c == seq if c is not None else None) for session, (k, c) in keys(store).items()}
    finally:
        store.close()


def test_the_compact_command_moves_every_settled_session_in_passes(tmp_path: Path, capsys) -> None:
    from videoinsights.cli import main

    path = tmp_path / "vi.duckdb"
    fill(DuckDBStore(str(path)), int(time.time() * 1000)).close()
    assert main(["compact", "--db", str(path), "--sessions", "2", "--settle-s", "600", "--json"]) == 0
    assert {k: v for k, v in json.loads(capsys.readouterr().out).items() if k != "seconds"} == COMPACTED
    assert compacted_keys(path) == {"A": (1, True), "C": (2, True), "B": (3, True), "D": (None, None)}
    assert main(["compact", "--db", str(path), "--json"]) == 0  # nothing left: one pass that moves nothing
    assert json.loads(capsys.readouterr().out)["samples"] == 0
    assert main(["compact", "--db", str(path), "--sessions", "0"]) == 2
    assert "sessions per pass must be between 1 and" in capsys.readouterr().err
    assert main(["compact", "--db", str(tmp_path / "none.duckdb")]) == 2  # no file: an error, not a new store
    assert not (tmp_path / "none.duckdb").exists()


def test_the_compact_command_runs_its_passes_through_a_running_server(tmp_path: Path, server_factory: Any) -> None:
    path = tmp_path / "vi.duckdb"
    fill(DuckDBStore(str(path)), int(time.time() * 1000)).close()
    server = server_factory({"VIDEOINSIGHTS_STATS_COMPACTION_SETTLE_S": "0"}, db=path)  # its own passes off
    done = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(path), "compact", "--sessions", "2",
                           "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert {k: v for k, v in json.loads(done.stdout).items() if k != "seconds"} == COMPACTED
    server.stop()
    assert compacted_keys(path) == {"A": (1, True), "C": (2, True), "B": (3, True), "D": (None, None)}
