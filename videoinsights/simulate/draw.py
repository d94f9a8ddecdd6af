"""Small, fast sampling helpers over a caller-supplied `random.Random`.

Nothing here touches the global RNG: every draw takes the generator to use, so
the simulator is deterministic for a seed.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from random import Random
from typing import Generic, TypeVar

from videoinsights.simulate.config import Dist

T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed weighted choice: `pick(rng)` costs one `rng.random()` and a bisect."""

    __slots__ = ("_cum", "_total", "values")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        pairs = [(v, float(w)) for v, w in pairs if w > 0]
        if not pairs:
            raise ValueError("a mix needs at least one positive weight")
        self.values: tuple[T, ...] = tuple(v for v, _ in pairs)
        cum, total = [], 0.0
        for _, w in pairs:
            total += w
            cum.append(total)
        self._cum = cum
        self._total = total

    def pick(self, rng: Random) -> T:
        i = bisect_right(self._cum, rng.random() * self._total)
        return self.values[min(i, len(self.values) - 1)]


def lognormal(rng: Random, d: Dist) -> float:
    """A draw from the clipped lognormal `d` (see `Dist`)."""
    x = d.median * math.exp(d.sigma * rng.gauss(0.0, 1.0)) if d.sigma > 0 else d.median
    return min(max(x, d.lo), d.hi)


def count(rng: Random, d: Dist) -> int:
    """An integer draw from `d` (rounded, then clipped)."""
    return int(min(max(round(lognormal(rng, d)), d.lo), d.hi))


def uniform_int(rng: Random, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (cheaper than randint)."""
    return lo + int(rng.random() * (hi - lo + 1))


def exp_ms(rng: Random, mean_ms: float) -> int:
    """Exponential delay with the given mean, in whole ms."""
    return int(-mean_ms * math.log(1.0 - rng.random()))
