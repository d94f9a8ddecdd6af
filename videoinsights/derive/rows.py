"""Derived rows as columnar tables, one per derived session table: what a derive cycle hands the store.

Built where the derivation ran (a worker process, by default), so the store's process only inserts
them; Arrow tables cross process boundaries as buffers. Column names are the dataclass field names
(derive/model.py), tiers and measures spread into one column each, as the store's tables have them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter, itemgetter
from typing import Any

import pyarrow as pa

from videoinsights.derive.fine import FINE_MEASURES
from videoinsights.derive.model import (
    DIMENSIONS,
    ENDPOINT_MEASURES,
    PROJECT_MEASURES,
    ConnectionRow,
    MeetingRow,
    PublisherRow,
    QualityIssueRow,
    QualityScoreRow,
    SessionDerivation,
    SubscriberRow,
)
from videoinsights.domain.tiers import TIER_COLUMNS


def derivation_tables(derivations: Sequence[SessionDerivation]) -> dict[str, pa.Table]:
    """The rows of every derived session table (empty ones left out), columns named as in the store."""
    out: dict[str, pa.Table] = {}

    def add(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if rows:
            out[table] = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})

    session_cols = [
        "project_id",
        "session_id",
        "media_mode",
        "created_at",
        "last_seen_at",
        "meeting_count",
        "publisher_minutes",
        "subscriber_minutes",
        *TIER_COLUMNS,
    ]
    sessions = [
        (
            s.project_id,
            s.session_id,
            s.media_mode,
            s.created_at,
            s.last_seen_at,
            s.meeting_count,
            s.publisher_minutes,
            s.subscriber_minutes,
            *(s.tiers[c] for c in TIER_COLUMNS),
        )
        for s in (d.session for d in derivations)
    ]
    add("sessions", session_cols, sessions)
    meeting_fields = [f.name for f in fields(MeetingRow) if f.name != "tiers"]
    meetings = [
        (*(getattr(m, n) for n in meeting_fields), *(m.tiers[c] for c in TIER_COLUMNS))
        for d in derivations
        for m in d.meetings
    ]
    add("meetings", [*meeting_fields, *TIER_COLUMNS], meetings)
    for table, cls, attr in (
        ("connections", ConnectionRow, "connections"),
        ("publishers", PublisherRow, "publishers"),
        ("subscribers", SubscriberRow, "subscribers"),
    ):
        names = [f.name for f in fields(cls)]
        values = attrgetter(*names)  # (one C call per row: a generator per row cost as much as the rows' work)
        rows = [values(r) for d in derivations for r in getattr(d, attr)]
        add(table, names, rows)
    # quality scores and issues (derive/quality.py), when the engine scored the sessions
    for table, cls, attr in (("quality_scores", QualityScoreRow, "scores"),
                             ("quality_issues", QualityIssueRow, "issues")):
        names = [f.name for f in fields(cls)]
        rows = [tuple(getattr(r, n) for n in names) for d in derivations if d.quality for r in getattr(d.quality, attr)]
        add(table, names, rows)
    endpoint_cols = ["project_id", "session_id", "day", *DIMENSIONS, *ENDPOINT_MEASURES]
    dims = attrgetter(*DIMENSIONS)
    key, measures = attrgetter("project_id", "session_id", "day"), itemgetter(*ENDPOINT_MEASURES)
    endpoint = [(*key(r), *dims(r), *measures(r.measures)) for d in derivations for r in d.endpoint_days]
    add("session_endpoint_days", endpoint_cols, endpoint)
    project_cols = ["project_id", "session_id", "day", *PROJECT_MEASURES]
    project = [
        (r.project_id, r.session_id, r.day, *(r.measures[m] for m in PROJECT_MEASURES))
        for d in derivations
        for r in d.project_days
    ]
    add("session_project_days", project_cols, project)
    fine_cols = ["project_id", "session_id", "bucket", *DIMENSIONS, *FINE_MEASURES]
    key, fine_measures = attrgetter("project_id", "session_id", "bucket"), itemgetter(*FINE_MEASURES)
    for kind in ("hour", "minute"):  # HOURLY and MINUTE contributions (derive/fine.py)
        fine = [(*key(r), *dims(r), *fine_measures(r.measures)) for d in derivations
                for r in getattr(d, f"endpoint_{kind}s")]
        add(f"session_endpoint_{kind}s", fine_cols, fine)
    return out
