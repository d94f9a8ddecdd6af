"""Monthly rollups refreshed apart from the derive steps (store/duckdb/months.py): a step marks its months stale
and leaves their monthly rows; a refresh re-aggregates them from the daily rows; a retention purge folds a stale
month's days into its monthly rows before deleting them. Expected minutes are the scenarios' own, by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.store.test_rollup_groups import PID, by_sdk, loaded, publishing
from tests.support.days import weekday_start
from videoinsights.derive.engine import derive_pending
from videoinsights.domain.days import la_day
from videoinsights.store.duckdb.store import DuckDBStore


def stale(store: DuckDBStore) -> list[tuple]:
    return store.reader().execute("SELECT project_id, month FROM stale_months ORDER BY ALL").fetchall()


def test_a_step_marks_its_month_stale_and_a_refresh_sums_its_days(tmp_path: Path) -> None:
    t = weekday_start(2, 1) + 10 * 3_600_000
    month = la_day(t).replace(day=1)
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    try:
        loaded(store, publishing("a", "s1", "c1", t, "JS", 10))
        assert derive_pending(store, 100) == (1, 0)  # one step, as the derive loop takes them
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 10.0}
        assert by_sdk(store, "rollup_endpoint_monthly") == {}  # not re-aggregated by the step
        assert stale(store) == [(PID, month)]

        assert store.refresh_months() == 1
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 10.0}
        assert store.reader().execute("SELECT sum(pm_from1to2) FROM rollup_project_monthly").fetchall() == [(10.0,)]
        assert stale(store) == [] and store.refresh_months() == 0

        # a second session, of another SDK, an hour later: the month's row waits for the next refresh
        loaded(store, publishing("b", "s2", "c2", t + 3_600_000, "IOS", 7))
        derive_pending(store, 100)
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 10.0}
        assert store.refresh_months() == 1
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 10.0, "IOS": 7.0}
    finally:
        store.close()


def test_a_purge_folds_a_stale_months_days_in_before_deleting_them(tmp_path: Path) -> None:
    t = weekday_start(3, 1) + 9 * 3_600_000
    day = la_day(t)
    store = DuckDBStore(str(tmp_path / "p.duckdb"))
    try:
        loaded(store, publishing("a", "s1", "c1", t, "JS", 6))
        derive_pending(store, 100)
        assert by_sdk(store, "rollup_endpoint_monthly") == {}
        # daily rows of the session's day go; raw and monthly data stay
        counts = store.purge(raw_before=day - timedelta(days=1), daily_before=day + timedelta(days=1),
                             monthly_before=day.replace(day=1) - timedelta(days=40))
        assert counts["rollup_endpoint_daily"] == 1
        assert by_sdk(store, "rollup_endpoint_daily") == {}
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 6.0}
        assert stale(store) == []
    finally:
        store.close()
