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

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from videoinsights.derive.endpoints import _ATTEMPT_PREFIX, Dims, DimsOf, media_lives
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
    minutes_ms: dict[tuple[int, Dims], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[tuple[int, Dims], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    dims_of = DimsOf(lt)
    for column, connection_id, start, end in media_lives(lt):
        dims = dims_of.connection(connection_id)
        for bucket, ms in _split(start, end, width):
            minutes_ms[(bucket, dims)][column] += ms

    for ev in events:
        prefix = _ATTEMPT_PREFIX.get(ev["type"])
        if prefix is None:
            continue
        row = counts[(ev["ts"] - ev["ts"] % width, dims_of.attempt(ev))]
        row[f"{prefix}_attempts"] += 1
        if str(ev.get("outcome") or "").lower() == "failure":
            row[f"{prefix}_failures"] += 1

    rows = []
    for bucket, dims in sorted(minutes_ms.keys() | counts.keys(), key=_order):
        values = dict.fromkeys(FINE_MEASURES, 0.0)
        values.update({k: float(v) for k, v in counts.get((bucket, dims), {}).items()})
        values.update({k: ms / MINUTE_MS for k, ms in minutes_ms.get((bucket, dims), {}).items()})
        if any(values.values()):
            rows.append(EndpointBucketRow(project_id, session_id, bucket,
                                          **dict(zip(DIMENSIONS, dims, strict=True)), measures=values))
    return rows


def _order(key: tuple[int, Dims]) -> tuple[int, tuple[tuple[bool, str], ...]]:
    bucket, dims = key
    return bucket, tuple((v is None, v or "") for v in dims)
