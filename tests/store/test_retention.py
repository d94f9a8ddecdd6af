"""Retention purge on each store (a real DuckDB file, ClickHouse's engine): raw and session data after 21 days,
daily rollups after 90, monthly after 12 months; newer data untouched."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support.stores import open_store, rows
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms
from videoinsights.ingest.load import load_events
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import retention_cutoffs

TODAY = date(2026, 11, 27)


def session_on(day: date, name: str) -> list[dict]:
    t = day_start_ms(day) + 12 * 3600_000
    return [
        {"id": f"{name}-1", "type": "connectionCreated", "sessionId": name, "timestamp": t, "connectionId": "c"},
        {"id": f"{name}-2", "type": "streamCreated", "sessionId": name, "timestamp": t, "streamId": "s",
         "connectionId": "c"},
        {"id": f"{name}-3", "type": "publisherStats", "sessionId": name, "timestamp": t + 30_000, "streamId": "s",
         "videoBitrateKbps": 500.0},
        {"id": f"{name}-4", "type": "connectionDestroyed", "sessionId": name, "timestamp": t + 60_000,
         "connectionId": "c"},
    ]


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
