"""A project's endpoint measures per day summed over the dimensions (store/duckdb/totals.py): kept by the derive
steps beside the groups, purged with them, filled for a file from before them, and read by the reports without
groups or filters. Expected values are the scenarios' own minutes, counted by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb

from tests.store.test_rollup_groups import MIN, PID, by_sdk, created, loaded, publishing, stream
from tests.support import duckdb_file
from tests.support.days import weekday_start
from videoinsights.derive.engine import derive_pending
from videoinsights.domain.days import la_day
from videoinsights.query.report import ReportQuery
from videoinsights.store.duckdb import reads
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.duckdb.totals import TOTALS


def totals(store: DuckDBStore) -> dict[date, float]:
    """day -> published minutes of the project's totals (one row per day)."""
    found = store.reader().execute(f"SELECT day, published_minutes FROM {TOTALS} WHERE project_id = ?",
                                   [PID]).fetchall()
    assert len({r[0] for r in found}) == len(found), found
    return {r[0]: round(r[1], 9) for r in found}


def groups_of(store: DuckDBStore, day: date) -> dict[str | None, float]:
    """sdk_type -> published minutes of the project's group rows of `day`."""
    found = store.reader().execute("SELECT sdk_type, published_minutes FROM rollup_endpoint_daily "
                                   "WHERE project_id = ? AND day = ?", [PID, day]).fetchall()
    return {r[0]: round(r[1], 9) for r in found}


def report(store: DuckDBStore, first: date, last: date, interval: str | None = None,
           group_by: tuple[str, ...] = ()) -> list[tuple]:
    q = ReportQuery(PID, first, last, interval, (), group_by, ("published_minutes",), (),
                    include_project=not group_by, monthly_before=first.replace(day=1) - timedelta(days=400),
                    offset=0, limit=50)
    return [(r["bucket"], *(r[g] for g in group_by), round(r["published_minutes"], 9))
            for r in reads.project_report(store.reader(), q)[0]]


def test_a_step_keeps_the_days_totals_beside_their_groups(tmp_path: Path) -> None:
    t = weekday_start(2, 1) + 10 * 3_600_000  # 10:00 LA of a weekday
    day = la_day(t)
    store = DuckDBStore(str(tmp_path / "t.duckdb"))
    try:
        # s1: a JS client publishing 10 minutes; s2: an iOS client 7 minutes, the next day
        loaded(store, publishing("a", "s1", "c1", t, "JS", 10))
        loaded(store, publishing("b", "s2", "c2", t + 24 * 3_600_000, "IOS", 7))
        derive_pending(store, 100)
        assert totals(store) == {day: 10.0, day + timedelta(days=1): 7.0}
        # s3 joins the first day on Android for 4 minutes: that day's total is 14, over two groups
        loaded(store, publishing("c", "s3", "c3", t + 30 * MIN, "ANDROID", 4))
        derive_pending(store, 100)
        assert totals(store) == {day: 14.0, day + timedelta(days=1): 7.0}
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 10.0, "ANDROID": 4.0, "IOS": 7.0}
        # s1's connection, sent again as an iOS client a millisecond earlier (a late correction: the earliest create
        # describes the connection): the first day's groups change, its total stays 14
        loaded(store, [created("a1x", "s1", "c1", t - 1, "IOS"),
                       stream("a2x", "s1", "c1", "streamCreated", t)])
        derive_pending(store, 100)
        assert groups_of(store, day) == {"IOS": 10.0, "ANDROID": 4.0}
        assert totals(store)[day] == 14.0

        # the reports without groups read these rows, and agree with the grouped ones
        assert report(store, day, day + timedelta(days=1)) == [(date(1970, 1, 1), 21.0)]
        assert report(store, day, day + timedelta(days=1), "DAILY") == [(day, 14.0), (day + timedelta(days=1), 7.0)]
        grouped = report(store, day, day, "DAILY", ("sdk_type",))
        assert sum(r[-1] for r in grouped) == 14.0 and len(grouped) >= 2

        # purged with the daily rollups
        counts = store.purge(raw_before=day - timedelta(days=30), daily_before=day + timedelta(days=1),
                             monthly_before=day - timedelta(days=400))
        assert counts[TOTALS] == 1
        assert totals(store) == {day + timedelta(days=1): 7.0}
    finally:
        store.close()


def test_reports_without_groups_read_the_totals(tmp_path: Path) -> None:
    """Which table a report reads: a total changed by hand shows in the reports without groups or filters only."""
    t = weekday_start(3, 1) + 9 * 3_600_000
    day = la_day(t)
    store = DuckDBStore(str(tmp_path / "r.duckdb"))
    try:
        loaded(store, publishing("a", "s1", "c1", t, "JS", 6))
        derive_pending(store, 100)
        store._con.execute(f"UPDATE {TOTALS} SET published_minutes = 99")
        store._bump()
        assert report(store, day, day) == [(date(1970, 1, 1), 99.0)]
        assert report(store, day, day, "DAILY") == [(day, 99.0)]
        assert report(store, day, day, "DAILY", ("sdk_type",)) == [(day, "JS", 6.0)]
    finally:
        store.close()


def test_a_file_from_before_the_totals_gets_them_at_open(tmp_path: Path) -> None:
    t = weekday_start(4, 1) + 11 * 3_600_000
    day = la_day(t)
    path = str(tmp_path / "m.duckdb")
    store = DuckDBStore(path)
    loaded(store, publishing("a", "s1", "c1", t, "JS", 5))
    loaded(store, publishing("b", "s2", "c2", t, "ANDROID", 3))
    derive_pending(store, 100)
    store.close()
    duckdb_file.as_single_file(path)
    con = duckdb.connect(path)  # as schema 14 left it: no totals
    con.execute(f"DELETE FROM {TOTALS}")
    con.execute("UPDATE meta SET value = '14' WHERE key = 'schema_version'")
    con.close()
    store = DuckDBStore(path)
    try:
        assert totals(store) == {day: 8.0}
    finally:
        store.close()
