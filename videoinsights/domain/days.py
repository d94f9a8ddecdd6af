"""Reporting days are America/Los_Angeles days (the spec's PST/PDT).

Timestamps everywhere are epoch milliseconds (int). These helpers turn them
into reporting days and split intervals at local midnight.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

TZ = ZoneInfo("America/Los_Angeles")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@lru_cache(maxsize=65_536)
def _day_of_hour(hour: int) -> date:
    # DST changes happen on whole hours, so every ms of an epoch hour shares one local day.
    return datetime.fromtimestamp(hour * 3600, TZ).date()


def la_day(ts_ms: int) -> date:
    """The America/Los_Angeles calendar day containing ts_ms."""
    return _day_of_hour(ts_ms // HOUR_MS)


@lru_cache(maxsize=16_384)
def day_start_ms(day: date) -> int:
    """Epoch ms of local midnight starting `day` (07:00Z or 08:00Z)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp() * 1000)


def day_end_ms(day: date) -> int:
    """Epoch ms of local midnight ending `day` (23 or 25 hours on DST days)."""
    return day_start_ms(day + timedelta(days=1))


def split_by_day(start_ms: int, end_ms: int) -> list[tuple[date, int, int]]:
    """Split [start_ms, end_ms) at local midnights: [(day, part_start, part_end), ...]."""
    parts: list[tuple[date, int, int]] = []
    cursor = start_ms
    while cursor < end_ms:
        day = la_day(cursor)
        stop = min(end_ms, day_end_ms(day))
        parts.append((day, cursor, stop))
        cursor = stop
    return parts


def week_start(day: date) -> date:
    """Weeks start on Monday (ISO weeks)."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)
