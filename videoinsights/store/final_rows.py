"""Derived rows of months the retention purge has reached are final: no derivation deletes or writes them.

The purge deletes day and hour rows past `daily_retention_days` but the monthly rollups keep their months. A session
whose raw events are all kept (one with an event in the raw window: docs/derivation.md, Retention) can be derived
again later; writing its rows of those days again made the monthly rollups count it twice (ClickHouse's feeds add
what is inserted) or lose the other sessions' purged days (DuckDB re-aggregates a touched month from the days left).
So each purge records the first day of the month after the last month it deleted a day of (`FINAL_KEY` in `meta`),
and both stores leave the day, hour and minute rows before it as they are, in a derive step and in a rebuild. The
minute rows the purge deleted (`minute_retention_hours`) are not written again either (`FINAL_MINUTES_KEY`): the
minute rollups of those minutes would hold that session alone until the next purge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.domain.days import day_start_ms

FINAL_KEY = "final_before"
FINAL_MINUTES_KEY = "final_minutes_before"
# The derived tables of days, hours and minutes, and the column that places a row in time.
TIMED_TABLES = {"session_endpoint_days": "day", "session_project_days": "day",
                "session_endpoint_hours": "bucket", "session_endpoint_minutes": "bucket"}


def final_before_of(daily_before: date) -> date:
    """The horizon a purge of the days before `daily_before` sets: the first day of the month after the last
    month it deleted a day of (a month is final once one of its days is gone)."""
    last_purged = daily_before - timedelta(days=1)
    return (last_purged.replace(day=1) + timedelta(days=32)).replace(day=1)


def next_horizons(day: date | None, minutes: int | None, daily_before: date,
                  minutes_before_ms: int | None) -> tuple[date, int | None]:
    """The horizons (FINAL_KEY, FINAL_MINUTES_KEY) after a purge with these cutoffs, from those stored before: each
    only moves forward (a purge with a longer retention setting must not unfreeze rows)."""
    purged = final_before_of(daily_before)
    day = purged if day is None or purged > day else day
    if minutes_before_ms is not None:
        minutes = max(minutes_before_ms, minutes or 0)
    return day, minutes


def minute_floor(final_before: date | None, minutes_before_ms: int | None) -> int | None:
    """The first minute (epoch ms) whose rows a derivation may write: the later of the two horizons."""
    floors = [f for f in (day_start_ms(final_before) if final_before else None, minutes_before_ms) if f is not None]
    return max(floors) if floors else None


def without_final_rows(tables: Mapping[str, Sequence[pa.Table]], final_before: date | None,
                       minutes_before_ms: int | None = None) -> dict[str, list[pa.Table]]:
    """The derived rows to write, less those of the day, hour and minute tables before `final_before`, and those
    of the minute table before `minutes_before_ms`."""
    floors: dict[str, pa.Scalar] = {}
    if final_before is not None:
        floors = {"session_endpoint_days": pa.scalar(final_before, pa.date32()),
                  "session_project_days": pa.scalar(final_before, pa.date32()),
                  "session_endpoint_hours": pa.scalar(day_start_ms(final_before), pa.int64())}
    minutes = minute_floor(final_before, minutes_before_ms)
    if minutes is not None:
        floors["session_endpoint_minutes"] = pa.scalar(minutes, pa.int64())
    out: dict[str, list[pa.Table]] = {}
    for name, parts in tables.items():
        floor, column = floors.get(name), TIMED_TABLES.get(name)
        out[name] = [p.filter(pc.greater_equal(p[column].cast(floor.type), floor))
                     if floor is not None and column in p.column_names and p.num_rows else p for p in parts]
    return out
