"""Retention purge on each store (a real DuckDB file, ClickHouse's engine): raw and session data after 21 days,
daily rollups after 90, monthly after 12 months; newer data untouched."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import date, timedelta
from types import SimpleNamespace

from tests.support.stores import drop, new_store_url, open_store, rows
from tests.support.waiting import wait_until
from videoinsights.derive.engine import derive_all, derive_until_clean
from videoinsights.derive.process import run_derive
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.batch import validate_events
from videoinsights.ingest.load import load_events
from videoinsights.settings import Settings
from videoinsights.store import writer
from videoinsights.store.base import Retention
from videoinsights.store.clickhouse import versioned
from videoinsights.store.clickhouse.schema import SCHEMA_VERSION
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.final_rows import Horizons, final_before_of
from videoinsights.store.writer import retention_cutoffs

TODAY = date(2026, 11, 27)


def session_on(day: date, name: str, n: int = 1) -> list[dict]:
    """A one-minute meeting of a connection publishing one stream, at noon LA: the n-th of session `name`."""
    t, c, s = day_start_ms(day) + 12 * 3600_000, f"c{n}", f"s{n}"
    return [
        {"id": f"{name}-{n}-1", "type": "connectionCreated", "sessionId": name, "timestamp": t, "connectionId": c},
        {"id": f"{name}-{n}-2", "type": "streamCreated", "sessionId": name, "timestamp": t, "streamId": s,
         "connectionId": c},
        {"id": f"{name}-{n}-3", "type": "publisherStats", "sessionId": name, "timestamp": t + 30_000, "streamId": s,
         "videoBitrateKbps": 500.0},
        {"id": f"{name}-{n}-4", "type": "connectionDestroyed", "sessionId": name, "timestamp": t + 60_000,
         "connectionId": c},
    ]


def derived_expired(store: object, *names: str) -> None:
    """Sessions on a day 30 days before today's (past the default 21-day raw retention), loaded and derived."""
    old = la_day(int(time.time() * 1000)) - timedelta(days=30)
    for name in names:
        load_events(store, "1", session_on(old, name), min_ts=0)
    derive_until_clean(store)


def test_cutoffs_follow_settings() -> None:
    now = day_start_ms(TODAY) + 3600_000
    cut = retention_cutoffs(Settings(), now)
    assert cut == {"raw_before": date(2026, 11, 6), "daily_before": date(2026, 8, 29),
                   "monthly_before": date(2025, 12, 1), "minutes_before_ms": now - 48 * 3_600_000,
                   "alerts_before_ms": now - 30 * 86_400_000}


def test_purge_deletes_only_expired_rows(store_url) -> None:
    store = open_store(store_url)
    days = {"recent": TODAY - timedelta(days=2), "old_raw": TODAY - timedelta(days=30),
            "old_daily": TODAY - timedelta(days=100), "ancient": TODAY - timedelta(days=400)}
    for name, day in days.items():
        load_events(store, "1", session_on(day, name), min_ts=0, max_ts=day_start_ms(TODAY) + 86_400_000)
    derive_until_clean(store)
    assert rows(store, "SELECT count(*) FROM sessions") == [(4,)]
    settled = "SELECT day FROM quality_settled ORDER BY day"  # DuckDB's: the samples before the newest settled
    if isinstance(store, DuckDBStore):
        assert rows(store, settled) == [(days["ancient"],), (days["old_daily"],), (days["old_raw"],)]

    counts = store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    if isinstance(store, DuckDBStore):
        assert rows(store, settled) == []
    assert counts["sessions"] == 3 and counts["events"] == 9 and counts["stats_samples"] == 3
    sessions = sorted(r[0] for r in rows(store, "SELECT session_id FROM sessions"))
    assert sessions == ["recent"]
    raw = sorted(r[0] for r in rows(store, "SELECT DISTINCT session_id FROM events"))
    assert raw == ["recent"]
    assert rows(store, "SELECT count(*) FROM stats_samples") == [(1,)]
    daily = sorted(r[0] for r in rows(store, "SELECT day FROM rollup_endpoint_daily"))
    assert daily == [days["old_raw"], days["recent"]]
    months = sorted(r[0] for r in rows(store, "SELECT month FROM rollup_endpoint_monthly"))
    assert months == sorted({d.replace(day=1) for k, d in days.items() if k != "ancient"})
    store.close()


