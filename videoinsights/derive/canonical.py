"""Canonical event order: the first step of derivation.

Events reach the deriver in whatever order the store returns them, and
at-least-once delivery means the same event_id can appear several times
(possibly with a different received_at). Everything downstream iterates the
output of `canonical_events`, so the result of a derivation cannot depend on
input order or duplication.

Order: (ts, type rank, event_id). The rank puts, at equal timestamps, the
session before connections, connections before streams before subscribers,
starts before stops, and destroys innermost-first, as a client would have
emitted them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from videoinsights.derive.model import StatsAggregate

_RANK_ORDER = (
    "sessionCreated",
    "connectAttempt",
    "connectionCreated",
    "publishAttempt",
    "streamCreated",
    "subscribeAttempt",
    "subscriberCreated",
    "archiveStarted",
    "broadcastStarted",
    "sipCallStarted",
    "experienceComposerStarted",
    "publisherStats",
    "subscriberStats",
    "archiveStopped",
    "broadcastStopped",
    "sipCallStopped",
    "experienceComposerStopped",
    "subscriberDestroyed",
    "streamDestroyed",
    "connectionDestroyed",
    "sessionDestroyed",
)
TYPE_RANK: dict[str, int] = {name: rank for rank, name in enumerate(_RANK_ORDER)}
_UNKNOWN_RANK = len(_RANK_ORDER)


def _content_key(event: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    # A total order on whole events, used only to pick one copy of a duplicated event_id.
    return tuple(sorted((str(k), repr(v)) for k, v in event.items()))


def sort_key(event: dict[str, Any]) -> tuple[int, int, str]:
    """(ts, type rank, event_id): the explicit tie-breaking of the whole package."""
    return (event["ts"], TYPE_RANK.get(event["type"], _UNKNOWN_RANK), str(event.get("event_id") or ""))


def canonical_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deduplicate by event_id and sort by `sort_key`.

    When copies of one event_id differ (e.g. only in received_at), the copy
    with the smallest content key wins, so the choice never depends on input
    order. Events without an event_id are deduplicated by content."""
    chosen: dict[Any, dict[str, Any]] = {}
    for event in events:
        key = event.get("event_id")
        if key is None:
            key = ("content", _content_key(event))
        kept = chosen.get(key)
        if kept is None or _content_key(event) < _content_key(kept):
            chosen[key] = event
    # Only events without an event_id can tie on sort_key; their content breaks the tie.
    return sorted(chosen.values(), key=lambda e: (*sort_key(e), () if e.get("event_id") else _content_key(e)))


def canonical_stats(stats: Iterable[StatsAggregate]) -> list[StatsAggregate]:
    """Stats in a fixed order, so that float sums over them are reproducible."""
    return sorted(
        stats,
        key=lambda a: (a.side, a.entity_id, a.day, a.first_ts, a.last_ts, a.samples, a.latency, a.bitrate,
                       a.lat_sum, a.lat_count, a.br_sum, a.br_count, a.extras),
    )
