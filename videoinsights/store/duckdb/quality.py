"""Sample scores, score rollups and sample issues of re-derived sessions, computed inside DuckDB.

Scoring every raw 30-second sample in Python cost ~50-80 us per sample at each re-derivation
(docs/benchmarks.md); here the same formulas run vectorised over the sessions' samples, and
Python receives nothing per sample. The formulas, weights, runs and rollups are those of
docs/quality.md; domain/scoring.py and derive/quality.py are their reference in Python, and
tests/store/test_quality_sql.py checks that both give the same rows.

`derive_sample_quality` runs inside `replace_derived`'s transaction, after the sessions' new rows
are in: the `publishers`, `subscribers` and `connections` rows of the sessions in temp table
`keys` say which samples count (entities of the session's lifetimes) and to which stream,
participant and meeting record they belong. Lifecycle issues (one-way media, failed attempts,
reconnects) need the lifetimes and stay in derive/quality.py.
"""

from __future__ import annotations

import duckdb

from videoinsights.derive.model import DIMENSIONS
from videoinsights.derive.quality import MAX_RUN_GAP_MS, SAMPLE_CHECKS, SAMPLE_MS, QualityThresholds, threshold
from videoinsights.domain.scoring import (
    JITTER_BUFFER_FACTOR,
    OPUS_BPL,
    OPUS_IE,
    R0,
    SAMPLE_PERIOD_S,
    VIDEO_GOOD_BPP,
    VIDEO_GOOD_FPS,
    VIDEO_LOSS_WEIGHT,
)

IN_KEYS = "(project_id, session_id) IN (SELECT project_id, session_id FROM keys)"

# One sample's metrics, as domain/scoring.py's SampleMetrics reads them from the raw row.
_METRICS = """
  coalesce(s.audio_latency_ms, s.video_latency_ms) AS latency, s.round_trip_ms AS rtt, s.jitter_ms AS jitter,
  s.audio_packet_loss AS aloss, s.video_packet_loss AS vloss, s.video_bitrate_kbps AS vkbps,
  TRY_CAST(nullif(regexp_extract(lower(s.video_resolution), '^([0-9]+)x([0-9]+)$', 1), '') AS DOUBLE) AS width,
  TRY_CAST(nullif(regexp_extract(lower(s.video_resolution), '^([0-9]+)x([0-9]+)$', 2), '') AS DOUBLE) AS height,
  s.frame_rate AS fps, s.freeze_count AS freezes, s.quality_limitation_reason AS qlr"""


def _audio_score() -> str:
    """E-model MOS (domain/scoring.audio_score); NULL without any network metric."""
    delay = (f"(coalesce(latency, rtt / 2, 0.0) + {JITTER_BUFFER_FACTOR!r} * coalesce(jitter, 0.0))")
    ppl = "(100.0 * coalesce(aloss, vloss, 0.0))"
    r = (f"({R0!r} - (0.024 * {delay} + CASE WHEN {delay} > 177.3 THEN 0.11 * ({delay} - 177.3) ELSE 0.0 END)"
         f" - ({OPUS_IE!r} + (95.0 - {OPUS_IE!r}) * {ppl} / ({ppl} + {OPUS_BPL!r})))")
    return (f"CASE WHEN coalesce(aloss, vloss) IS NULL AND latency IS NULL AND rtt IS NULL AND jitter IS NULL "
            f"THEN NULL WHEN {r} <= 0 THEN 1.0 WHEN {r} >= 100 THEN 4.5 "
            f"ELSE 1.0 + 0.035 * {r} + 7e-6 * {r} * ({r} - 60.0) * (100.0 - {r}) END")


def _video_score() -> str:
    """1 + 4 x q_bitrate x q_fps x q_loss x q_freeze (domain/scoring.video_score); NULL without a bitrate."""
    fps = f"(CASE WHEN coalesce(fps, 0) <> 0 THEN fps ELSE {VIDEO_GOOD_FPS!r} END)"
    q_bitrate = (f"(CASE WHEN coalesce(width, 0) <> 0 AND coalesce(height, 0) <> 0 "
                 f"THEN least(1.0, sqrt(vkbps * 1000.0 / (width * height * {fps}) / {VIDEO_GOOD_BPP!r})) ELSE 1.0 END)")
    q_fps = f"(CASE WHEN fps IS NOT NULL THEN least(1.0, fps / {VIDEO_GOOD_FPS!r}) ELSE 1.0 END)"
    q_loss = f"(CASE WHEN vloss IS NOT NULL THEN greatest(0.0, 1.0 - {VIDEO_LOSS_WEIGHT!r} * vloss) ELSE 1.0 END)"
    q_freeze = (f"(CASE WHEN coalesce(freezes, 0) <> 0 THEN 1.0 / (1.0 + freezes * 60.0 / {SAMPLE_PERIOD_S!r}) "
                "ELSE 1.0 END)")
    return f"CASE WHEN vkbps IS NULL THEN NULL ELSE 1.0 + 4.0 * {q_bitrate} * {q_fps} * {q_loss} * {q_freeze} END"