def test_expired_sessions_go_in_pieces_when_asked(store_url) -> None:
    """The server's purge leaves the expired sessions' rows to purge_sessions, a piece at a time (DuckDB; ClickHouse
    deletes them in purge): in the end the same rows are left as by the purge in one go."""
    store = open_store(store_url)
    old = TODAY - timedelta(days=30)
    for name in ("old1", "old2", "old3"):
        load_events(store, "1", session_on(old, name), min_ts=0, max_ts=day_start_ms(TODAY) + 86_400_000)
    load_events(store, "1", session_on(TODAY - timedelta(days=2), "recent"), min_ts=0,
                max_ts=day_start_ms(TODAY) + 86_400_000)
    derive_until_clean(store)
    tables = ("sessions", "meetings", "connections", "publishers")

    def sessions_in(table: str) -> list[str]:
        return sorted(r[0] for r in rows(store, f"SELECT DISTINCT session_id FROM {table}"))

    assert all(sessions_in(t) == ["old1", "old2", "old3", "recent"] for t in tables)
    cutoffs = retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000)
    counts = store.purge(**cutoffs, sessions_apart=True)
    assert counts["events"] == 9  # the raw rows went at once
    pieces = [store.purge_sessions(cutoffs["raw_before"], 2) for _ in range(3)]
    if isinstance(store, DuckDBStore):
        assert "sessions" not in counts and pieces == [2, 1, 0]
    else:
        assert counts["sessions"] == 3 and pieces == [0, 0, 0]
    assert all(sessions_in(t) == ["recent"] for t in tables)
    store.close()


def test_the_server_deletes_expired_sessions_a_piece_at_a_time(tmp_path, monkeypatch) -> None:
    """The writer's hourly purge takes the expired sessions SESSIONS_PURGE_PIECE at a time between commits, at most a
    piece a second (then the dedup keys): one old session per piece here, while a new commit is acknowledged."""
    monkeypatch.setattr(writer, "SESSIONS_PURGE_PIECE", 1)
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    now = int(time.time() * 1000)
    derived_expired(store, "old1", "old2")
    w = writer.Writer(store, Settings(db=path, raw_retention_days=21, purge_interval_s=3600))
    w.start()
    try:
        fresh = session_on(la_day(now), "recent")[:1]
        fresh[0]["timestamp"] = now
        assert w.append(validate_events(fresh, "1", now, now - 86_400_000, now + 86_400_000).columns).result(30) == [
            True]
        wait_until(lambda: rows(store, "SELECT count(*) FROM sessions WHERE session_id LIKE 'old%'") == [(0,)], 30,
                   "the expired sessions were never deleted", 0.05)
        assert rows(store, "SELECT count(*) FROM connections WHERE session_id LIKE 'old%'") == [(0,)]
    finally:
        w.stop()
        store.close()


def test_the_server_purges_at_start_on_a_machine_up_for_minutes(tmp_path, monkeypatch) -> None:
    """The first purge runs when the writer starts, whatever the machine's uptime: monotonic time counts from boot,
    and a writer that took "never purged" as time 0 waited until the machine had been up for purge_interval_s."""
    real = time.monotonic
    boot = real() - 60.0  # as if the machine had booted a minute ago
    monkeypatch.setattr(writer, "time", SimpleNamespace(monotonic=lambda: real() - boot, time=time.time))
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    derived_expired(store, "old")
    w = writer.Writer(store, Settings(db=path, raw_retention_days=21, purge_interval_s=3600))
    w.start()
    try:
        wait_until(lambda: rows(store, "SELECT count(*) FROM sessions") == [(0,)], 30,
                   "the expired session was never deleted", 0.05)
        assert rows(store, "SELECT count(*) FROM events") == [(0,)]
    finally:
        w.stop()
        store.close()


def test_the_derive_process_purges_at_start(tmp_path, caplog) -> None:
    """`videoinsights derive` (ClickHouse, shard 0) purges when it starts, as the server's writer does: a process
    restarted more often than purge_interval_s would otherwise never purge."""
    url = new_store_url("chdb", tmp_path)
    try:
        store = open_store(url)
        derived_expired(store, "old")
        assert rows(store, "SELECT count() FROM sessions") == [(1,)]
        store.close()
        stop = threading.Event()

        def stop_once_purged() -> None:
            try:  # (a timeout fails the assertion below, after the process stopped)
                wait_until(lambda: any("retention purge" in r.getMessage() for r in caplog.records), 60,
                           "the derive process did not purge", 0.05)
            finally:
                stop.set()

        caplog.set_level(logging.INFO, logger="videoinsights.derive.process")
        watcher = threading.Thread(target=stop_once_purged)
        watcher.start()
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            run_derive(Settings(store=url, purge_interval_s=3600), None, stop=stop)
        finally:
            for sig, handler in handlers.items():  # (run_derive installs its own, to stop on them)
                signal.signal(sig, handler)
        watcher.join()
        store = open_store(url)
        assert rows(store, "SELECT count() FROM sessions") == [(0,)]
        store.close()
    finally:
        drop(url)


