"""Session starts follow the configured diurnal and weekly cycles in local time, and the shape mix."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest

from tests.simulate.conftest import START_MS
from videoinsights.simulate import DEFAULT_CONFIG
from videoinsights.simulate.config import Schedule
from videoinsights.simulate.schedule import local_hour_weekday, plans

DAYS, PER_DAY = 28, 150  # four whole weeks


@pytest.fixture(scope="module")
def month() -> list:
    return list(plans(START_MS, DAYS, PER_DAY, 5, DEFAULT_CONFIG))


def close(observed: float, expected: float, n: int, sigmas: float = 4.0) -> bool:
    return abs(observed - expected) <= sigmas * math.sqrt(expected * (1 - expected) / n) + 0.005


def test_sessions_per_day_is_the_weekly_mean(month):
    assert abs(len(month) - DAYS * PER_DAY) <= 4 * math.sqrt(DAYS * PER_DAY)
    starts = [p.start for p in month]
    assert starts == sorted(starts)
    assert [p.ordinal for p in month] == list(range(len(month)))


def test_local_weekday_follows_the_weekly_cycle(month):
    weekly = DEFAULT_CONFIG.schedule.weekly
    days = Counter(local_hour_weekday(p.start, p.region.utc_offset)[1] for p in month)
    for d in range(7):
        assert close(days[d] / len(month), weekly[d] / sum(weekly), len(month)), d
    assert days[1] > 1.5 * days[6]  # Tuesdays are busier than Sundays


def test_local_hour_follows_the_diurnal_cycle(month):
    diurnal = DEFAULT_CONFIG.schedule.diurnal
    hours = Counter(local_hour_weekday(p.start, p.region.utc_offset)[0] for p in month)
    business = sum(hours[h] for h in range(9, 17)) / len(month)
    assert close(business, sum(diurnal[9:17]) / sum(diurnal), len(month))
    night = sum(hours[h] for h in range(0, 5)) / len(month)
    assert close(night, sum(diurnal[0:5]) / sum(diurnal), len(month))


def test_shape_mix(month):
    shapes = Counter(p.shape.name for p in month)
    total = sum(s.weight for s in DEFAULT_CONFIG.shapes)
    for s in DEFAULT_CONFIG.shapes:
        assert close(shapes[s.name] / len(month), s.weight / total, len(month)), s.name


def test_flat_cycles_spread_starts_evenly():
    flat = replace(DEFAULT_CONFIG, schedule=Schedule(weekly=(1.0,) * 7, diurnal=(1.0,) * 24))
    got = list(plans(START_MS, 7, 200, 1, flat))
    assert len(got) == 7 * 200  # every candidate is kept
    hours = Counter((p.start - START_MS) // 3_600_000 % 24 for p in got)
    assert max(hours.values()) < 2 * min(hours.values())


def test_bad_cycles_are_refused():
    with pytest.raises(ValueError):
        list(plans(START_MS, 1, 10, 1, replace(DEFAULT_CONFIG, schedule=Schedule(weekly=(1.0,) * 6))))