# issue type -> SQL of the sample's offending value, NULL when it does not offend (derive/quality.SAMPLE_CHECKS)
_CHECK_SQL: dict[str, str] = {
    "high_packet_loss": "CASE WHEN greatest(aloss, vloss) >= $packet_loss THEN greatest(aloss, vloss) END",
    "high_rtt": "CASE WHEN rtt >= $rtt_ms THEN rtt END",
    "high_jitter": "CASE WHEN jitter >= $jitter_ms THEN jitter END",
    "low_bitrate": ("CASE WHEN vkbps IS NOT NULL AND coalesce(width, 0) <> 0 AND coalesce(height, 0) <> 0 "
                    "AND coalesce(fps, 0) <> 0 AND vkbps * 1000.0 / (width * height * fps) < $min_bpp "
                    "THEN vkbps * 1000.0 / (width * height * fps) END"),
    "bandwidth_limited": "CASE WHEN qlr = 'bandwidth' THEN coalesce(vkbps, 0.0) END",
    "cpu_limited": "CASE WHEN qlr = 'cpu' THEN coalesce(vkbps, 0.0) END",
    "low_frame_rate": "CASE WHEN fps IS NOT NULL AND coalesce(vkbps, 0) <> 0 AND fps < $min_fps THEN fps END",
    "video_freeze": "CASE WHEN freezes >= $freezes THEN CAST(freezes AS DOUBLE) END",
}
_CHECKS = tuple(enumerate(SAMPLE_CHECKS))  # (column number c<i>, issue type)

# The sessions' samples of known entities: weight (time since the previous sample of the entity, at most
# 30 s; the first 30 s), score, offending value per check, and whether it starts a run of offending samples.
_SAMPLES_SQL = f"""
CREATE OR REPLACE TEMP TABLE q_samples AS
WITH members AS (
  SELECT project_id, session_id, 'pub' AS side, stream_id AS entity_id, meeting_index, connection_id AS owner,
         stream_id FROM publishers WHERE {IN_KEYS}
  UNION ALL
  SELECT project_id, session_id, 'sub', subscriber_id, meeting_index, connection_id, stream_id
  FROM subscribers WHERE {IN_KEYS}
),
raw AS (
  SELECT s.project_id, s.session_id, s.day, s.ts, coalesce(s.event_id, '') AS event_id,
         CASE s.type WHEN 'publisherStats' THEN 'pub' ELSE 'sub' END AS side,
         CASE s.type WHEN 'publisherStats' THEN s.stream_id ELSE s.subscriber_id END AS entity_id, {_METRICS}
  FROM stats_samples s JOIN keys k ON s.project_id = k.project_id AND s.session_id = k.session_id
  WHERE s.ts >= (SELECT min(first_ts) FROM keys)
),
valued AS (
  SELECT r.project_id, r.session_id, r.side, r.entity_id, r.day, r.ts, r.event_id, m.meeting_index, m.owner,
         m.stream_id,
         greatest(0, least(coalesce(r.ts - lag(r.ts) OVER w, {SAMPLE_MS}), {SAMPLE_MS})) AS weight,
         least(({_audio_score()}), ({_video_score()})) AS score,
         {", ".join(f"{_CHECK_SQL[issue]} AS c{i}" for i, issue in _CHECKS)}
  FROM raw r JOIN members m USING (project_id, session_id, side, entity_id)
  WINDOW w AS (PARTITION BY r.project_id, r.session_id, r.side, r.entity_id ORDER BY r.ts, r.event_id)
)
SELECT *, {", ".join(
    f"c{i} IS NOT NULL AND (lag(c{i}) OVER w IS NULL OR ts - lag(ts) OVER w > {MAX_RUN_GAP_MS}) AS s{i}"
    for i, _ in _CHECKS)}
FROM valued
WINDOW w AS (PARTITION BY project_id, session_id, side, entity_id ORDER BY ts, event_id)"""

