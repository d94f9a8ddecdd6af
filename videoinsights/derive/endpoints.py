"""Per (LA day, endpoint dimensions) measures of one session.

Attribution:
* published / subscribed minutes: publisher / subscriber lifetimes split at LA
  midnight, on the dims of the publishing / subscribing connection;
* quality (`pub_*` / `sub_*`): stats aggregates on the dims of the stream's
  publishing connection / the subscriber's subscribing connection, on the
  aggregate's own day;
* attempts: on the LA day of the attempt, dims of its connection when that
  connection is known, else the endpoint fields carried by the attempt itself.
An unknown stream, subscriber or connection gives all-None dims. Rows with
the same (day, dims) are merged; rows whose measures are all zero are
omitted. Minutes are summed as integer ms and divided once, so the result
does not depend on summation order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any, TypeVar

from videoinsights.derive.intervals import MINUTE_MS
from videoinsights.derive.lifetimes import Lifetimes
from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES, EndpointDayRow, StatsAggregate
from videoinsights.domain.days import la_day, split_by_day
from videoinsights.domain.quality import BITRATE_FIELDS, LATENCY_FIELDS, STATS_EXTRA_COLUMNS

Dims = tuple[str | None, ...]
_NO_DIMS: Dims = (None,) * len(DIMENSIONS)
T = TypeVar("T")  # a row key's time part: a day (date) or a bucket start (int)
_ATTEMPT_PREFIX = {"connectAttempt": "connect", "publishAttempt": "publish", "subscribeAttempt": "subscribe"}


def _dims(fields: Mapping[str, Any] | None) -> Dims:
    return tuple(fields.get(d) for d in DIMENSIONS) if fields else _NO_DIMS


def _quality_names(side: str) -> tuple[str, ...]:
    """The endpoint columns of one side's stats aggregate, in the order of `_quality_values`."""
    return (*(f"{side}_lat_{b.lower()}" for b in LATENCY_FIELDS), *(f"{side}_br_{b.lower()}" for b in BITRATE_FIELDS),
            f"{side}_samples", f"{side}_lat_sum", f"{side}_lat_count", f"{side}_br_sum", f"{side}_br_count",
            *(f"{side}_{c}" for c in STATS_EXTRA_COLUMNS))


_QUALITY_NAMES = {side: _quality_names(side) for side in ("pub", "sub")}


def _quality_values(agg: StatsAggregate) -> tuple[float, ...]:
    """The aggregate's measures (extras may be fewer than STATS_EXTRA_COLUMNS: the rest are not added)."""
    return (*agg.latency, *agg.bitrate, agg.samples, agg.lat_sum, agg.lat_count, agg.br_sum, agg.br_count, *agg.extras)


def connection_dims(lt: Lifetimes, connection_id: str | None) -> Dims:
    """The endpoint dimensions of a connection (all None when the connection is unknown)."""
    conn = lt.connections.get(connection_id or "")
    return _dims(conn.endpoint if conn else None)


class DimsOf:
    """Endpoint dimensions, computed once per connection: a session has few connections, and many
    stats aggregates, lives and attempts that each ask for theirs."""

    def __init__(self, lt: Lifetimes) -> None:
        self._lt = lt
        self._known: dict[str | None, Dims] = {}

    def connection(self, connection_id: str | None) -> Dims:
        """connection_dims(lt, connection_id)."""
        dims = self._known.get(connection_id)
        if dims is None:
            dims = self._known[connection_id] = connection_dims(self._lt, connection_id)
        return dims

    def attempt(self, event: Mapping[str, Any]) -> Dims:
        """An attempt's dims: its connection's when that connection is known, else the event's own fields."""
        connection_id = event.get("connection_id") or ""
        return self.connection(connection_id) if connection_id in self._lt.connections else _dims(event)


def media_lives(lt: Lifetimes) -> list[tuple[str, str | None, int, int]]:
    """(minutes column, connection id, start, end) of every published stream and subscriber: what the
    day rows here and the hour/minute rows (derive/fine.py) split into their buckets."""
    lives = [("published_minutes", s.connection_id, s.created_at, s.ended_at) for s in lt.streams.values()]
    lives += [("subscribed_minutes", s.connection_id, s.created_at, s.ended_at) for s in lt.subscribers.values()]
    return lives


def endpoint_days(project_id: str, session_id: str, lt: Lifetimes, events: list[dict[str, Any]],
                  stats: list[StatsAggregate]) -> list[EndpointDayRow]:
    """Endpoint day rows from lifetimes, canonical events and canonical stats."""
    minutes_ms: dict[tuple[date, Dims], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    measures: dict[tuple[date, Dims], dict[str, float]] = defaultdict(lambda: defaultdict(float))

    dims_of = DimsOf(lt)
    conn_dims, attempt_dims = dims_of.connection, dims_of.attempt

    for column, connection_id, start, end in media_lives(lt):
        dims = conn_dims(connection_id)
        for day, part_start, part_end in split_by_day(start, end):
            minutes_ms[(day, dims)][column] += part_end - part_start

    for agg in stats:
        if agg.side == "pub":
            stream = lt.streams.get(agg.entity_id)
            dims = conn_dims(stream.connection_id) if stream else _NO_DIMS
        else:
            sub = lt.subscribers.get(agg.entity_id)
            dims = conn_dims(sub.connection_id) if sub else _NO_DIMS
        row = measures[(agg.day, dims)]
        for column, value in zip(_QUALITY_NAMES[agg.side], _quality_values(agg), strict=False):
            row[column] += value

    for ev in events:
        prefix = _ATTEMPT_PREFIX.get(ev["type"])
        if prefix is None:
            continue
        row = measures[(la_day(ev["ts"]), attempt_dims(ev))]
        row[f"{prefix}_attempts"] += 1
        if str(ev.get("outcome") or "").lower() == "failure":
            row[f"{prefix}_failures"] += 1

    rows = []
    for day, dims in in_row_order(minutes_ms.keys() | measures.keys()):
        values = dict.fromkeys(ENDPOINT_MEASURES, 0.0)
        values.update({k: float(v) for k, v in measures.get((day, dims), {}).items()})
        values.update({k: ms / MINUTE_MS for k, ms in minutes_ms.get((day, dims), {}).items()})
        if any(values.values()):
            rows.append(EndpointDayRow(project_id, session_id, day, **dict(zip(DIMENSIONS, dims, strict=True)),
                                       measures=values))
    return rows


def in_row_order(keys: Collection[tuple[T, Dims]]) -> list[tuple[T, Dims]]:
    """(day or bucket, dims) keys sorted by time, then dims (None after every value): the rows' order, the same
    whatever order the keys were found in. Each distinct dims is ranked once (a session has a few), so that the
    sort compares two numbers: a key tuple of the dims per row cost ~40% of a live session's minute rows."""
    ranks = {dims: i for i, dims in enumerate(sorted({dims for _, dims in keys}, key=_dims_order))}
    return sorted(keys, key=lambda key: (key[0], ranks[key[1]]))


def _dims_order(dims: Dims) -> tuple[tuple[bool, str], ...]:
    return tuple((v is None, v or "") for v in dims)

