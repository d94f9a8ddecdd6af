"""Participant minutes by publisher tier.

For each epoch-aligned wall-clock minute overlapping a meeting record:
P = max connections present at one instant of the minute, S = max publishing
connections (connections with at least one live stream, counted once however
many streams they have) at one instant of the minute. P and S may peak at
different instants. The minute counts when S >= 1 or P >= 2, and adds P to
every tier containing max(S, 1).

Lifetimes are clipped to the record (P uses the record's own connections,
which all lie inside it), so a minute shared by two records (everyone leaves
and someone reconnects within one wall-clock minute) is counted in each
record, with that record's connections only. A stream whose connection is unknown counts
as a publishing connection of its own (keyed by its connection_id, if any).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from videoinsights.derive.intervals import MINUTE_MS, minute_maxima, union
from videoinsights.derive.lifetimes import Lifetimes
from videoinsights.derive.meetings import MeetingRecord
from videoinsights.domain.days import la_day
from videoinsights.domain.tiers import TIERS


def minute_counts(record: MeetingRecord, lt: Lifetimes) -> dict[int, tuple[int, int]]:
    """minute -> (P, S) for every minute of the record where either is non-zero."""
    lo, hi = record.start, record.end
    connections = minute_maxima(((c.created_at, c.ended_at) for c in record.connections), lo, hi)
    by_publisher: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s in lt.streams.values():
        key = f"c:{s.connection_id}" if s.connection_id else f"s:{s.stream_id}"
        by_publisher[key].append((s.created_at, s.ended_at))
    publishing = [iv for ivs in by_publisher.values() for iv in union(ivs)]
    publishers = minute_maxima(publishing, lo, hi)
    return {m: (connections.get(m, 0), publishers.get(m, 0)) for m in sorted(connections.keys() | publishers.keys())}


def tier_minutes(counts: dict[int, tuple[int, int]]) -> dict[date, dict[str, float]]:
    """LA day -> tier column -> participant minutes (only days with counted minutes)."""
    per_day: dict[date, dict[str, float]] = {}
    for minute, (participants, publishers) in counts.items():
        if publishers < 1 and participants < 2:
            continue
        day = per_day.setdefault(la_day(minute * MINUTE_MS), {})
        for tier in TIERS:
            if tier.contains(max(publishers, 1)):
                day[tier.column] = day.get(tier.column, 0.0) + participants
    return per_day