# Score rollups per level (docs/quality.md): time-weighted mean and 10th percentile (the first score, in
# ascending order, at which the cumulative weight reaches 10% of the total). Weights of 0 count as 1 ms.
_SCORES_SQL = """
INSERT INTO quality_scores (project_id, session_id, level, entity_id, meeting_index, connection_id, samples,
                            scored_ms, score, score_p10)
WITH scored AS (SELECT *, greatest(weight, 1) AS w FROM q_samples WHERE score IS NOT NULL),
grouped AS (
  SELECT project_id, session_id, 'stream' AS level, stream_id AS entity_id, score, w FROM scored
  WHERE stream_id IS NOT NULL
  UNION ALL SELECT project_id, session_id, 'subscriber', entity_id, score, w FROM scored WHERE side = 'sub'
  UNION ALL SELECT project_id, session_id, 'connection', owner, score, w FROM scored WHERE owner <> ''
  UNION ALL SELECT project_id, session_id, 'meeting', CAST(meeting_index AS VARCHAR), score, w FROM scored
  UNION ALL SELECT project_id, session_id, 'session', session_id, score, w FROM scored
),
ranked AS (
  SELECT *, sum(w) OVER (PARTITION BY project_id, session_id, level, entity_id ORDER BY score, w
                         ROWS UNBOUNDED PRECEDING) AS acc,
            sum(w) OVER (PARTITION BY project_id, session_id, level, entity_id) AS total
  FROM grouped
),
rolled AS (
  SELECT project_id, session_id, level, entity_id, count(*) AS samples, sum(w) AS scored_ms,
         sum(score * w) / sum(w) AS score, min(score) FILTER (WHERE acc >= 0.1 * total) AS score_p10
  FROM ranked GROUP BY project_id, session_id, level, entity_id
)
SELECT r.project_id, r.session_id, r.level, r.entity_id,
       CASE r.level WHEN 'stream' THEN p.meeting_index WHEN 'subscriber' THEN u.meeting_index
                    WHEN 'connection' THEN c.meeting_index WHEN 'meeting' THEN CAST(r.entity_id AS INTEGER) END,
       CASE r.level WHEN 'stream' THEN p.connection_id WHEN 'subscriber' THEN u.connection_id
                    WHEN 'connection' THEN r.entity_id END,
       r.samples, r.scored_ms, r.score, r.score_p10
FROM rolled r
LEFT JOIN publishers p ON r.level = 'stream' AND p.project_id = r.project_id AND p.session_id = r.session_id
                          AND p.stream_id = r.entity_id
LEFT JOIN subscribers u ON r.level = 'subscriber' AND u.project_id = r.project_id AND u.session_id = r.session_id
                           AND u.subscriber_id = r.entity_id
LEFT JOIN connections c ON r.level = 'connection' AND c.project_id = r.project_id AND c.session_id = r.session_id
                           AND c.connection_id = r.entity_id"""


def _issues_sql() -> str:
    """Runs of offending samples of one entity and check, no more than 60 s apart, of at least min_samples."""
    runs = " UNION ALL ".join(
        f"SELECT project_id, session_id, side, entity_id, meeting_index, owner, '{issue}' AS issue_type, "
        f"'{metric}' AS metric, ts, weight, event_id, c{i} AS v, "
        f"sum(CAST(s{i} AS INTEGER)) OVER (PARTITION BY project_id, session_id, side, entity_id "
        f"ORDER BY ts, event_id ROWS UNBOUNDED PRECEDING) AS run, '{'max' if worst is max else 'min'}' AS worst_kind "
        f"FROM q_samples WHERE c{i} IS NOT NULL"
        for i, (issue, (metric, _, worst)) in enumerate(SAMPLE_CHECKS.items())
    )
    thresholds = " ".join(f"WHEN '{issue}' THEN ${issue}" for issue in SAMPLE_CHECKS)
    return f"""
CREATE OR REPLACE TEMP TABLE q_issues AS
SELECT project_id, session_id, any_value(meeting_index) AS meeting_index, issue_type,
       CASE side WHEN 'pub' THEN 'stream' ELSE 'subscriber' END AS entity_kind, entity_id,
       arg_min(owner, (ts, event_id)) AS connection_id,
       arg_min(ts - weight, (ts, event_id)) AS start_ts, max(ts) AS end_ts, any_value(metric) AS metric,
       CASE any_value(worst_kind) WHEN 'max' THEN max(v) ELSE min(v) END AS value,
       CASE issue_type {thresholds} END AS threshold, count(*) AS samples
FROM ({runs})
GROUP BY project_id, session_id, side, entity_id, issue_type, run
HAVING count(*) >= $min_samples"""


_ISSUES_SQL = _issues_sql()
_DIMS = ", ".join(DIMENSIONS)


