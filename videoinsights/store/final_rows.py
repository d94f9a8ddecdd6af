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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Horizons:
    """What the purges have made final: the day, hour and minute rows before `day`, and the minute rows before
    `minutes_ms` (epoch ms) too. None: nothing yet."""

    day: date | None = None
    minutes_ms: int | None = None

    @classmethod
    def of_meta(cls, values: Mapping[str, str]) -> Horizons:
        """The horizons stored in `meta` (its FINAL_KEY and FINAL_MINUTES_KEY values, either absent)."""
        day, minutes = values.get(FINAL_KEY), values.get(FINAL_MINUTES_KEY)
        return cls(date.fromisoformat(day) if day else None, int(minutes) if minutes else None)

    def meta(self) -> dict[str, str]:
        """The `meta` values to store (those set)."""
        out = {FINAL_KEY: self.day.isoformat()} if self.day is not None else {}
        if self.minutes_ms is not None:
            out[FINAL_MINUTES_KEY] = str(self.minutes_ms)
        return out

    def after_purge(self, daily_before: date, minutes_before_ms: int | None) -> Horizons:
        """The horizons once a purge with these cutoffs has run: each only moves forward (a purge with a longer
        retention setting must not unfreeze rows)."""
        purged = final_before_of(daily_before)
        day = purged if self.day is None or purged > self.day else self.day
        minutes = self.minutes_ms
        if minutes_before_ms is not None:
            minutes = max(minutes_before_ms, minutes or 0)
        return Horizons(day, minutes)

    @property
    def hour_floor_ms(self) -> int | None:
        """The first hour bucket (epoch ms) whose rows a derivation may touch."""
        return day_start_ms(self.day) if self.day is not None else None

    @property
    def minute_floor_ms(self) -> int | None:
        """The first minute bucket (epoch ms) whose rows a derivation may touch: the later of the two horizons."""
        floors = [f for f in (self.hour_floor_ms, self.minutes_ms) if f is not None]
        return max(floors) if floors else None

    def rows_from_day(self, first_day: date) -> date:
        """The first day whose rows a derivation of a session may touch, from that of its first day row."""
        return first_day if self.day is None or first_day >= self.day else self.day

    def without_final_rows(self, tables: Mapping[str, Sequence[pa.Table]]) -> dict[str, list[pa.Table]]:
        """The derived rows to write, less those of the day, hour and minute tables before the horizons."""
        floors: dict[str, pa.Scalar] = {}
        if self.day is not None:
            floors = {"session_endpoint_days": pa.scalar(self.day, pa.date32()),
                      "session_project_days": pa.scalar(self.day, pa.date32()),
                      "session_endpoint_hours": pa.scalar(self.hour_floor_ms, pa.int64())}
        if self.minute_floor_ms is not None:
            floors["session_endpoint_minutes"] = pa.scalar(self.minute_floor_ms, pa.int64())
        out: dict[str, list[pa.Table]] = {}
        for name, parts in tables.items():
            floor, column = floors.get(name), TIMED_TABLES.get(name)
            out[name] = [p.filter(pc.greater_equal(p[column].cast(floor.type), floor))
                         if floor is not None and column in p.column_names and p.num_rows else p for p in parts]
        return out
