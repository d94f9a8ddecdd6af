"""Late and duplicate delivery: fractions as configured, nothing lost, deterministic."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from videoinsights.simulate import deliver


def stream(n: int = 20_000, step_ms: int = 200) -> list[dict]:
    return [{"id": f"e{i}", "type": "sessionDestroyed", "sessionId": "s", "timestamp": 1_000_000 + i * step_ms}
            for i in range(n)]


def within(observed: int, n: int, p: float) -> bool:
    return abs(observed / n - p) <= 4 * math.sqrt(p * (1 - p) / n) + 0.002


def test_fractions_match_and_nothing_is_lost():
    original = stream()
    out = list(deliver(original, seed=1, late_fraction=0.1, duplicate_fraction=0.05))
    counts = Counter(ev["id"] for ev in out)
    assert set(counts) == {ev["id"] for ev in original}
    assert within(sum(1 for c in counts.values() if c == 2), len(original), 0.05)
    assert max(counts.values()) <= 2
    # late: delivered after an event that happened more than a minute after it
    position = {}
    for i, ev in enumerate(out):
        position.setdefault(ev["id"], i)
    late = newest = 0
    for i, ev in enumerate(out):
        if i == position[ev["id"]] and ev["timestamp"] < newest - 60_000:
            late += 1
        newest = max(newest, ev["timestamp"])
    assert within(late, len(original), 0.1)


def test_duplicates_are_identical_copies():
    out = list(deliver(stream(2_000), seed=2, duplicate_fraction=0.2))
    seen: dict[str, dict] = {}
    for ev in out:
        if ev["id"] in seen:
            assert ev == seen[ev["id"]] and ev is not seen[ev["id"]]
        seen[ev["id"]] = ev


def test_timestamps_are_untouched_and_order_is_deterministic():
    a = list(deliver(stream(5_000), seed=3, late_fraction=0.2, duplicate_fraction=0.1))
    b = list(deliver(stream(5_000), seed=3, late_fraction=0.2, duplicate_fraction=0.1))
    c = list(deliver(stream(5_000), seed=4, late_fraction=0.2, duplicate_fraction=0.1))
    assert a == b and a != c
    assert sorted({ev["timestamp"] for ev in a}) == [ev["timestamp"] for ev in stream(5_000)]
    assert [ev["timestamp"] for ev in a] != sorted(ev["timestamp"] for ev in a)


def test_zero_fractions_pass_through():
    original = stream(100)
    assert list(deliver(original, seed=1)) == original


def test_bad_fractions_are_refused():
    with pytest.raises(ValueError):
        list(deliver(stream(1), late_fraction=1.5))