def _parts_sql() -> str:
    """Additive endpoint-day measures of the samples and sample issues, on the owner's dimensions."""
    sample_issues = tuple(SAMPLE_CHECKS)
    zero_issues = ", ".join(f"0.0 AS issues_{t}" for t in sample_issues)
    sides = ", ".join(
        f"sum(CASE WHEN side = '{side}' THEN {value} ELSE 0.0 END) AS {side}_{column}"
        for side in ("pub", "sub") for column, value in (("score_ms", "score * greatest(weight, 1)"),
                                                         ("scored_ms", "CAST(greatest(weight, 1) AS DOUBLE)"))
    )
    counts = ", ".join(f"CAST(count(*) FILTER (WHERE issue_type = '{t}') AS DOUBLE) AS issues_{t}"
                       for t in sample_issues)
    conns = f"SELECT project_id, session_id, connection_id, {_DIMS} FROM connections WHERE {IN_KEYS}"
    la_day = "CAST(timezone('America/Los_Angeles', to_timestamp(i.start_ts / 1000.0)) AS DATE)"
    return f"""
CREATE OR REPLACE TEMP TABLE q_parts AS
WITH conns AS ({conns}),
sample_parts AS (
  SELECT q.project_id, q.session_id, q.day, {", ".join(f"c.{d}" for d in DIMENSIONS)}, {sides}, {zero_issues}
  FROM q_samples q LEFT JOIN conns c ON c.project_id = q.project_id AND c.session_id = q.session_id
                                      AND c.connection_id = q.owner
  WHERE q.score IS NOT NULL GROUP BY ALL
),
issue_parts AS (
  SELECT i.project_id, i.session_id, {la_day} AS day, {", ".join(f"c.{d}" for d in DIMENSIONS)},
         0.0, 0.0, 0.0, 0.0, {counts}
  FROM q_issues i LEFT JOIN conns c ON c.project_id = i.project_id AND c.session_id = i.session_id
                                     AND c.connection_id = i.connection_id
  GROUP BY ALL
)
SELECT project_id, session_id, day, {_DIMS}, sum(pub_score_ms) AS pub_score_ms, sum(pub_scored_ms) AS pub_scored_ms,
       sum(sub_score_ms) AS sub_score_ms, sum(sub_scored_ms) AS sub_scored_ms,
       {", ".join(f"sum(issues_{t}) AS issues_{t}" for t in sample_issues)}
FROM (SELECT * FROM sample_parts UNION ALL BY NAME SELECT * FROM issue_parts)
GROUP BY project_id, session_id, day, {_DIMS}"""


_PARTS_SQL = _parts_sql()
_PART_COLUMNS = ("pub_score_ms", "pub_scored_ms", "sub_score_ms", "sub_scored_ms",
                 *(f"issues_{t}" for t in SAMPLE_CHECKS))
_SAME_ROW = ("e.project_id = p.project_id AND e.session_id = p.session_id AND e.day = p.day AND "
             + " AND ".join(f"e.{d} IS NOT DISTINCT FROM p.{d}" for d in DIMENSIONS))
# Added to the session's endpoint-day rows of the same day and dimensions, else new rows (other measures 0).
_MERGE_SQL = (
    f"UPDATE session_endpoint_days e SET {', '.join(f'{c} = e.{c} + p.{c}' for c in _PART_COLUMNS)} "
    f"FROM q_parts p WHERE {_SAME_ROW}",
    f"INSERT INTO session_endpoint_days (project_id, session_id, day, {_DIMS}, {', '.join(_PART_COLUMNS)}) "
    f"SELECT project_id, session_id, day, {_DIMS}, {', '.join(_PART_COLUMNS)} FROM q_parts p "
    f"WHERE NOT EXISTS (SELECT 1 FROM session_endpoint_days e WHERE {_SAME_ROW})",
)


def derive_sample_quality(con: duckdb.DuckDBPyConnection, t: QualityThresholds) -> None:
    """Insert the score rows and sample-issue rows of the sessions in temp table `keys`, and add their
    endpoint-day measures (the caller's transaction; the sessions' other derived rows already in)."""
    con.execute(_SAMPLES_SQL, {"packet_loss": t.packet_loss, "rtt_ms": t.rtt_ms, "jitter_ms": t.jitter_ms,
                               "min_bpp": t.min_bpp, "min_fps": t.min_fps, "freezes": t.freezes})
    con.execute(_SCORES_SQL)
    con.execute(_ISSUES_SQL, {"min_samples": t.min_samples, **{i: threshold(i, t) for i in SAMPLE_CHECKS}})
    con.execute(
        "INSERT INTO quality_issues (project_id, session_id, meeting_index, issue_type, entity_kind, entity_id, "
        "connection_id, start_ts, end_ts, metric, value, threshold, samples) SELECT project_id, session_id, "
        "meeting_index, issue_type, entity_kind, entity_id, connection_id, start_ts, end_ts, metric, value, "
        "threshold, samples FROM q_issues"
    )
    con.execute(_PARTS_SQL)
    for sql in _MERGE_SQL:
        con.execute(sql)
