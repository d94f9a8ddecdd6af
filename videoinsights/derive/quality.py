"""Quality of one session: scores rolled up per level and issues with their evidence.

Pure and deterministic like derive/session.py: the same events and stats
samples, in any order, give the same rows. Formulas, thresholds and their
sources: docs/quality.md.

This is the reference implementation. The server runs only its lifecycle
issues (`session_quality` without samples, from derive_session, on the
lifetimes it already built); the store scores the samples and finds the sample issues in SQL (store/duckdb/quality.py),
and tests/store/test_quality_sql.py checks that both give the same rows.

* Every stats sample gets a score (domain/scoring.py) and a weight: the time
  since the previous sample of the same stream/subscriber, at most 30 s (the
  first sample weighs 30 s). It covers [ts - weight, ts].
* Levels: a stream scores its publisher samples and those of its subscribers;
  a subscriber its own; a connection (participant) those of its streams and
  its subscribers; a meeting record and the session all of theirs. Each gets
  the time-weighted mean and the time-weighted 10th percentile.
* Sample issues: consecutive offending samples of one stream (publisher side)
  or subscriber, no more than 60 s apart, make a window; windows of at least
  `min_samples` samples are issues, from the first sample's start to the last
  sample's ts, with the worst value as evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from videoinsights.derive.canonical import canonical_events, canonical_stats
from videoinsights.derive.lifetimes import Lifetimes, derive_lifetimes
from videoinsights.derive.meetings import MeetingRecord, build_records
from videoinsights.derive.model import (
    DIMENSIONS,
    EndpointDayRow,
    QualityDerivation,
    QualityIssueRow,
    QualityScoreRow,
    StatsAggregate,
)
from videoinsights.domain.days import la_day
from videoinsights.domain.scoring import SAMPLE_PERIOD_S, SampleMetrics, parse_resolution, sample_score

SAMPLE_MS = int(SAMPLE_PERIOD_S * 1000)
MAX_RUN_GAP_MS = 2 * SAMPLE_MS


@dataclass(frozen=True)
class QualityThresholds:
    """Issue thresholds (settings quality_*; defaults and sources in docs/quality.md)."""

    packet_loss: float = 0.03
    rtt_ms: float = 300.0
    jitter_ms: float = 30.0
    min_bpp: float = 0.02
    min_fps: float = 15.0
    freezes: int = 1
    min_samples: int = 2
    failed_attempts: int = 3
    reconnect_s: int = 60
    one_way_overlap_s: int = 60

    @classmethod
    def from_settings(cls, settings: Any) -> QualityThresholds:
        return cls(**{f.name: getattr(settings, f"quality_{f.name}") for f in fields(cls)})


@dataclass
class _Sample:
    side: str  # "pub" | "sub"
    entity_id: str
    ts: int
    weight: int
    score: float | None
    m: SampleMetrics
    qlr: str | None


# issue type -> (metric name, value of a sample or None when it does not offend)
_Check = Callable[[_Sample, QualityThresholds], float | None]


def _loss(s: _Sample, t: QualityThresholds) -> float | None:
    values = [v for v in (s.m.audio_loss, s.m.video_loss) if v is not None]
    return max(values) if values and max(values) >= t.packet_loss else None


def _rtt(s: _Sample, t: QualityThresholds) -> float | None:
    return s.m.rtt_ms if s.m.rtt_ms is not None and s.m.rtt_ms >= t.rtt_ms else None


def _jitter(s: _Sample, t: QualityThresholds) -> float | None:
    return s.m.jitter_ms if s.m.jitter_ms is not None and s.m.jitter_ms >= t.jitter_ms else None


def _bpp(s: _Sample, t: QualityThresholds) -> float | None:
    m = s.m
    if m.video_kbps is None or not m.width or not m.height or not m.fps:
        return None
    bpp = m.video_kbps * 1000.0 / (m.width * m.height * m.fps)
    return bpp if bpp < t.min_bpp else None


def _limited(reason: str) -> _Check:
    def check(s: _Sample, t: QualityThresholds) -> float | None:
        return (s.m.video_kbps or 0.0) if s.qlr == reason else None

    return check


def _fps(s: _Sample, t: QualityThresholds) -> float | None:
    return s.m.fps if s.m.fps is not None and s.m.video_kbps and s.m.fps < t.min_fps else None


def _freezes(s: _Sample, t: QualityThresholds) -> float | None:
    return float(s.m.freezes) if s.m.freezes is not None and s.m.freezes >= t.freezes else None


# issue type -> (metric, check, worst = max or min)
SAMPLE_CHECKS: dict[str, tuple[str, _Check, Callable[[Iterable[float]], float]]] = {
    "high_packet_loss": ("packetLoss", _loss, max),
    "high_rtt": ("roundTripMs", _rtt, max),
    "high_jitter": ("jitterMs", _jitter, max),
    "low_bitrate": ("bitsPerPixel", _bpp, min),
    "bandwidth_limited": ("videoBitrateKbps", _limited("bandwidth"), min),
    "cpu_limited": ("videoBitrateKbps", _limited("cpu"), min),
    "low_frame_rate": ("frameRate", _fps, min),
    "video_freeze": ("freezeCount", _freezes, max),
}


def threshold(issue: str, t: QualityThresholds) -> float:
    return {
        "high_packet_loss": t.packet_loss, "high_rtt": t.rtt_ms, "high_jitter": t.jitter_ms,
        "low_bitrate": t.min_bpp, "low_frame_rate": t.min_fps, "video_freeze": float(t.freezes),
        "failed_attempts": float(t.failed_attempts), "reconnect": float(t.reconnect_s),
        "one_way_media": float(t.one_way_overlap_s),
    }.get(issue, 0.0)


def _metrics(row: dict[str, Any]) -> SampleMetrics:
    width, height = parse_resolution(row.get("video_resolution"))
    latency = row.get("audio_latency_ms")
    return SampleMetrics(
        latency_ms=latency if latency is not None else row.get("video_latency_ms"),
        rtt_ms=row.get("round_trip_ms"),
        jitter_ms=row.get("jitter_ms"),
        audio_loss=row.get("audio_packet_loss"),
        video_loss=row.get("video_packet_loss"),
        audio_kbps=row.get("audio_bitrate_kbps"),
        video_kbps=row.get("video_bitrate_kbps"),
        width=width,
        height=height,
        fps=row.get("frame_rate"),
        freezes=row.get("freeze_count"),
    )


def _samples(rows: list[dict[str, Any]]) -> list[_Sample]:
    """Weighted, scored samples sorted by (side, entity, ts, event id); unknown entities dropped."""
    keyed = []
    for row in rows:
        side = "pub" if row["type"] == "publisherStats" else "sub"
        entity = row.get("stream_id") if side == "pub" else row.get("subscriber_id")
        if entity:
            keyed.append((side, entity, row["ts"], row.get("event_id") or "", row))
    keyed.sort(key=lambda k: k[:4])
    out: list[_Sample] = []
    prev: tuple[str, str, int] | None = None
    for side, entity, ts, _, row in keyed:
        gap = ts - prev[2] if prev is not None and prev[:2] == (side, entity) else SAMPLE_MS
        m = _metrics(row)
        out.append(_Sample(side, entity, ts, max(0, min(gap, SAMPLE_MS)), sample_score(m), m,
                           row.get("quality_limitation_reason")))
        prev = (side, entity, ts)
    return out


def weighted_scores(pairs: Iterable[tuple[float, int]]) -> tuple[float, float, int] | None:
    """(time-weighted mean, time-weighted 10th percentile, total weight) of (score, weight) pairs.

    The 10th percentile is the lowest score at which the cumulative weight, in
    ascending score order, reaches 10% of the total. Zero-weight samples count
    with a weight of 1 ms so that a lone sample still scores."""
    items = sorted((score, max(weight, 1)) for score, weight in pairs)
    total = sum(w for _, w in items)
    if not total:
        return None
    mean = sum(s * w for s, w in items) / total
    goal, acc = 0.1 * total, 0
    p10 = items[-1][0]
    for score, weight in items:
        acc += weight
        if acc >= goal:
            p10 = score
            break
    return mean, p10, total


def derive_quality(project_id: str, session_id: str, events: list[dict[str, Any]], stats: list[StatsAggregate],
                   samples: list[dict[str, Any]], thresholds: QualityThresholds | None = None) -> QualityDerivation:
    """Score rows and issue rows of one session (see the module docstring)."""
    ordered = canonical_events(events)
    lt = derive_lifetimes(ordered, canonical_stats(stats))
    records = build_records(project_id, session_id, lt)
    return session_quality(project_id, session_id, ordered, lt, records, samples, thresholds or QualityThresholds())


def session_quality(project_id: str, session_id: str, ordered: list[dict[str, Any]], lt: Lifetimes,
                    records: list[MeetingRecord], samples: list[dict[str, Any]],
                    t: QualityThresholds) -> QualityDerivation:
    """derive_quality from the session's canonical events, lifetimes and meeting records, as derive_session
    builds them (the engine passes no samples: lifecycle issues only, without deriving the lifetimes twice)."""
    meeting_of: dict[tuple[str, str], int] = {}
    for r in records:
        meeting_of.update({("conn", c.connection_id): r.index for c in r.connections})
        meeting_of.update({("pub", s.stream_id): r.index for s in r.streams})
        meeting_of.update({("sub", s.subscriber_id): r.index for s in r.subscribers})
    scored = [s for s in _samples(samples) if (s.side, s.entity_id) in meeting_of]

    def owner(s: _Sample) -> str | None:
        if s.side == "pub":
            return lt.streams[s.entity_id].connection_id
        return lt.subscribers[s.entity_id].connection_id

    groups: dict[tuple[str, str], list[_Sample]] = defaultdict(list)
    for s in scored:
        stream = s.entity_id if s.side == "pub" else lt.subscribers[s.entity_id].stream_id
        groups[("stream", stream)].append(s)
        if s.side == "sub":
            groups[("subscriber", s.entity_id)].append(s)
        conn = owner(s)
        if conn:
            groups[("connection", conn)].append(s)
        groups[("meeting", str(meeting_of[(s.side, s.entity_id)]))].append(s)
        groups[("session", session_id)].append(s)

    scores: list[QualityScoreRow] = []
    for (level, entity), members in sorted(groups.items()):
        result = weighted_scores((s.score, s.weight) for s in members if s.score is not None)
        if result is None:
            continue
        mean, p10, total = result
        if level == "stream":
            index, conn = meeting_of.get(("pub", entity)), (lt.streams[entity].connection_id if entity in lt.streams
                                                           else None)
        elif level == "subscriber":
            index, conn = meeting_of[("sub", entity)], lt.subscribers[entity].connection_id
        elif level == "connection":
            index, conn = meeting_of.get(("conn", entity)), entity
        elif level == "meeting":
            index, conn = int(entity), None
        else:
            index, conn = None, None
        scores.append(QualityScoreRow(project_id, session_id, level, entity, index, conn,
                                      sum(1 for s in members if s.score is not None), total, mean, p10))

    issues = _sample_issues(project_id, session_id, scored, owner, meeting_of, t)
    issues += _one_way_media(project_id, session_id, lt, meeting_of, t)
    issues += _failed_attempts(project_id, session_id, ordered, t)
    issues += _reconnects(project_id, session_id, lt, meeting_of, t)
    issues.sort(key=lambda i: (i.start_ts, i.issue_type, i.entity_id))

    def dims(connection_id: str | None) -> tuple[str | None, ...]:
        conn = lt.connections.get(connection_id or "")
        return tuple(conn.endpoint.get(d) for d in DIMENSIONS) if conn else (None,) * len(DIMENSIONS)

    parts: dict[tuple[Any, tuple[str | None, ...], str], float] = defaultdict(float)
    for s in scored:
        if s.score is not None:
            key = (la_day(s.ts), dims(owner(s)))
            parts[(*key, f"{s.side}_score_ms")] += s.score * max(s.weight, 1)
            parts[(*key, f"{s.side}_scored_ms")] += max(s.weight, 1)
    for i in issues:
        parts[(la_day(i.start_ts), dims(i.connection_id), f"issues_{i.issue_type}")] += 1
    endpoint_parts = [(day, d, column, value) for (day, d, column), value in sorted(
        parts.items(), key=lambda kv: (kv[0][0], tuple((v is None, v or "") for v in kv[0][1]), kv[0][2]))]
    return QualityDerivation(scores=scores, issues=issues, endpoint_parts=endpoint_parts)


def add_endpoint_parts(rows: list[EndpointDayRow], quality: QualityDerivation, project_id: str,
                       session_id: str) -> None:
    """Add the quality measures to the session's endpoint day rows (new rows where none has the day and dims)."""
    index = {(r.day, tuple(getattr(r, d) for d in DIMENSIONS)): r for r in rows}
    for day, dims, column, value in quality.endpoint_parts:
        row = index.get((day, dims))
        if row is None:
            row = EndpointDayRow(project_id, session_id, day, **dict(zip(DIMENSIONS, dims, strict=True)))
            rows.append(row)
            index[(day, dims)] = row
        row.measures[column] += value


