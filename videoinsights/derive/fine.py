"""Per (hour or minute, endpoint dimensions) measures of one session: the HOURLY and
MINUTE intervals of projectData (docs/derivation.md, "Hour and minute rollups").

Same attribution as the day rows (derive/endpoints.py) for what can be cut finer
than a day: published / subscribed minutes (lifetimes split at bucket edges) and
connect / publish / subscribe attempts and failures (at the attempt's instant).
Buckets are epoch-ms starts of UTC hours and minutes; America/Los_Angeles is a
whole number of hours from UTC, so they are LA hours and minutes too, and every
bucket lies within one LA day. Quality and session-level measures stay daily.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from videoinsights.derive.endpoints import _ATTEMPT_PREFIX, Dims, DimsOf, in_row_order, media_lives
from videoinsights.derive.intervals import MINUTE_MS
from videoinsights.derive.lifetimes import Lifetimes
from videoinsights.derive.model import DIMENSIONS
from videoinsights.domain.days import HOUR_MS

# Additive measures kept per hour and per minute (a subset of ENDPOINT_MEASURES, same names).
FINE_MEASURES: tuple[str, ...] = (
    "published_minutes",
    "subscribed_minutes",
    "connect_attempts",
    "connect_failures",
    "publish_attempts",
    "publish_failures",
    "subscribe_attempts",
    "subscribe_failures",
)
_SLOT = {m: i for i, m in enumerate(FINE_MEASURES)}
# the minutes, summed in ms, come first in FINE_MEASURES; the others are counts (endpoint_buckets relies on it)
assert FINE_MEASURES[:2] == ("published_minutes", "subscribed_minutes")
WIDTHS: dict[str, int] = {"minute": MINUTE_MS, "hour": HOUR_MS}


@dataclass
class EndpointBucketRow:
    """A session's contribution to one hour or minute (`bucket`: its start, epoch ms) for one dims combination."""

    project_id: str
    session_id: str
    bucket: int
    sdk_type: str | None
    sdk_version: str | None
    country: str | None
    region: str | None
    browser: str | None
    browser_version: str | None
    measures: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FINE_MEASURES, 0.0))


# endpoint_buckets passes the dims positionally, in DIMENSIONS' order
assert tuple(f.name for f in fields(EndpointBucketRow))[3:-1] == DIMENSIONS


def _split(start: int, end: int, width: int) -> list[tuple[int, int]]:
    """[(bucket start, ms of [start, end) within it), ...]."""
    parts = []
    cursor = start
    while cursor < end:
        bucket = cursor - cursor % width
        stop = min(end, bucket + width)
        parts.append((bucket, stop - cursor))
        cursor = stop
    return parts


def endpoint_buckets(project_id: str, session_id: str, lt: Lifetimes, events: list[dict[str, Any]],
                     width: int) -> list[EndpointBucketRow]:
    """Rows of `width` ms (MINUTE_MS or HOUR_MS) from lifetimes and canonical events; all-zero rows omitted."""
    # per (bucket, dims): integer ms of the minutes columns and counts of the others, in FINE_MEASURES' order
    sums: dict[tuple[int, Dims], list[int]] = {}

    def row_of(key: tuple[int, Dims]) -> list[int]:
        row = sums.get(key)
        if row is None:
            row = sums[key] = [0] * len(FINE_MEASURES)
        return row

    dims_of = DimsOf(lt)
    for column, connection_id, start, end in media_lives(lt):
        dims, slot = dims_of.connection(connection_id), _SLOT[column]
        for bucket, ms in _split(start, end, width):
            row_of((bucket, dims))[slot] += ms

    for ev in events:
        prefix = _ATTEMPT_PREFIX.get(ev["type"])
        if prefix is None:
            continue
        row = row_of((ev["ts"] - ev["ts"] % width, dims_of.attempt(ev)))
        row[_SLOT[f"{prefix}_attempts"]] += 1
        if str(ev.get("outcome") or "").lower() == "failure":
            row[_SLOT[f"{prefix}_failures"]] += 1

    rows = []
    for key in in_row_order(sums.keys()):
        row = sums[key]
        if any(row):
            values = dict(zip(FINE_MEASURES, (row[0] / MINUTE_MS, row[1] / MINUTE_MS, *map(float, row[2:])),
                              strict=True))
            rows.append(EndpointBucketRow(project_id, session_id, key[0], *key[1], measures=values))
    return rows
