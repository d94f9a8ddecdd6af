"""The delivery log is purged with the other retention windows (docs/alerts.md, setting
alert_delivery_retention_days): deliveries (whatever their status: their tries last seconds)
and announced-meeting records older than the retention go, newer ones stay. Real DuckDB file and ClickHouse
(chdb) store, real CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import cli
from tests.support.stores import open_store, rows
from videoinsights.settings import Settings
from videoinsights.store.base import Store
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import retention_cutoffs

DAY = 86_400_000
NOW = 1_795_000_000_000  # 2026-11-18, any fixed moment


def fill(store: Store, now: int) -> None:
    """Deliveries and sent-meeting records 40, 31, 29 and 1 days old (by their creation time)."""
    cur, sql = store.reader(), store.sql.alerts
    for age, status in ((40, "delivered"), (31, "failed"), (31, "refused"), (40, "retrying"), (29, "delivered"),
                        (1, "pending")):
        delivery = f"d{age}-{status}"
        sql.insert_delivery(cur, delivery, "rule", "1", "fired", now - age * DAY)
        if status != "pending":
            sql.update_delivery(cur, delivery, status, 1, 200, None, now - age * DAY + 5_000)
    sql.mark_meetings_sent(cur, [("rule", "s40", 0)], now - 40 * DAY)
    sql.mark_meetings_sent(cur, [("rule", "s2", 0)], now - 2 * DAY)


def remaining(store: Store) -> tuple[list[str], list[str]]:
    """What is left (DISTINCT: a ClickHouse delivery that was updated has a row per version)."""
    deliveries = sorted(r[0] for r in rows(store, "SELECT DISTINCT delivery_id FROM alert_deliveries"))
    sent = sorted(r[0] for r in rows(store, "SELECT DISTINCT session_id FROM alert_meetings_sent"))
    return deliveries, sent


def test_default_retention_keeps_30_days(store_url: str) -> None:
    store = open_store(store_url)
    try:
        fill(store, NOW)
        counts = store.purge(**retention_cutoffs(Settings(), NOW))
        # the 40- and 31-day ones go (a delivery left "retrying" by a crash too); 29 and 1 day old stay
        assert counts["alert_deliveries"] == 4 and counts["alert_meetings_sent"] == 1
        assert remaining(store) == (["d1-pending", "d29-delivered"], ["s2"])
    finally:
        store.close()


def test_purge_command_applies_the_setting(tmp_path: Path) -> None:
    db = tmp_path / "vi.duckdb"
    store = DuckDBStore(str(db))
    now = int(time.time() * 1000)
    try:
        fill(store, now)
    finally:
        store.close()
    out = json.loads(cli(db, "purge", env={"VIDEOINSIGHTS_ALERT_DELIVERY_RETENTION_DAYS": "10"}))
    # 10 days: also the 29-day delivery goes; the 2-day meeting record stays
    assert (out["alert_deliveries"], out["alert_meetings_sent"]) == (5, 1)
    store = DuckDBStore(str(db))
    try:
        assert remaining(store) == (["d1-pending"], ["s2"])
    finally:
        store.close()