def _sample_issues(project_id: str, session_id: str, scored: list[_Sample], owner: Callable[[_Sample], str | None],
                   meeting_of: dict[tuple[str, str], int], t: QualityThresholds) -> list[QualityIssueRow]:
    by_entity: dict[tuple[str, str], list[_Sample]] = defaultdict(list)
    for s in scored:
        by_entity[(s.side, s.entity_id)].append(s)
    out = []
    for (side, entity), series in by_entity.items():
        for issue, (metric, check, worst) in SAMPLE_CHECKS.items():
            run: list[tuple[_Sample, float]] = []
            for s in [*series, None]:
                value = check(s, t) if s is not None else None
                if value is not None and (not run or s.ts - run[-1][0].ts <= MAX_RUN_GAP_MS):
                    run.append((s, value))
                    continue
                if len(run) >= t.min_samples:
                    first = run[0][0]
                    out.append(QualityIssueRow(
                        project_id, session_id, meeting_of[(side, entity)], issue,
                        "stream" if side == "pub" else "subscriber", entity, owner(first),
                        first.ts - first.weight, run[-1][0].ts, metric, worst(v for _, v in run),
                        threshold(issue, t), len(run)))
                run = [(s, value)] if value is not None else []
    return out


def _one_way_media(project_id: str, session_id: str, lt: Any, meeting_of: dict[tuple[str, str], int],
                   t: QualityThresholds) -> list[QualityIssueRow]:
    """A stream nobody subscribed to while another connection was there for one_way_overlap_s or more."""
    received = {s.stream_id for s in lt.subscribers.values()}
    out = []
    for stream in lt.streams.values():
        if stream.stream_id in received or ("pub", stream.stream_id) not in meeting_of:
            continue
        overlap = sum(
            max(0, min(c.ended_at, stream.ended_at) - max(c.created_at, stream.created_at))
            for c in lt.connections.values() if c.connection_id != stream.connection_id
        )
        if overlap >= t.one_way_overlap_s * 1000:
            out.append(QualityIssueRow(project_id, session_id, meeting_of[("pub", stream.stream_id)], "one_way_media",
                                       "stream", stream.stream_id, stream.connection_id, stream.created_at,
                                       stream.ended_at, "otherConnectionSeconds", overlap / 1000.0,
                                       float(t.one_way_overlap_s), 0))
    return out


