"""When sessions start: diurnal and weekly cycles in each session's local time.

For each simulated day, `round(N * max_diurnal * max_weekly)` candidate starts
are drawn (country and region from the country mix, a uniform instant in the
day); each is kept with probability `diurnal(local hour) * weekly(local
weekday) / (max_diurnal * max_weekly)`, with both profiles normalised to mean
1. A day therefore holds on average `N * weekly(weekday)` sessions, and a week
`7 * N`: `--sessions-per-day` is the mean over a week.

Plans come out one day at a time, sorted by start, so the generator never holds
more than a day of plans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from random import Random

from videoinsights.simulate.config import Country, Region, Schedule, Shape, SimConfig
from videoinsights.simulate.draw import Weighted

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class SessionPlan:
    ordinal: int  # position in the run (unique), also the merge tie-breaker
    start: int  # epoch ms of the first join
    country: Country
    region: Region
    shape: Shape
    seed: int  # seeds the session's own RNG
    window_end: int  # nothing of the session may happen at or after this


def _normalised(values: tuple[float, ...], n: int) -> tuple[float, ...]:
    if len(values) != n or min(values) < 0 or sum(values) <= 0:
        raise ValueError(f"expected {n} non-negative weights")
    mean = sum(values) / n
    return tuple(v / mean for v in values)


def local_hour_weekday(ts_ms: int, utc_offset_h: float) -> tuple[int, int]:
    """(hour 0..23, weekday Monday=0) of ts_ms at a fixed UTC offset."""
    local = ts_ms + int(utc_offset_h * HOUR_MS)
    days = local // DAY_MS
    return (local % DAY_MS) // HOUR_MS, (days + 3) % 7  # 1970-01-01 was a Thursday


def intensity(schedule: Schedule) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return _normalised(schedule.diurnal, 24), _normalised(schedule.weekly, 7)


def plans(start_ms: int, days: int, sessions_per_day: float, seed: int | str,
          config: SimConfig) -> Iterator[SessionPlan]:
    """Session plans of the whole window, in start order (ties by ordinal)."""
    diurnal, weekly = intensity(config.schedule)
    top = max(diurnal) * max(weekly)
    proposals = round(sessions_per_day * top)
    countries = Weighted([(c, c.weight) for c in config.countries])
    regions = {c.code: Weighted([(r, r.weight) for r in c.regions]) for c in config.countries}
    shapes = Weighted([(s, s.weight) for s in config.shapes])
    window_end = start_ms + days * DAY_MS
    master = Random(f"videoinsights-simulate|{seed}")
    ordinal = 0
    for day in range(days):
        rng = Random(master.getrandbits(64))
        day_start = start_ms + day * DAY_MS
        starts: list[tuple[int, Country, Region]] = []
        for _ in range(proposals):
            country = countries.pick(rng)
            region = regions[country.code].pick(rng)
            ts = day_start + int(rng.random() * DAY_MS)
            hour, weekday = local_hour_weekday(ts, region.utc_offset)
            if rng.random() * top < diurnal[hour] * weekly[weekday]:
                starts.append((ts, country, region))
        # Session attributes are drawn in proposal order, then sorted: stable for a seed.
        day_plans = [(ts, c, r, shapes.pick(rng), rng.getrandbits(64)) for ts, c, r in starts]
        day_plans.sort(key=lambda p: p[0])
        for ts, c, r, shape, sseed in day_plans:
            yield SessionPlan(ordinal, ts, c, r, shape, sseed, window_end)
            ordinal += 1
