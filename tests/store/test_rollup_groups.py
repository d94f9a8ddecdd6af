"""A re-derived session changes the daily and monthly rollup rows of its groups by its own share: the other
sessions' shares stay, and a group whose last contribution moved to other dimensions loses its rows, as a rebuild
would not have them. Expected values are the scenario's own minutes, counted by hand. (Written for rollups kept by
delta, which were measured and not kept: docs/benchmarks.md, "Rollups by delta".)"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.days import weekday_start
from videoinsights.derive.engine import derive_all, derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore

PID = "12345678"
MIN = 60_000


def created(event_id: str, session: str, connection: str, ts: int, sdk: str) -> dict[str, Any]:
    return {"id": event_id, "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": connection, "sdkType": sdk, "sdkVersion": "2.27.0", "country": "US"}


def stream(event_id: str, session: str, connection: str, kind: str, ts: int) -> dict[str, Any]:
    event = {"id": event_id, "type": kind, "sessionId": session, "timestamp": ts, "streamId": f"st-{connection}"}
    return {**event, "connectionId": connection} if kind == "streamCreated" else event


def publishing(first_id: str, session: str, connection: str, start: int, sdk: str, minutes: int) -> list[Any]:
    """A client of `sdk` connecting at `start` and publishing for `minutes`."""
    return [created(f"{first_id}1", session, connection, start, sdk),
            stream(f"{first_id}2", session, connection, "streamCreated", start),
            stream(f"{first_id}3", session, connection, "streamDestroyed", start + minutes * MIN)]


def loaded(store: DuckDBStore, events: list[dict[str, Any]]) -> None:
    assert load_events(store, PID, events).accepted == len(events)


def by_sdk(store: DuckDBStore, table: str) -> dict[str | None, float]:
    """sdk_type -> published minutes of the project's rollup rows (one row per group)."""
    found = store.reader().execute(f"SELECT sdk_type, published_minutes FROM {table} WHERE project_id = ?",
                                   [PID]).fetchall()
    assert len({r[0] for r in found}) == len(found), found  # never two rows of one group
    return {r[0]: round(r[1], 9) for r in found}


def test_a_session_that_moves_to_another_group_leaves_no_empty_row(tmp_path: Path) -> None:
    t = weekday_start(2, 1) + 10 * 3_600_000  # 10:00 LA of a weekday: every minute below is on one LA day
    store = DuckDBStore(str(tmp_path / "r.duckdb"))
    try:
        # s1: a JS client publishing 10 minutes; s2: an Android client publishing 4 minutes
        loaded(store, [*publishing("a", "s1", "c1", t, "JS", 10), *publishing("b", "s2", "c2", t, "ANDROID", 4)])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 10.0, "ANDROID": 4.0}
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 10.0, "ANDROID": 4.0}

        # s1's stream runs 3 minutes longer: only s1 is re-derived, its group grows by the difference
        loaded(store, [stream("a4", "s1", "c1", "streamDestroyed", t + 7 * MIN)])  # an earlier end
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 7.0, "ANDROID": 4.0}

        # an earlier create of c1 says IOS (the earliest create counts): s1 leaves the JS group, which had only it
        loaded(store, [created("a5", "s1", "c1", t - 1000, "IOS")])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"IOS": 7.0, "ANDROID": 4.0}
        assert by_sdk(store, "rollup_endpoint_monthly") == {"IOS": 7.0, "ANDROID": 4.0}

        # a rebuild takes every contribution out and puts it back: the same rows
        derive_all(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"IOS": 7.0, "ANDROID": 4.0}
        assert by_sdk(store, "rollup_endpoint_monthly") == {"IOS": 7.0, "ANDROID": 4.0}
        days = store.reader().execute("SELECT count(*) FROM rollup_project_daily WHERE project_id = ?",
                                      [PID]).fetchall()[0][0]
        assert days == 1
    finally:
        store.close()


def test_a_rollup_row_of_sessions_not_rederived_keeps_their_share(tmp_path: Path) -> None:
    """Two sessions in one group: re-deriving one changes the row by its own difference only, and when one
    leaves the group the other's share stays."""
    t = weekday_start(3, 1) + 9 * 3_600_000
    store = DuckDBStore(str(tmp_path / "k.duckdb"))
    try:
        loaded(store, [*publishing("a", "s1", "c1", t, "JS", 6), *publishing("b", "s2", "c2", t, "JS", 5)])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 11.0}
        loaded(store, [stream("b4", "s2", "c2", "streamDestroyed", t + 2 * MIN)])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 8.0}
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 8.0}
        # s2 moves to IOS: its step writes no JS row, yet s1's share keeps the JS rows (looked up, not assumed)
        loaded(store, [created("b5", "s2", "c2", t - 1000, "IOS")])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_daily") == {"JS": 6.0, "IOS": 2.0}
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 6.0, "IOS": 2.0}
    finally:
        store.close()


def test_a_month_row_kept_by_another_days_share(tmp_path: Path) -> None:
    """s2 leaves the JS group of its day, which then has no row; the month's JS row keeps s1's share, which is on
    another day of the month (looked up among the daily rows)."""
    second = la_day(int(time.time() * 1000)) - timedelta(days=2)
    if (second - timedelta(days=1)).month != second.month:
        second -= timedelta(days=2)
    t1, t2 = day_start_ms(second - timedelta(days=1)) + 9 * 3_600_000, day_start_ms(second) + 9 * 3_600_000
    store = DuckDBStore(str(tmp_path / "m.duckdb"))
    try:
        loaded(store, [*publishing("a", "s1", "c1", t2, "JS", 6), *publishing("b", "s2", "c2", t1, "JS", 5)])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 11.0}
        loaded(store, [created("b5", "s2", "c2", t1 - 1000, "IOS")])
        derive_until_clean(store)
        assert by_sdk(store, "rollup_endpoint_monthly") == {"JS": 6.0, "IOS": 5.0}
        daily = store.reader().execute("SELECT day, sdk_type, published_minutes FROM rollup_endpoint_daily "
                                       "ORDER BY day, sdk_type").fetchall()
        assert daily == [(second - timedelta(days=1), "IOS", 5.0), (second, "JS", 6.0)]
    finally:
        store.close()
