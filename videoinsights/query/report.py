"""The projectData query model: which days, which buckets, which groups.

Reports are built from daily rollups (America/Los_Angeles days); months that
ended before the daily retention window come from the monthly rollups. The
resolver turns GraphQL arguments into a `ReportQuery`; the store answers it
(its backend's reads module, e.g. store/duckdb/reads.py) without knowing anything about GraphQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from videoinsights.domain.days import day_start_ms, la_day, month_start, week_start
from videoinsights.query.errors import InsightsError

AUTO_DAILY_MAX_DAYS = 31
# Extensions (docs/api.md): hour and minute buckets from their own rollups (derive/fine.py).
FINE_INTERVALS = {"HOURLY": "hour", "MINUTE": "minute"}
DIMENSION_ORDER = ("sdk_type", "sdk_version", "country", "region", "browser", "browser_version")
# Grouping by a finer dimension also groups by the one it belongs to: a version
# means little without its SDK or browser, a region without its country.
IMPLIED_GROUPS = {"sdk_version": "sdk_type", "browser_version": "browser", "region": "country"}
SDK_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_COUNTRIES_SDL = (Path(__file__).parent / "schema" / "countries.graphql").read_text()
# Values the output enums can represent; others are reported as OTHER (SDK
# type, browser) or null (country), and filters match them the same way.
KNOWN_VALUES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "sdk_type": (("JS", "IOS", "ANDROID", "WINDOWS"), "OTHER"),
    "browser": (("CHROME", "FIREFOX", "IE", "EDGE", "SAFARI"), "OTHER"),
    "country": (tuple(re.findall(r"\b[A-Z]{2}\b", _COUNTRIES_SDL.split("{", 1)[1])), None),
}


@dataclass(frozen=True)
class ReportQuery:
    project_id: str
    first_day: date | None  # None: from the earliest data kept
    last_day: date
    interval: str | None  # "DAILY" | "WEEKLY" | "MONTHLY" | "HOURLY" | "MINUTE"; None: one bucket for the range
    filters: tuple[tuple[str, tuple[str, ...]], ...]  # (dimension column, allowed values)
    group_by: tuple[str, ...]  # dimension columns, in DIMENSION_ORDER
    endpoint_columns: tuple[str, ...]
    project_columns: tuple[str, ...]
    include_project: bool  # session-level measures apply (no endpoint filter or grouping)
    monthly_before: date  # months before this one are read from the monthly rollups
    offset: int
    limit: int
    # HOURLY / MINUTE: the buckets from the one holding start_ms up to (not including) end_ms
    start_ms: int = 0
    end_ms: int = 0

    @property
    def fine_kind(self) -> str | None:
        """"hour" or "minute" for the HOURLY and MINUTE intervals, else None."""
        return FINE_INTERVALS.get(self.interval or "")

    @property
    def uses_monthly(self) -> bool:
        return self.interval in (None, "MONTHLY") and (self.first_day is None or self.first_day < self.monthly_before)


def report_days(start_ms: int, end_ms: int | None, now_ms: int) -> tuple[date | None, date]:
    """The inclusive LA-day range of a report; 1002 when it is empty.

    An end exactly at an LA midnight (after start) excludes the day it opens,
    so `end: "2020-03-01T08:00:00.000Z"` means "through February"."""
    end = now_ms if end_ms is None else end_ms
    last = la_day(end)
    if end_ms is not None and end > start_ms and day_start_ms(last) == end:
        last -= timedelta(days=1)
    if start_ms == 0:
        return None, last
    first = la_day(start_ms)
    if end < start_ms or first > last:
        raise InsightsError(1002, "Invalid date range: `end` is before `start`.")
    return first, last


def resolve_interval(interval: str | None, first: date | None, last: date) -> str | None:
    """AUTO -> DAILY for ranges up to 31 days, else MONTHLY."""
    if interval != "AUTO":
        return interval
    if first is not None and (last - first).days + 1 <= AUTO_DAILY_MAX_DAYS:
        return "DAILY"
    return "MONTHLY"


def normalize_sdk_versions(values: list[str | None]) -> tuple[str, ...]:
    out = []
    for v in values:
        if v is None:
            continue
        if not SDK_VERSION.fullmatch(v.strip()):
            raise InsightsError(1007, f"Invalid sdkVersion {v!r}: the format required is 0.0.0.")
        out.append(v.strip())
    return tuple(out)


def group_columns(requested: list[str]) -> tuple[str, ...]:
    wanted = set(requested)
    for fine, coarse in IMPLIED_GROUPS.items():
        if fine in wanted:
            wanted.add(coarse)
    return tuple(d for d in DIMENSION_ORDER if d in wanted)


def bucket_end(bucket: date, interval: str | None, last_day: date) -> date:
    """Last day of the bucket, clipped to the report's last day."""
    if interval == "DAILY":
        end = bucket
    elif interval == "WEEKLY":
        end = week_start(bucket) + timedelta(days=6)
    elif interval == "MONTHLY":
        end = (month_start(bucket) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        end = last_day
    return min(end, last_day)
