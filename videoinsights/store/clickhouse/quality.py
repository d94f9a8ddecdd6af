"""Sample quality on ClickHouse: scored in Python at derive time, by the reference (derive/quality.py).

DuckDB scores each sample once when its commit is absorbed and re-derives from score bands in SQL
(store/duckdb/quality.py). ClickHouse has no absorb step (ingest marks sessions dirty as it commits), so
replace_derived() reads the sessions' raw samples and runs derive_quality over them: the same rows as
DuckDB's SQL (tests/query/test_backends_equal.py), at a higher derive cost. A known gap
(docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from videoinsights.derive.inputs import events_by_session, stats_by_session
from videoinsights.derive.model import DIMENSIONS, QualityIssueRow, QualityScoreRow
from videoinsights.derive.quality import SAMPLE_CHECKS, QualityThresholds, derive_quality
from videoinsights.store.base import SessionKey

log = logging.getLogger(__name__)

# The raw sample columns the reference reads.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "event_id", "type", "ts", "stream_id", "subscriber_id", "audio_latency_ms", "video_latency_ms",
    "round_trip_ms", "jitter_ms", "audio_packet_loss", "video_packet_loss", "audio_bitrate_kbps",
    "video_bitrate_kbps", "video_resolution", "frame_rate", "freeze_count", "quality_limitation_reason",
)


def _sample_part(column: str) -> bool:
    """Endpoint-day measures that come from samples (the engine already added the lifecycle issues' counts)."""
    return not column.startswith("issues_") or column.removeprefix("issues_") in SAMPLE_CHECKS


def _rows(rows: Sequence[QualityScoreRow] | Sequence[QualityIssueRow]) -> pa.Table | None:
    if not rows:
        return None
    names = list(vars(rows[0]))
    return pa.table({n: [getattr(r, n) for r in rows] for n in names})


def add_sample_quality(keys: Sequence[SessionKey], tables: Mapping[str, Sequence[pa.Table]],
                       endpoint_days: pa.Table | None, endpoint_schema: pa.Schema, events: pa.Table,
                       stats: pa.Table, samples: pa.Table, t: QualityThresholds) -> dict[str, list[pa.Table]]:
    """`tables` with the sample scores, sample issues and their endpoint-day measures of the derived sessions
    among `keys` added. endpoint_days: the batch's session_endpoint_days rows already cast to endpoint_schema
    (they replace tables' own parts of that table)."""
    derived = sorted({(p, s) for part in tables.get("sessions", ()) for p, s in
                      zip(part.column("project_id").to_pylist(), part.column("session_id").to_pylist(),
                          strict=True)})
    out: dict[str, list[pa.Table]] = {name: list(parts) for name, parts in tables.items()}
    if not derived:
        return out
    by_session = events_by_session(events, derived)
    aggregates = stats_by_session(stats, derived)
    raw: dict[SessionKey, list[dict[str, Any]]] = defaultdict(list)
    for row in samples.to_pylist():
        raw[(row["project_id"], row["session_id"])].append(row)
    scores: list[QualityScoreRow] = []
    issues: list[QualityIssueRow] = []
    parts: dict[tuple[Any, ...], float] = defaultdict(float)
    for key in derived:
        try:
            q = derive_quality(key[0], key[1], by_session[key], aggregates[key], raw[key], t)
        except Exception:  # the session's other rows still count (as in derive/engine.py)
            log.exception("scoring session %s of project %s failed", key[1], key[0])
            continue
        scores += q.scores
        issues += [i for i in q.issues if i.issue_type in SAMPLE_CHECKS]
        for day, dims, column, value in q.endpoint_parts:
            if _sample_part(column):
                parts[(*key, day, dims, column)] += value
    for name, rows in (("quality_scores", scores), ("quality_issues", issues)):
        table = _rows(rows)
        if table is not None:
            out.setdefault(name, []).append(table)
    if parts:
        out["session_endpoint_days"] = [_with_parts(endpoint_days, endpoint_schema, parts)]
    return out


def _with_parts(endpoint_days: pa.Table | None, schema: pa.Schema,
                parts: Mapping[tuple[Any, ...], float]) -> pa.Table:
    """The endpoint-day rows with the quality measures added (a new row where none has the day and dims)."""
    rows = [] if endpoint_days is None else endpoint_days.to_pylist()
    index = {(r["project_id"], r["session_id"], r["day"], tuple(r[d] for d in DIMENSIONS)): r for r in rows}
    measures = [n for n in schema.names if n not in ("project_id", "session_id", "day", *DIMENSIONS)]
    for (project_id, session_id, day, dims, column), value in parts.items():
        row = index.get((project_id, session_id, day, dims))
        if row is None:
            row = {"project_id": project_id, "session_id": session_id, "day": day,
                   **dict(zip(DIMENSIONS, dims, strict=True)), **dict.fromkeys(measures, 0)}
            rows.append(row)
            index[(project_id, session_id, day, dims)] = row
        row[column] = (row[column] or 0) + value
    ints = [f.name for f in schema if pa.types.is_integer(f.type) and f.name in measures]
    for row in rows:
        row.update({n: int(row[n]) for n in ints if row[n] is not None})
    return pa.Table.from_pylist(rows, schema=schema)