def test_commits_after_every_raw_row_expired_are_numbered_past_the_derived_ones(tmp_path) -> None:
    """A store whose raw rows all expired (no traffic for longer than raw_retention_days) and that reopens: its next
    commit must come after the derivation watermark, else the absorb never sees it (it was numbered 1 below a
    watermark of 2, and its session never derived)."""
    path = str(tmp_path / "vi.duckdb")
    store = DuckDBStore(path)
    derived_expired(store, "old1", "old2")
    assert store.derived_seq == 2
    tomorrow = la_day(int(time.time() * 1000)) + timedelta(days=1)
    store.purge(raw_before=tomorrow, daily_before=date(2000, 1, 1), monthly_before=date(2000, 1, 1))
    assert rows(store, "SELECT count(*) FROM events") == [(0,)]
    store.close()
    store = DuckDBStore(path)
    try:
        assert store.derived_seq == 2
        now = int(time.time() * 1000)
        load_events(store, "1", [{"id": "n1", "type": "connectionCreated", "sessionId": "new", "timestamp": now,
                                  "connectionId": "c1"}])
        assert store.seq == 3
        derive_until_clean(store)
        assert rows(store, "SELECT session_id FROM sessions") == [("new",)]
    finally:
        store.close()


def test_a_session_spanning_the_raw_window_keeps_its_earlier_days_when_derived_again(store_url) -> None:
    """A long-lived room with a one-minute meeting 30 days ago (past the 21-day raw window, within the 90-day daily
    one) and another 2 days ago. The purge keeps all of its raw events while it has any within the window, so a late
    sample of the recent meeting derives the room again from both meetings: each day keeps its minute and its
    sample. (The purge used to delete the earlier day's raw events: the re-derivation took that day's minute, sample
    and stream out of the daily rollups.)"""
    store = open_store(store_url)
    old, recent = TODAY - timedelta(days=30), TODAY - timedelta(days=2)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    load_events(store, "1", session_on(old, "room", 1) + session_on(recent, "room", 2), **window)
    load_events(store, "1", session_on(old, "gone"), **window)  # ended 30 days ago: goes
    derive_until_clean(store)
    daily = "SELECT day, sum(published_minutes), sum(pub_samples) FROM rollup_endpoint_daily GROUP BY day ORDER BY day"
    assert rows(store, daily) == [(old, 2.0, 2), (recent, 1.0, 1)]

    counts = store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    assert counts["events"] == 3 and counts["stats_samples"] == 1  # "gone"'s; the room's stay
    late = {"id": "late", "type": "publisherStats", "sessionId": "room", "timestamp": day_start_ms(recent)
            + 12 * 3600_000 + 45_000, "streamId": "s2", "videoBitrateKbps": 400.0}
    load_events(store, "1", [late], **window)
    derive_until_clean(store)
    assert rows(store, daily) == [(old, 2.0, 2), (recent, 1.0, 2)]
    assert sorted(r[0] for r in rows(store, "SELECT DISTINCT session_id FROM sessions")) == ["room"]
    store.close()


def test_a_session_whose_recent_events_are_not_yet_absorbed_keeps_its_earlier_days(tmp_path) -> None:
    """As above, with the room's recent meeting committed but not yet absorbed by the derive thread when the purge
    runs (its session_bounds still end 30 days ago): the commits above the derivation watermark count too."""
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    old, recent = TODAY - timedelta(days=30), TODAY - timedelta(days=2)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    load_events(store, "1", session_on(old, "room", 1), **window)
    derive_until_clean(store)
    load_events(store, "1", session_on(recent, "room", 2), **window)  # committed, not absorbed
    counts = store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    assert counts["events"] == 0 and counts["stats_samples"] == 0
    derive_until_clean(store)
    daily = "SELECT day, sum(published_minutes), sum(pub_samples) FROM rollup_endpoint_daily GROUP BY day ORDER BY day"
    assert rows(store, daily) == [(old, 1.0, 1), (recent, 1.0, 1)]
    store.close()


