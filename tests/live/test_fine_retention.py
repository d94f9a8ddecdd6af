"""Retention of the hour and minute rows: minute rows until `minutes_before_ms`, hour rows as long as day rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from videoinsights.domain.days import day_start_ms
from videoinsights.store.duckdb.store import DuckDBStore

DAILY_BEFORE = date(2026, 9, 1)
HOUR = 3_600_000


def test_purge_keeps_minutes_48_hours_and_hours_like_days(tmp_path: Path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    now = day_start_ms(date(2026, 11, 30)) + 12 * HOUR
    cut = day_start_ms(DAILY_BEFORE)
    buckets = {"minute": (now - 49 * HOUR, now - 47 * HOUR), "hour": (cut - HOUR, cut)}  # (expired, kept)
    for kind, pair in buckets.items():
        for bucket in pair:
            store._con.execute(f"INSERT INTO session_endpoint_{kind}s (project_id, session_id, bucket) "
                               "VALUES ('p', 's', ?)", [bucket])
            store._con.execute(f"INSERT INTO rollup_endpoint_{kind}ly (project_id, bucket) VALUES ('p', ?)", [bucket])
    counts = store.purge(date(2026, 11, 1), DAILY_BEFORE, date(2025, 12, 1), minutes_before_ms=now - 48 * HOUR)
    for kind, (_expired, kept) in buckets.items():
        for table in (f"session_endpoint_{kind}s", f"rollup_endpoint_{kind}ly"):
            assert counts[table] == 1, table
            left = [b for (b,) in store._con.execute(f"SELECT bucket FROM {table}").fetchall()]
            assert left == [kept], table
    store.close()
