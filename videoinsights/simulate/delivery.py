"""Imperfect delivery: some events arrive late (out of order) and some twice.

`deliver` transforms the ordered stream deterministically (its RNG is seeded
from the run's seed): each event is, with probability `late_fraction`, held
back and released once the stream has moved `late_delay_s` further on (a
delay of minutes); and, with probability `duplicate_fraction`, emitted a
second time (same id, same content) a little later. Timestamps never change:
a late event is simply delivered after events that happened after it.
Held events are released in (release time, arrival order); whatever is still
held at the end of the stream is flushed in that order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from random import Random

Event = dict[str, object]


def deliver(events: Iterable[Event], seed: int | str = 0, late_fraction: float = 0.0, duplicate_fraction: float = 0.0,
            late_delay_s: tuple[float, float] = (60.0, 900.0),
            duplicate_delay_s: tuple[float, float] = (0.0, 60.0)) -> Iterator[Event]:
    for name, f in (("late_fraction", late_fraction), ("duplicate_fraction", duplicate_fraction)):
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {f}")
    if late_fraction == 0 and duplicate_fraction == 0:
        yield from events
        return
    rng = Random(f"videoinsights-delivery|{seed}")
    r = rng.random
    late_lo, late_span = late_delay_s[0] * 1000, (late_delay_s[1] - late_delay_s[0]) * 1000
    dup_lo, dup_span = duplicate_delay_s[0] * 1000, (duplicate_delay_s[1] - duplicate_delay_s[0]) * 1000
    held: list[tuple[float, int, Event]] = []
    seq = 0
    for ev in events:
        now = ev["timestamp"]
        while held and held[0][0] <= now:  # type: ignore[operator]
            yield heapq.heappop(held)[2]
        if r() < late_fraction:
            heapq.heappush(held, (now + late_lo + late_span * r(), seq, ev))  # type: ignore[operator]
            seq += 1
        else:
            yield ev
        if r() < duplicate_fraction:
            heapq.heappush(held, (now + dup_lo + dup_span * r(), seq, dict(ev)))  # type: ignore[operator]
            seq += 1
    while held:
        yield heapq.heappop(held)[2]
