"""Sweep-line helpers over half-open [start, end) intervals in epoch ms."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable

MINUTE_MS = 60_000


def max_concurrent(intervals: Iterable[tuple[int, int]]) -> int:
    """Largest number of intervals alive at one instant.

    At equal timestamps ends are processed before starts, so back-to-back
    intervals do not overlap. A zero-length interval (an entity seen at one
    instant only, e.g. a connection whose only event is its create) counts at
    that instant, on top of the positive-length intervals alive then; a
    meeting with one such connection has max concurrency 1, not 0."""
    delta: dict[int, int] = defaultdict(int)
    points: dict[int, int] = defaultdict(int)
    for start, end in intervals:
        if end > start:
            delta[start] += 1
            delta[end] -= 1
        else:
            points[start] += 1
    best = alive = 0
    for ts in sorted(delta.keys() | points.keys()):
        alive += delta.get(ts, 0)  # net change: ends and starts at ts together
        best = max(best, alive + points.get(ts, 0))
    return best


def union(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or touching intervals; zero-length ones survive as points."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def minute_maxima(intervals: Iterable[tuple[int, int]], lo: int, hi: int) -> dict[int, int]:
    """Per epoch minute (floor(ts / 60000)), the max number of intervals alive at once.

    Intervals are clipped to [lo, hi); only positive-length overlaps count, so
    a minute touched by an interval only at its boundary is not counted.
    Minutes with a maximum of 0 are absent."""
    delta: dict[int, int] = defaultdict(int)
    for start, end in intervals:
        start, end = max(start, lo), min(end, hi)
        if end > start:
            delta[start] += 1
            delta[end] -= 1
    result: dict[int, int] = {}
    points = sorted(delta)
    alive = 0
    for seg_start, seg_end in itertools.pairwise(points):
        alive += delta[seg_start]
        if alive <= 0:
            continue
        for minute in range(seg_start // MINUTE_MS, (seg_end - 1) // MINUTE_MS + 1):
            if result.get(minute, 0) < alive:
                result[minute] = alive
    return result
