"""Derive everything about one session from its raw events and stats aggregates.

`derive_session` is pure and deterministic: the same set of events, in any
order and with any duplication, gives an identical `SessionDerivation`.
It reads as its steps: canonical order -> lifetimes -> meeting records ->
per-record measures -> day rows -> the session row. The rules of each step
are in the docstring of its module.

Session-level choices:
* media_mode: from the earliest sessionCreated that carries one, else "routed".
* created_at: the first meeting record's start; without any record, the
  first event (or stats) timestamp. last_seen_at: the latest event ts or
  stats last_ts. With no events and no stats both are 0.
* meeting_count: the number of meeting records (rows), not of distinct ids.
* Project day rows carry tier and add-on minutes; days whose measures are all
  zero are omitted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from videoinsights.derive.addons import addon_minutes
from videoinsights.derive.canonical import canonical_events, canonical_stats
from videoinsights.derive.endpoints import endpoint_days
from videoinsights.derive.fine import WIDTHS, endpoint_buckets
from videoinsights.derive.intervals import MINUTE_MS, max_concurrent
from videoinsights.derive.lifetimes import (
    ENDPOINT_COLUMNS,
    ConnectionLife,
    StreamLife,
    SubscriberLife,
    derive_lifetimes,
)
from videoinsights.derive.meetings import MeetingRecord, build_records
from videoinsights.derive.model import (
    PROJECT_MEASURES,
    ConnectionRow,
    MeetingRow,
    ProjectDayRow,
    PublisherRow,
    SessionDerivation,
    SessionRow,
    StatsAggregate,
    SubscriberRow,
)
from videoinsights.derive.participants import minute_counts, tier_minutes
from videoinsights.derive.quality import QualityThresholds, add_endpoint_parts, session_quality
from videoinsights.domain.tiers import TIER_COLUMNS

log = logging.getLogger(__name__)


def derive_session(project_id: str, session_id: str, events: list[dict[str, Any]],
                   stats: list[StatsAggregate], quality: QualityThresholds | None = None) -> SessionDerivation:
    """All derived rows of one session (see the module docstring). With `quality`, its lifecycle issues too
    (derive/quality.py; the store scores the samples), from the lifetimes built here."""
    ordered = canonical_events(events)
    aggregates = canonical_stats(stats)
    lt = derive_lifetimes(ordered, aggregates)
    records = build_records(project_id, session_id, lt)
    first_ts, last_ts = _time_span(ordered, aggregates)

    project_days: dict[date, dict[str, float]] = {}
    meetings: list[MeetingRow] = []
    for record in records:
        per_day = tier_minutes(minute_counts(record, lt))
        meetings.append(_meeting_row(project_id, session_id, record, per_day))
        _add(project_days, per_day)
    _add(project_days, addon_minutes(ordered, last_ts))

    session = SessionRow(
        project_id=project_id,
        session_id=session_id,
        media_mode=_media_mode(ordered),
        created_at=records[0].start if records else first_ts,
        last_seen_at=last_ts,
        meeting_count=len(records),
        publisher_minutes=_minutes(lt.streams.values()),
        subscriber_minutes=_minutes(lt.subscribers.values()),
        tiers={col: sum(m.tiers[col] for m in meetings) for col in TIER_COLUMNS},
    )
    derivation = SessionDerivation(
        session=session,
        meetings=meetings,
        connections=[_connection_row(project_id, session_id, r.index, c) for r in records for c in r.connections],
        publishers=[_publisher_row(project_id, session_id, r.index, s) for r in records for s in r.streams],
        subscribers=[_subscriber_row(project_id, session_id, r.index, s) for r in records for s in r.subscribers],
        endpoint_days=endpoint_days(project_id, session_id, lt, ordered, aggregates),
        project_days=_project_day_rows(project_id, session_id, project_days),
        endpoint_hours=endpoint_buckets(project_id, session_id, lt, ordered, WIDTHS["hour"]),
        endpoint_minutes=endpoint_buckets(project_id, session_id, lt, ordered, WIDTHS["minute"]),
    )
    if quality is not None:
        try:
            derivation.quality = session_quality(project_id, session_id, ordered, lt, records, [], quality)
            add_endpoint_parts(derivation.endpoint_days, derivation.quality, project_id, session_id)
        except Exception:  # the session's other rows still count
            log.exception("scoring session %s of project %s failed", session_id, project_id)
    return derivation


class _Life(Protocol):
    created_at: int
    ended_at: int


def _minutes(lives: Iterable[_Life]) -> float:
    """Total lifetime in minutes, summed as integer ms for an order-free result."""
    return sum(life.ended_at - life.created_at for life in lives) / MINUTE_MS


def _time_span(events: list[dict[str, Any]], stats: list[StatsAggregate]) -> tuple[int, int]:
    firsts = [ev["ts"] for ev in events] + [a.first_ts for a in stats]
    lasts = [ev["ts"] for ev in events] + [a.last_ts for a in stats]
    return (min(firsts), max(lasts)) if firsts else (0, 0)


def _media_mode(events: list[dict[str, Any]]) -> str:
    for ev in events:
        if ev["type"] == "sessionCreated" and ev.get("media_mode"):
            return str(ev["media_mode"]).lower()
    return "routed"


def _add(total: dict[date, dict[str, float]], part: dict[date, dict[str, float]]) -> None:
    for day, measures in part.items():
        row = total.setdefault(day, {})
        for column, value in measures.items():
            row[column] = row.get(column, 0.0) + value


def _project_day_rows(project_id: str, session_id: str,
                      per_day: dict[date, dict[str, float]]) -> list[ProjectDayRow]:
    rows = []
    for day in sorted(per_day):
        measures = dict.fromkeys(PROJECT_MEASURES, 0.0) | per_day[day]
        if any(measures.values()):
            rows.append(ProjectDayRow(project_id, session_id, day, measures=measures))
    return rows


def _meeting_row(project_id: str, session_id: str, record: MeetingRecord,
                 tiers_per_day: dict[date, dict[str, float]]) -> MeetingRow:
    tiers = dict.fromkeys(TIER_COLUMNS, 0.0)
    for day in sorted(tiers_per_day):
        for column, value in tiers_per_day[day].items():
            tiers[column] += value
    return MeetingRow(
        project_id=project_id,
        session_id=session_id,
        meeting_index=record.index,
        meeting_id=record.meeting_id,
        created_at=record.start,
        destroyed_at=record.destroyed_at,
        publisher_minutes=_minutes(record.streams),
        subscriber_minutes=_minutes(record.subscribers),
        max_concurrent_connections=max_concurrent((c.created_at, c.ended_at) for c in record.connections),
        max_concurrent_streams=max_concurrent((s.created_at, s.ended_at) for s in record.streams),
        max_concurrent_subscribers=max_concurrent((s.created_at, s.ended_at) for s in record.subscribers),
        total_connections=len(record.connections),
        total_streams=len(record.streams),
        total_subscribers=len(record.subscribers),
        tiers=tiers,
    )


def _connection_row(project_id: str, session_id: str, meeting_index: int, c: ConnectionLife) -> ConnectionRow:
    return ConnectionRow(
        project_id=project_id,
        session_id=session_id,
        meeting_index=meeting_index,
        connection_id=c.connection_id,
        created_at=c.created_at,
        destroyed_at=c.destroyed_at,
        ended_at=c.ended_at,
        reason=c.reason,
        **{col: c.endpoint.get(col) for col in ENDPOINT_COLUMNS},
    )


def _publisher_row(project_id: str, session_id: str, meeting_index: int, s: StreamLife) -> PublisherRow:
    return PublisherRow(
        project_id=project_id,
        session_id=session_id,
        meeting_index=meeting_index,
        stream_id=s.stream_id,
        connection_id=s.connection_id,
        created_at=s.created_at,
        destroyed_at=s.destroyed_at,
        ended_at=s.ended_at,
        minutes=(s.ended_at - s.created_at) / MINUTE_MS,
        video_type=s.attrs.get("video_type"),
        has_audio=s.attrs.get("has_audio"),
        has_video=s.attrs.get("has_video"),
        name=s.attrs.get("name"),
        reason=s.reason,
    )


def _subscriber_row(project_id: str, session_id: str, meeting_index: int, s: SubscriberLife) -> SubscriberRow:
    return SubscriberRow(
        project_id=project_id,
        session_id=session_id,
        meeting_index=meeting_index,
        subscriber_id=s.subscriber_id,
        stream_id=s.stream_id,
        connection_id=s.connection_id,
        created_at=s.created_at,
        destroyed_at=s.destroyed_at,
        ended_at=s.ended_at,
        minutes=(s.ended_at - s.created_at) / MINUTE_MS,
    )
