"""Where a test's simulated traffic starts. The simulator draws far fewer sessions on weekends (its weekly
profile), so traffic placed a fixed number of days before today is thinner on some days of the week, and a test
counting re-derivations or sessions passed or failed with the date. Starting on weekdays only keeps it the same."""

from __future__ import annotations

import time
from datetime import timedelta

from videoinsights.domain.days import day_start_ms, la_day


def weekday_start(days_ago: int, days: int) -> int:
    """Epoch ms starting the latest LA day at least `days_ago` days before today from which `days` days are all
    Monday to Friday (`days` <= 5)."""
    day = la_day(int(time.time() * 1000)) - timedelta(days=days_ago)
    while any((day + timedelta(days=i)).weekday() >= 5 for i in range(days)):
        day -= timedelta(days=1)
    return day_start_ms(day)
