"""Histogram buckets of the Insights Quality type.

A bucket `msN` holds samples in (previous bound, N]; the first bucket starts
at 0 inclusive; the `...Plus` bucket holds everything above the last bound.
The latency of a sample is its video latency, or its audio latency when it
has no video latency.
"""

from __future__ import annotations

import bisect

LATENCY_BOUNDS: tuple[int, ...] = (50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000)
BITRATE_BOUNDS: tuple[int, ...] = (
    100,
    200,
    300,
    400,
    500,
    600,
    700,
    800,
    900,
    1000,
    1200,
    1400,
    1600,
    1800,
    2000,
    2250,
    2500,
    2750,
    3000,
)

LATENCY_FIELDS: tuple[str, ...] = (*(f"ms{b}" for b in LATENCY_BOUNDS), "ms1000Plus")
BITRATE_FIELDS: tuple[str, ...] = (*(f"kbps{b}" for b in BITRATE_BOUNDS), "kbps3000Plus")

# Extension scoreDistribution (docs/quality.md): sessions per score bucket, same (previous bound, N] rule
# on the 1-5 score, the first bucket starting at 1. Field `score1_5` is 1 to 1.5, `score2` above 1.5 to 2, ...
SCORE_BOUNDS: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
SCORE_FIELDS: tuple[str, ...] = tuple("score" + f"{b:g}".replace(".", "_") for b in SCORE_BOUNDS)


def bucket_index(bounds: tuple[int, ...], value: float) -> int:
    """Index of the bucket holding value: (bounds[i-1], bounds[i]], last = above all."""
    return bisect.bisect_left(bounds, value)


# Extension averages of projectData quality (docs/api.md): per side, the sum and the count of the samples that
# report each raw column, so that the mean stays additive across sessions, days and endpoints.
# (column prefix, raw stats column)
STATS_MEANS: tuple[tuple[str, str], ...] = (
    ("jit", "jitter_ms"),
    ("rtt", "round_trip_ms"),
    ("fps", "frame_rate"),
    ("frz", "freeze_count"),
    ("aob", "available_outgoing_bitrate_kbps"),
)
# Publisher samples are also counted by W3C qualityLimitationReason (the vocabulary's choices).
QUALITY_LIMITATION_REASONS: tuple[str, ...] = ("none", "bandwidth", "cpu", "other")
# The additive columns these add to stats_daily and, prefixed by side, to the endpoint measures.
STATS_EXTRA_COLUMNS: tuple[str, ...] = (
    *(f"{prefix}_{part}" for prefix, _ in STATS_MEANS for part in ("sum", "count")),
    *(f"qlr_{reason}" for reason in QUALITY_LIMITATION_REASONS),
)