def test_a_session_id_used_again_after_its_first_use_expired_keeps_that_uses_days_through_a_rebuild(store_url) -> None:
    """A room used 30 days ago (its raw events, session rows and bounds purged; its day rows kept, daily retention)
    and again 2 days ago: the new use is derived apart from the old one's day rows, and a rebuild keeps them too,
    since they cannot be derived again (it deleted every day row of each session with bounds, the old use's
    included, and left the old day's rollup without the contribution it sums). On ClickHouse the derivation itself
    deleted them too: it replaced every row of the session id."""
    store = open_store(store_url)
    old, recent = TODAY - timedelta(days=30), TODAY - timedelta(days=2)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    load_events(store, "1", session_on(old, "room", 1), **window)
    derive_until_clean(store)
    store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    assert rows(store, "SELECT count(*) FROM session_bounds") == [(0,)]
    load_events(store, "1", session_on(recent, "room", 2), **window)
    derive_until_clean(store)
    contributions = "SELECT day, sum(published_minutes) FROM session_endpoint_days GROUP BY day ORDER BY day"
    daily = "SELECT day, sum(published_minutes) FROM rollup_endpoint_daily GROUP BY day ORDER BY day"
    assert rows(store, contributions) == rows(store, daily) == [(old, 1.0), (recent, 1.0)]
    derive_all(store)
    assert rows(store, contributions) == rows(store, daily) == [(old, 1.0), (recent, 1.0)]
    store.close()


def test_clickhouse_raw_tables_keep_a_spanning_sessions_rows_through_merges(tmp_path) -> None:
    """ClickHouse's raw tables have no TTL: theirs at the raw window (schema version 3) deleted, at a merge, the raw
    rows of the spanning room's earlier day that the purge keeps. A version 3 store loses its TTL when opened."""
    url = new_store_url("chdb", tmp_path)
    old, recent = TODAY - timedelta(days=30), TODAY - timedelta(days=2)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    store = open_store(url, retention=Retention.of(Settings()))
    try:
        c = store.client
        for table in ("events", "stats_samples"):  # version 3's TTL, on the tables as they were created
            c.command(f"ALTER TABLE {table} MODIFY TTL day + INTERVAL 21 DAY")
        versioned.put(c, "meta", {"key": "schema_version", "value": "3"})
        migrated = open_store(url, retention=Retention.of(Settings()))
        assert migrated.meta_value("schema_version") == str(SCHEMA_VERSION)
        load_events(migrated, "1", session_on(old, "room", 1) + session_on(recent, "room", 2), **window)
        for table in ("events", "stats_samples"):
            c.command(f"OPTIMIZE TABLE {table} FINAL")  # a merge applies a TTL
        assert rows(migrated, "SELECT count() FROM events") == [(6,)]
        assert rows(migrated, "SELECT count() FROM stats_samples") == [(2,)]
        migrated.close()
    finally:
        store.close()
        drop(url)


def test_a_session_id_used_again_keeps_its_expired_uses_days_when_derived_with_a_longer_session(store_url) -> None:
    """As above, with the new use derived in one batch with a room that began before the old use's day (its raw
    events kept: it spans the raw window). The batch's bounds reach back to the long room's first day: the old use's
    day rows must still stay."""
    store = open_store(store_url)
    long_ago, old, recent = TODAY - timedelta(days=30), TODAY - timedelta(days=25), TODAY - timedelta(days=2)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    load_events(store, "1", session_on(long_ago, "long", 1) + session_on(recent, "long", 2) + session_on(old, "room"),
                **window)
    derive_until_clean(store)
    store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    assert rows(store, "SELECT session_id FROM session_bounds GROUP BY session_id") == [("long",)]
    late = {"id": "late", "type": "publisherStats", "sessionId": "long", "timestamp": day_start_ms(recent)
            + 12 * 3600_000 + 45_000, "streamId": "s2", "videoBitrateKbps": 400.0}
    load_events(store, "1", [late, *session_on(recent, "room", 2)], **window)  # both dirty: one batch
    derive_until_clean(store)
    contributions = "SELECT day, sum(published_minutes) FROM session_endpoint_days GROUP BY day ORDER BY day"
    daily = "SELECT day, sum(published_minutes) FROM rollup_endpoint_daily GROUP BY day ORDER BY day"
    assert rows(store, contributions) == rows(store, daily) == [(long_ago, 1.0), (old, 1.0), (recent, 2.0)]
    store.close()


def test_the_final_horizon_is_the_month_after_the_last_one_with_a_purged_day() -> None:
    assert final_before_of(date(2026, 9, 7)) == date(2026, 10, 1)  # Sep 1-6 purged: September is final
    assert final_before_of(date(2026, 9, 1)) == date(2026, 9, 1)  # August purged whole, September untouched
    assert final_before_of(date(2027, 1, 1)) == date(2027, 1, 1)
    assert final_before_of(date(2026, 12, 31)) == date(2027, 1, 1)
    assert Horizons().after_purge(date(2026, 9, 7), None) == Horizons(date(2026, 10, 1), None)
    assert Horizons(date(2026, 10, 1), 500).after_purge(date(2026, 9, 1), 400) == Horizons(date(2026, 10, 1), 500)
    assert Horizons(date(2026, 10, 1), 500).after_purge(date(2026, 10, 2), 900) == Horizons(date(2026, 11, 1), 900)


