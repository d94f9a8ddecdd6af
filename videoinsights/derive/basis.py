"""What every part of one session's derivation starts from: canonical events and stats, lifetimes and
meeting records. Built once per session and shared by `derive_session` and `derive_quality`, which
each used to rebuild it (a third of a session's pure derivation time, docs/benchmarks.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from videoinsights.derive.canonical import canonical_events, canonical_stats
from videoinsights.derive.lifetimes import Lifetimes, derive_lifetimes
from videoinsights.derive.meetings import MeetingRecord, build_records
from videoinsights.derive.model import StatsAggregate


@dataclass(frozen=True)
class SessionBasis:
    """Read-only inputs of the derivation steps; nothing downstream may change them."""

    events: list[dict[str, Any]]  # canonical order, deduplicated (derive/canonical.py)
    stats: list[StatsAggregate]  # canonical order
    lifetimes: Lifetimes
    records: list[MeetingRecord]


def session_basis(project_id: str, session_id: str, events: list[dict[str, Any]],
                  stats: list[StatsAggregate]) -> SessionBasis:
    """Canonical events and stats -> lifetimes -> meeting records (derive/session.py's first steps)."""
    ordered = canonical_events(events)
    aggregates = canonical_stats(stats)
    lt = derive_lifetimes(ordered, aggregates)
    return SessionBasis(ordered, aggregates, lt, build_records(project_id, session_id, lt))