def _failed_attempts(project_id: str, session_id: str, events: list[dict[str, Any]],
                     t: QualityThresholds) -> list[QualityIssueRow]:
    """failed_attempts or more failures of one attempt kind in the session."""
    failures: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        if ev["type"].endswith("Attempt") and ev.get("outcome") == "failure":
            failures[ev["type"]].append(ev)
    out = []
    for kind, evs in sorted(failures.items()):
        if len(evs) >= t.failed_attempts:
            conns = {ev.get("connection_id") for ev in evs}
            conn = conns.pop() if len(conns) == 1 else None
            out.append(QualityIssueRow(project_id, session_id, None, "failed_attempts", "attempt", kind, conn,
                                       evs[0]["ts"], evs[-1]["ts"], "failures", float(len(evs)),
                                       float(t.failed_attempts), len(evs)))
    return out


def _reconnects(project_id: str, session_id: str, lt: Any, meeting_of: dict[tuple[str, str], int],
                t: QualityThresholds) -> list[QualityIssueRow]:
    """A connection dropped by the network followed within reconnect_s by a new connection in the session."""
    conns = sorted(lt.connections.values(), key=lambda c: (c.created_at, c.connection_id))
    out = []
    for c in conns:
        if c.reason != "networkDisconnected" or c.destroyed_at is None:
            continue
        back = [n for n in conns if c.ended_at <= n.created_at <= c.ended_at + t.reconnect_s * 1000]
        if back:
            gap = back[0].created_at - c.ended_at
            out.append(QualityIssueRow(project_id, session_id, meeting_of.get(("conn", c.connection_id)), "reconnect",
                                       "connection", c.connection_id, c.connection_id, c.ended_at,
                                       back[0].created_at, "gapSeconds", gap / 1000.0, float(t.reconnect_s), 0))
    return out