def test_a_room_older_than_the_daily_window_derived_again_leaves_its_final_months_alone(store_url) -> None:
    """A room with a one-minute meeting 140 days ago (past the 90-day daily window) and another 2 days ago keeps
    all of its raw events (it spans the raw window); another session had a minute in the same old month. After the
    purge, a late sample derives the room again: the old month keeps its 2 minutes. (Re-derived, the room wrote its
    old day row again: ClickHouse's monthly sums then counted it twice, 3.0, and DuckDB re-aggregated the month from
    the days left, 1.0.) A rebuild leaves it too."""
    store = open_store(store_url)
    ancient, recent = TODAY - timedelta(days=140), TODAY - timedelta(days=2)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    load_events(store, "1", session_on(ancient, "room", 1) + session_on(recent, "room", 2)
                + session_on(ancient, "other"), **window)
    derive_until_clean(store)
    monthly = "SELECT month, sum(published_minutes) FROM rollup_endpoint_monthly GROUP BY month ORDER BY month"
    daily = "SELECT day, sum(published_minutes) FROM rollup_endpoint_daily GROUP BY day ORDER BY day"
    months = [(ancient.replace(day=1), 2.0), (recent.replace(day=1), 1.0)]
    assert rows(store, monthly) == months
    store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    late = {"id": "late", "type": "publisherStats", "sessionId": "room", "timestamp": day_start_ms(recent)
            + 12 * 3600_000 + 45_000, "streamId": "s2", "videoBitrateKbps": 400.0}
    load_events(store, "1", [late], **window)
    derive_until_clean(store)
    assert rows(store, monthly) == months
    assert rows(store, daily) == [(recent, 1.0)]
    derive_all(store)
    assert rows(store, monthly) == months
    assert rows(store, daily) == [(recent, 1.0)]
    store.close()


def test_a_session_whose_raw_events_expired_before_it_was_derived_gets_no_rows(store_url) -> None:
    """Committed 30 days ago, purged before its derivation: no session row (ClickHouse, whose dirty token outlives
    the purge, derived it from no events: a row created at 0 with every count 0)."""
    store = open_store(store_url)
    window = {"min_ts": 0, "max_ts": day_start_ms(TODAY) + 86_400_000}
    load_events(store, "1", session_on(TODAY - timedelta(days=30), "old"), **window)
    store.purge(**retention_cutoffs(Settings(), day_start_ms(TODAY) + 3600_000))
    derive_until_clean(store)
    assert rows(store, "SELECT count(*) FROM sessions") == [(0,)]
    assert store.dirty_session_count() == 0
    store.close()


def test_minute_rows_the_purge_deleted_are_not_written_again(store_url) -> None:
    """A one-minute meeting 3 days ago: the purge deletes its minute rows (48 h). A duplicate of one of its events
    (ClickHouse derives the session again: its commit marks it dirty) and then a late new sample (both stores do)
    leave them gone, and its day row as it was. (Derived again, the session wrote them back, and the minute rollup
    held it alone until the next purge.)"""
    store = open_store(store_url)
    now = day_start_ms(TODAY) + 3600_000
    window = {"min_ts": 0, "max_ts": now + 300_000}
    events = session_on(TODAY - timedelta(days=3), "room")
    load_events(store, "1", events, **window)
    derive_until_clean(store)
    minutes = "SELECT count(*) FROM {}"
    assert rows(store, minutes.format("session_endpoint_minutes")) == [(1,)]
    store.purge(**retention_cutoffs(Settings(), now))
    late = {**events[2], "id": "late", "timestamp": events[2]["timestamp"] + 10_000}
    for sent in ([events[2]], [late]):
        load_events(store, "1", sent, **window)
        derive_until_clean(store)
        for table in ("session_endpoint_minutes", "rollup_endpoint_minutely"):
            assert rows(store, minutes.format(table)) == [(0,)], (sent, table)
    daily = "SELECT day, sum(published_minutes), sum(pub_samples) FROM rollup_endpoint_daily GROUP BY day"
    assert rows(store, daily) == [(TODAY - timedelta(days=3), 1.0, 2)]
    store.close()
