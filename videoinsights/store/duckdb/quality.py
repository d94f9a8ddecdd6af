"""Quality of re-derived sessions inside DuckDB: sample scores, score rollups, sample issues.

Scoring every raw 30-second sample in Python at each re-derivation cost ~50-80 us per sample
(docs/benchmarks.md). Here, as for `stats_daily`, each sample is scored once, when its commit is
absorbed (`absorb_quality`, vectorised SQL): a narrow row in `quality_samples` (score, the metrics
the issue checks compare, the entity's previous sample) and its weight added to `quality_buckets`
(per stream/subscriber, day and 0.01-wide score band: samples, weight, score x weight, lowest
score), and the runs of offending samples are kept per entity and check (store/duckdb/quality_runs.py).
Re-deriving a session (`derive_sample_quality`) then rolls the bands up per level (the meeting level
only for a session with more than one meeting record: with one, it is the session level), finds the
band holding the 10th percentile (among 0.2-wide bands first, then among the 0.01 bands of that one)
and reads only that band's samples for the exact value, and reads its entities' runs of
quality_min_samples or more as issues. The formulas, weights, runs and rollups are those of
docs/quality.md; domain/scoring.py and derive/quality.py are their reference in Python, and
tests/store/test_quality_sql.py checks that both give the same rows.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import duckdb

from videoinsights.derive.model import DIMENSIONS
from videoinsights.derive.quality import MAX_RUN_GAP_MS, SAMPLE_CHECKS, QualityThresholds, threshold
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
from videoinsights.store.duckdb import late_samples
from videoinsights.store.duckdb.fetch import first_row
from videoinsights.store.duckdb.parts import add_in_parts
from videoinsights.store.duckdb.quality_runs import CHECKS, WEIGHT, absorb_runs
from videoinsights.store.duckdb.schema import KEYS_BOUNDS_SET, SINCE, SINCE_DAY, rows_of_keys

BUCKET = "CAST(floor(score * 100) AS INTEGER)"  # the 0.01-wide score band of quality_buckets
# A stream's or subscriber's number, stored with its samples and bands so that re-derivation joins on one integer
# (md5 is stable across DuckDB versions; 64 bits make a collision between a batch's entities negligible). It is
# md5_number_lower's value, read from md5_number's top half: DuckDB 2.0 computes that 2.5x faster (15 against 39 ms
# for 50,000 samples, a third of scoring a fold's samples; tests/store/test_quality_sql.py checks they agree).
EKEY = "CAST(md5_number(concat_ws(chr(31), project_id, session_id, side, entity_id)) >> 64 AS UBIGINT)"
SCORE_WEIGHT = f"greatest(1, {WEIGHT})"  # rollups count a zero weight as 1 ms

# -- absorb: score each new sample once ------------------------------------------------------------

# One raw sample's metrics, as domain/scoring.py's SampleMetrics reads them (ingest validation keeps every
# stored resolution WIDTHxHEIGHT in digits, so splitting at the x reads it as parse_resolution does).
_METRICS = """
  coalesce(audio_latency_ms, video_latency_ms) AS latency, round_trip_ms AS rtt, jitter_ms AS jitter,
  audio_packet_loss AS aloss, video_packet_loss AS vloss, video_bitrate_kbps AS vkbps,
  TRY_CAST(split_part(lower(video_resolution), 'x', 1) AS DOUBLE) AS width,
  TRY_CAST(split_part(lower(video_resolution), 'x', 2) AS DOUBLE) AS height,
  frame_rate AS fps, CAST(freeze_count AS DOUBLE) AS freezes, quality_limitation_reason AS qlr"""
# E-model (domain/scoring.audio_score), in steps: one-way delay d, then R.
_DELAY = f"coalesce(latency, rtt / 2, 0.0) + {JITTER_BUFFER_FACTOR!r} * coalesce(jitter, 0.0) AS d"
_PPL = "100.0 * coalesce(aloss, vloss, 0.0) AS ppl"
_R = (f"{R0!r} - (0.024 * d + CASE WHEN d > 177.3 THEN 0.11 * (d - 177.3) ELSE 0.0 END)"
      f" - ({OPUS_IE!r} + (95.0 - {OPUS_IE!r}) * ppl / (ppl + {OPUS_BPL!r})) AS r")
_AUDIO = ("CASE WHEN coalesce(aloss, vloss) IS NULL AND latency IS NULL AND rtt IS NULL AND jitter IS NULL THEN NULL "
          "WHEN r <= 0 THEN 1.0 WHEN r >= 100 THEN 4.5 ELSE 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r) END")
# Video (domain/scoring.video_score): 1 + 4 x q_bitrate x q_fps x q_loss x q_freeze; NULL without a bitrate.
_VIDEO = (
    "CASE WHEN vkbps IS NULL THEN NULL ELSE 1.0 + 4.0"
    " * (CASE WHEN coalesce(width, 0) <> 0 AND coalesce(height, 0) <> 0 THEN least(1.0, sqrt(vkbps * 1000.0"
    f" / (width * height * (CASE WHEN coalesce(fps, 0) <> 0 THEN fps ELSE {VIDEO_GOOD_FPS!r} END))"
    f" / {VIDEO_GOOD_BPP!r})) ELSE 1.0 END)"
    f" * (CASE WHEN fps IS NOT NULL THEN least(1.0, fps / {VIDEO_GOOD_FPS!r}) ELSE 1.0 END)"
    f" * (CASE WHEN vloss IS NOT NULL THEN greatest(0.0, 1.0 - {VIDEO_LOSS_WEIGHT!r} * vloss) ELSE 1.0 END)"
    f" * (CASE WHEN coalesce(freezes, 0) <> 0 THEN 1.0 / (1.0 + freezes * 60.0 / {SAMPLE_PERIOD_S!r}) ELSE 1.0 END)"
    " END"
)
# bits per pixel where the low_bitrate check can compute it (bitrate, resolution and frame rate all given)
_BPP = ("CASE WHEN vkbps IS NOT NULL AND coalesce(width, 0) <> 0 AND coalesce(height, 0) <> 0 AND coalesce(fps, 0) <> 0"
        " THEN vkbps * 1000.0 / (width * height * fps) END")

_QS_COLUMNS = "ekey, ts, event_id, day, prev_ts, prev_event_id, score, loss, rtt, jitter, bpp, vkbps, fps, freezes, qlr"
# The new samples, scored (their previous sample comes next), with their session (store/duckdb/late_samples.py parks
# the late ones in quality_late, whose columns these are).
_NEW = f"""
CREATE OR REPLACE TEMP TABLE q_new AS
SELECT project_id, session_id, {EKEY} AS ekey, ts, event_id, day,
       CAST(NULL AS BIGINT) AS prev_ts, CAST(NULL AS VARCHAR) AS prev_event_id,
       least(({_AUDIO}), ({_VIDEO})) AS score, greatest(aloss, vloss) AS loss, rtt, jitter, {_BPP} AS bpp, vkbps,
       fps, freezes, qlr
FROM (SELECT *, {_R} FROM (SELECT *, {_DELAY}, {_PPL} FROM (
  SELECT project_id, session_id, ts, event_id, day,
         CASE type WHEN 'publisherStats' THEN 'pub' ELSE 'sub' END AS side,
         CASE type WHEN 'publisherStats' THEN stream_id ELSE subscriber_id END AS entity_id, {_METRICS}
  FROM stats_samples WHERE seq > $lo AND seq <= $hi)))
WHERE entity_id IS NOT NULL AND entity_id <> ''"""
# Each touched entity's earliest new sample m (q_touch: read by q_redo below and by the runs, quality_runs.py).
_TOUCHED = "CREATE OR REPLACE TEMP TABLE q_touch AS SELECT ekey, min(ts) AS m FROM q_new GROUP BY ekey"
# The rows whose previous sample is new or may have changed: per entity, from its earliest new sample m on (a late
# sample changes its successor's), stored and new alike. The previous sample is kept when at most 60 s earlier
# (beyond, it neither shortens the weight nor continues a run), so of the stored rows before m only the last one
# within 60 s counts: the one the first row from m follows (`before`, one per entity). Ordering only the rows from m
# (the window was 60 of q_redo's 75 ms with the 60 s of stored rows before m in it: 95,000 rows instead of 42,000).
_REDO = f"""
CREATE OR REPLACE TEMP TABLE q_redo AS
WITH before AS (
  SELECT q.ekey, max((q.ts, q.event_id)) AS last
  FROM quality_samples q JOIN q_touch t ON q.ekey = t.ekey AND q.ts >= t.m - {MAX_RUN_GAP_MS} AND q.ts < t.m
  WHERE q.ts >= (SELECT min(m) FROM q_touch) - {MAX_RUN_GAP_MS}
  GROUP BY q.ekey
),
ctx AS (
  SELECT q.*, false AS fresh, q.prev_ts AS old_prev_ts, q.prev_event_id AS old_prev_event_id
  FROM quality_samples q JOIN q_touch t ON q.ekey = t.ekey AND q.ts >= t.m
  WHERE q.ts >= (SELECT min(m) FROM q_touch)
  UNION ALL BY NAME
  SELECT n.* EXCLUDE (project_id, session_id), true AS fresh, NULL AS old_prev_ts, NULL AS old_prev_event_id
  FROM q_new n
),
linked AS (  -- (the first row from m follows the one before it)
  SELECT c.* EXCLUDE (prev_ts, prev_event_id),
         coalesce(lag((c.ts, c.event_id)) OVER (PARTITION BY c.ekey ORDER BY c.ts, c.event_id), b.last) AS lag
  FROM ctx c LEFT JOIN before b USING (ekey)
)
SELECT * EXCLUDE (lag),
       CASE WHEN ts - lag[1] <= {MAX_RUN_GAP_MS} THEN lag[1] END AS prev_ts,
       CASE WHEN ts - lag[1] <= {MAX_RUN_GAP_MS} THEN lag[2] END AS prev_event_id
FROM linked"""
_INSERT_NEW = f"INSERT INTO quality_samples ({_QS_COLUMNS}) SELECT {_QS_COLUMNS} FROM q_redo WHERE fresh"
_OLD_WEIGHT = SCORE_WEIGHT.replace("prev_ts", "old_prev_ts")
# The bands' new weights: the fresh samples, and the stored ones whose weight a late sample changed.
_BUCKET_COLUMNS = "ekey, day, bucket, samples, weight_ms, score_ms, min_score, first_ts"
_BUCKET_ROWS = f"""
SELECT ekey, day, {BUCKET} AS bucket, count(*) FILTER (WHERE fresh) AS samples,
       sum(dw) AS weight_ms, sum(score * dw) AS score_ms, min(score) AS min_score, min(ts) AS first_ts
FROM (SELECT *, {SCORE_WEIGHT} - CASE WHEN fresh THEN 0 ELSE {_OLD_WEIGHT} END AS dw FROM q_redo
      WHERE score IS NOT NULL AND (fresh OR prev_ts IS DISTINCT FROM old_prev_ts))
GROUP BY ekey, day, bucket"""
_ADD_TO_BUCKET = """samples = quality_buckets.samples + {new}.samples,
  weight_ms = quality_buckets.weight_ms + {new}.weight_ms, score_ms = quality_buckets.score_ms + {new}.score_ms,
  min_score = least(quality_buckets.min_score, {new}.min_score)"""
# DuckDB 2.0 plans this as a join whose scan of quality_buckets only min/max filters prune: `day` skips other days,
# the random ekeys nothing, so it reads every band of today (absorb_quality's `bound` path instead).
_ADD_BUCKETS = (f"INSERT INTO quality_buckets ({_BUCKET_COLUMNS}) {_BUCKET_ROWS} "
                f"ON CONFLICT DO UPDATE SET {_ADD_TO_BUCKET.format(new='excluded')}")
# quality_buckets.first_ts of the rows stored before it existed (schema version 12): no bound skips them.
UNKNOWN_FIRST_TS = 2**63 - 1
# Stored samples that follow a late one: their new previous sample. None when samples arrive in order; else they
# are bounded by the earliest of them, read first: a literal bound lets zone maps skip quality_samples' older row
# groups, which a subquery bound does not after the insert above in the same transaction (the UPDATE then scanned
# the whole table at every absorb: 0.48 s at 15 million samples, docs/benchmarks.md).
_RELINKED = """
  NOT r.fresh AND (r.prev_ts IS DISTINCT FROM r.old_prev_ts OR r.prev_event_id IS DISTINCT FROM r.old_prev_event_id)"""
_FIRST_RELINKED = f"SELECT min(ts) FROM q_redo r WHERE {_RELINKED}"
_SET_PREV = f"""
UPDATE quality_samples q SET prev_ts = r.prev_ts, prev_event_id = r.prev_event_id FROM q_redo r
WHERE {_RELINKED} AND q.ekey = r.ekey AND q.ts = r.ts AND q.event_id = r.event_id AND q.ts >= $first"""


# -- settled bands: each sample's (key, score, weight), read by the exact 10th percentile -----------------------
# Samples are appended in time order among every stream's, so reading one stream's band meant reading every sample
# since the batch's oldest session began (an hour at 10,000 events/s: 17 million rows, ~0.3 s of CPU per step,
# docs/benchmarks.md "Sessions that began an hour ago"). Every SETTLE_EVERY_MS of sample time, the samples up to
# SETTLE_LAG_MS before the newest are appended to `quality_settled` as one list per stream, day and band (a part);
# the 10th percentile reads the parts of its bands and only the samples after the horizon (meta SETTLED_KEY). A
# sample arriving at or before the horizon is appended as a part at once, and so is the change of weight of a
# settled sample it precedes (its entry again, with the difference): a sample's weight is the sum of its entries.
# Lists are only ever appended: DuckDB updates a LIST column ~30x dearer than scalars (an upsert per absorb cost
# bench_load 15-20% of its derivations, docs/benchmarks.md).
SETTLE_EVERY_MS = 300_000
SETTLE_LAG_MS = 120_000  # samples arrive up to ~30 s apart and commits seconds late: most settle once, in order
SETTLED_KEY = "quality_settled_upto"
# An entry's key is its sample's ts: entries are summed per (ts, score), so two samples of a stream at the same ms
# with the same score may share one, which leaves the percentile (a score) as it is.
_ENTRY = "{{'k': ts, 'score': score, 'w': {w}}}"
_SETTLE = f"""
INSERT INTO quality_settled (ekey, day, bucket, upto, band)
SELECT ekey, day, {BUCKET}, $hi, list({_ENTRY.format(w=SCORE_WEIGHT)})
FROM quality_samples WHERE ts > $lo AND ts <= $hi AND score IS NOT NULL GROUP BY ALL"""
# the new samples at or before the horizon, and the stored ones there whose weight a late sample changed
_SETTLE_LATE = f"""
INSERT INTO quality_settled (ekey, day, bucket, upto, band)
SELECT ekey, day, {BUCKET}, $h,
       list({_ENTRY.format(w=f"{SCORE_WEIGHT} - CASE WHEN fresh THEN 0 ELSE {_OLD_WEIGHT} END")})
FROM q_redo WHERE ts <= $h AND score IS NOT NULL AND (fresh OR prev_ts IS DISTINCT FROM old_prev_ts)
GROUP BY ALL"""


def settled_upto(con: duckdb.DuckDBPyConnection) -> int:
    """The settle horizon: every scored sample at or before it is in quality_settled (0: none yet)."""
    row = first_row(con.execute("SELECT value FROM meta WHERE key = ?", [SETTLED_KEY]))
    return int(row[0]) if row else 0


def settle(con: duckdb.DuckDBPyConnection, horizon: int, newest: int | None) -> None:
    """Settle the samples up to SETTLE_LAG_MS before `newest` when the horizon is SETTLE_EVERY_MS behind that (the
    caller's transaction)."""
    if newest is not None and newest - SETTLE_LAG_MS >= horizon + SETTLE_EVERY_MS:
        settle_range(con, horizon, newest - SETTLE_LAG_MS)


def settle_range(con: duckdb.DuckDBPyConnection, lo: int, hi: int) -> None:
    """Append the parts of the samples in (lo, hi] and make hi the horizon (lo: the horizon before)."""
    con.execute(_SETTLE, {"lo": lo, "hi": hi})
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [SETTLED_KEY, str(hi)])


def clear_settled(con: duckdb.DuckDBPyConnection) -> None:
    """Forget every settled part and the horizon (a rebuild settles the samples again as it absorbs them)."""
    con.execute("DELETE FROM quality_settled")
    con.execute("DELETE FROM meta WHERE key = ?", [SETTLED_KEY])


class Absorbed(NamedTuple):
    """What an absorb did with late samples (late_samples.LateSamples.committed, once it commits)."""

    newest: int | None  # the newest sample's ts (None: none)
    parked: int  # samples parked
    taken: bool  # the parked samples were absorbed


def absorb_quality(con: duckdb.DuckDBPyConnection, lo: int, hi: int, thresholds: dict[str, float],
                   bound: int | None = None, park_before: int | None = None, take_parked: bool = False) -> Absorbed:
    """Score the stats samples of commits (lo, hi] into quality_samples and quality_buckets, and find the runs
    of offending samples (these thresholds, quality_runs.run_thresholds) where they land (the caller's
    transaction, like stats_daily).

    With `bound`, no earlier than the first event of any of these samples' sessions as stored before this absorb,
    the bands are written in parts (_add_buckets_in_parts); without, with the upsert. A stored band below the bound
    makes the parts' INSERT meet the primary key (duckdb.ConstraintException): the caller rolls back and absorbs
    again without one.
    Late samples (store/duckdb/late_samples.py): with `park_before`, the new samples older than it are parked
    instead; with `take_parked`, the parked ones are absorbed too (then `bound` covers their sessions)."""
    con.execute(_NEW, {"lo": lo, "hi": hi})
    parked = 0
    if take_parked:
        late_samples.take(con, hi)
    elif park_before is not None:
        parked = late_samples.park(con, park_before)
    con.execute(_TOUCHED)
    con.execute(_REDO)
    con.execute(_INSERT_NEW)
    if bound is None:
        con.execute(_ADD_BUCKETS)
    else:
        _add_buckets_in_parts(con, bound)
    first = con.execute(_FIRST_RELINKED).fetchall()[0][0]
    if first is not None:
        con.execute(_SET_PREV, {"first": first})
    horizon = settled_upto(con)
    con.execute(_SETTLE_LATE, {"h": horizon})
    newest = con.execute("SELECT max(ts) FROM q_new").fetchall()[0][0]
    settle(con, horizon, newest)
    absorb_runs(con, thresholds)
    return Absorbed(newest, parked, take_parked)


def _add_buckets_in_parts(con: duckdb.DuckDBPyConnection, bound: int) -> None:
    """_ADD_BUCKETS in parts (store/duckdb/parts.py): a band is inserted at its first sample, never before its
    session's first event, so `bound` finds every stored band the new weights add to."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE qb_new AS {_BUCKET_ROWS}")
    add_in_parts(con, "quality_buckets", "qb_new", "ekey, day, bucket", _BUCKET_COLUMNS, _ADD_TO_BUCKET, bound)


# -- derive: roll up, percentile, issues --------------------------------------------------------------

# The entities the sessions' lifetimes know (derive/quality.py scores only those), from the sessions' new
# publishers/subscribers rows: `ent` numbers the entities, and each level the entity counts in (stream, subscriber,
# participant = owner, meeting record, session) has one integer key k_*, a 64-bit hash of the level and its
# identity (a collision between two of a batch's ~10^4 levels is as negligible as one of the md5 entity keys;
# numbering them with dense_rank() cost four string sorts), so that the heavy steps below group, sort and join
# on one integer.
_MEMBERS = f"""
CREATE OR REPLACE TEMP TABLE q_members AS
WITH m AS (
  SELECT project_id, session_id, 'pub' AS side, stream_id AS entity_id, meeting_index, connection_id AS owner,
         stream_id FROM publishers WHERE {rows_of_keys("publishers")}
  UNION ALL
  SELECT project_id, session_id, 'sub', subscriber_id, meeting_index, connection_id, stream_id
  FROM subscribers WHERE {rows_of_keys("subscribers")}
)
SELECT *, {EKEY} AS ekey, row_number() OVER () AS ent,
       CASE WHEN stream_id IS NOT NULL THEN hash(1, project_id, session_id, stream_id) END AS k_stream,
       CASE WHEN side = 'sub' THEN hash(2, ent) END AS k_sub,  -- (one per subscriber row, as before)
       CASE WHEN owner <> '' THEN hash(3, project_id, session_id, owner) END AS k_conn,
       CASE WHEN min(meeting_index) OVER s <> max(meeting_index) OVER s
            THEN hash(4, project_id, session_id, meeting_index) END AS k_meeting,
       hash(5, project_id, session_id) AS k_session
FROM m WINDOW s AS (PARTITION BY project_id, session_id)"""
# k of the rollup -> the level and entity_id of quality_scores; the meeting of a session with one meeting record
# has the session's samples: its row takes the session's rollup (k_meeting is NULL then)
_GROUPS = """
  SELECT DISTINCT k_stream AS k, project_id, session_id, 'stream' AS level, stream_id AS entity_id
  FROM q_members WHERE k_stream IS NOT NULL
  UNION ALL SELECT k_sub, project_id, session_id, 'subscriber', entity_id FROM q_members WHERE side = 'sub'
  UNION ALL SELECT DISTINCT k_conn, project_id, session_id, 'connection', owner FROM q_members WHERE k_conn IS NOT NULL
  UNION ALL SELECT DISTINCT coalesce(k_meeting, k_session), project_id, session_id, 'meeting',
                            CAST(meeting_index AS VARCHAR) FROM q_members
  UNION ALL SELECT DISTINCT k_session, project_id, session_id, 'session', session_id FROM q_members"""
# Each entity once per level it counts in: stream, subscriber, participant, meeting (of a session with more than
# one meeting record), session. One join with this replaces a 5-way UNION ALL of the entities' band rows.
_LEVEL_MEMBERS = """
CREATE OR REPLACE TEMP TABLE q_lm AS
SELECT ent, k_stream AS k FROM q_members WHERE k_stream IS NOT NULL
UNION ALL SELECT ent, k_sub FROM q_members WHERE k_sub IS NOT NULL
UNION ALL SELECT ent, k_conn FROM q_members WHERE k_conn IS NOT NULL
UNION ALL SELECT ent, k_meeting FROM q_members WHERE k_meeting IS NOT NULL
UNION ALL SELECT ent, k_session FROM q_members"""

# The batch's entities' bands, of their first day on and inserted since the batch's oldest session began (their
# first_ts): zone maps skip the bands of the day's entities that began earlier, which a busy day has millions of.
_ENTITY_BUCKETS = f"""
CREATE OR REPLACE TEMP TABLE q_eb AS
SELECT m.ent, b.day, b.bucket, b.samples, b.weight_ms, b.score_ms
FROM quality_buckets b JOIN q_members m USING (ekey)
WHERE b.day >= {SINCE_DAY} AND b.first_ts >= {SINCE}"""
# Per level: totals, mean, and the band where the cumulative weight (ascending scores) reaches 10% of the total,
# with the weight below that band. Windows are DuckDB's costliest step here, so the search runs in two: first
# over coarse bands (COARSE bands wide, a sixth of the level x band rows), then over the bands of the coarse one
# found; each window runs over one integer partition key k and carries only the weights. The entities' bands are
# summed per coarse band before they are joined to their levels (a fifth of the rows to expand). Weights are
# integer ms, so "reaches 10%" is tested as 10 x cumulative >= total: exact, without DECIMAL products.
COARSE = 20
_TARGETS = (
    f"""
CREATE OR REPLACE TEMP TABLE q_coarse AS
WITH lc AS MATERIALIZED (
  SELECT k, cb, sum(n) AS n, sum(w) AS w, sum(sw) AS sw
  FROM (SELECT ent, bucket // {COARSE} AS cb, sum(samples) AS n, sum(weight_ms) AS w, sum(score_ms) AS sw
        FROM q_eb GROUP BY ALL) JOIN q_lm USING (ent)
  GROUP BY ALL
),
totals AS (SELECT k, sum(n) AS samples, CAST(sum(w) AS BIGINT) AS scored_ms, sum(sw) / sum(w) AS score
           FROM lc GROUP BY k),
acc AS (SELECT k, cb, w, sum(w) OVER (PARTITION BY k ORDER BY cb ROWS UNBOUNDED PRECEDING) AS acc FROM lc)
SELECT k, any_value(samples) AS samples, any_value(scored_ms) AS scored_ms, any_value(score) AS score,
       min(cb) AS cb, arg_min(acc - w, cb) AS below
FROM acc JOIN totals USING (k) WHERE 10 * acc >= scored_ms GROUP BY k""",
    f"""
CREATE OR REPLACE TEMP TABLE q_target AS
WITH wanted AS (SELECT l.ent, c.cb, c.k FROM q_lm l JOIN q_coarse c USING (k)),
fine AS (
  SELECT b.k, e.bucket, sum(e.weight_ms) AS w
  FROM (SELECT ent, bucket // {COARSE} AS cb, bucket, weight_ms FROM q_eb) e
  JOIN wanted b ON b.ent = e.ent AND b.cb = e.cb GROUP BY ALL
),
acc AS (SELECT k, bucket, w, sum(w) OVER (PARTITION BY k ORDER BY bucket ROWS UNBOUNDED PRECEDING) AS acc FROM fine)
SELECT k, any_value(c.samples) AS samples, any_value(c.scored_ms) AS scored_ms,
       any_value(c.score) AS score, min(f.bucket) AS bucket,
       arg_min(c.below + f.acc - f.w, f.bucket) AS below
FROM acc f JOIN q_coarse c USING (k) WHERE 10 * (c.below + f.acc) >= c.scored_ms GROUP BY k""",
)
# The exact 10th percentile: the samples of each level's band, in (score, weight) order, from the weight below it.
_SCORES = f"""
INSERT INTO quality_scores (project_id, session_id, level, entity_id, meeting_index, connection_id, samples,
                            scored_ms, score, score_p10, write_seq)
WITH wanted AS MATERIALIZED (  -- each entity's samples count in up to 5 levels: the bands of those levels
  SELECT m.ekey, t.bucket, t.k  -- (first: else DuckDB joins the samples on bucket alone)
  FROM q_lm l JOIN q_target t USING (k) JOIN q_members m USING (ent)
),
in_band AS (  -- the settled samples (a sample's entries summed), then those after the horizon $h
  SELECT k, e.score AS score, sum(e.w) AS w
  FROM (SELECT b.k, unnest(p.band) AS e FROM quality_settled p JOIN wanted b ON b.ekey = p.ekey AND b.bucket = p.bucket
        WHERE p.upto >= {SINCE})  -- (parts are appended by upto: zone maps skip the older ones)
  GROUP BY k, e.k, e.score
  UNION ALL
  SELECT b.k, s.score, {SCORE_WEIGHT} AS w  -- (the band computed first: DuckDB plans a join on the expression badly)
  FROM (SELECT ekey, ts, prev_ts, score, {BUCKET} AS bucket
        FROM quality_samples WHERE ts > $h AND ts >= {SINCE} AND score IS NOT NULL) s
  JOIN wanted b ON b.ekey = s.ekey AND b.bucket = s.bucket
),
ranked AS (
  SELECT k, score, w, sum(w) OVER (PARTITION BY k ORDER BY score, w ROWS UNBOUNDED PRECEDING) AS acc
  FROM in_band
),
p10 AS (
  SELECT k, min(r.score) FILTER (WHERE 10 * (t.below + r.acc) >= t.scored_ms) AS p10
  FROM ranked r JOIN q_target t USING (k) GROUP BY k
),
groups AS ({_GROUPS})
SELECT r.project_id, r.session_id, r.level, r.entity_id,
       CASE r.level WHEN 'stream' THEN p.meeting_index WHEN 'subscriber' THEN u.meeting_index
                    WHEN 'connection' THEN c.meeting_index WHEN 'meeting' THEN CAST(r.entity_id AS INTEGER) END,
       CASE r.level WHEN 'stream' THEN p.owner WHEN 'subscriber' THEN u.owner
                    WHEN 'connection' THEN r.entity_id END,
       t.samples, t.scored_ms, t.score, x.p10, $w
FROM q_target t JOIN p10 x USING (k) JOIN groups r USING (k)
LEFT JOIN q_members p ON r.level = 'stream' AND p.side = 'pub' AND p.project_id = r.project_id
                         AND p.session_id = r.session_id AND p.entity_id = r.entity_id
LEFT JOIN q_members u ON r.level = 'subscriber' AND u.side = 'sub' AND u.project_id = r.project_id
                         AND u.session_id = r.session_id AND u.entity_id = r.entity_id
-- a connection's meeting, from the batch's connections only (unbounded, the whole table was read at every step)
LEFT JOIN (SELECT project_id, session_id, connection_id, meeting_index FROM connections
           WHERE {rows_of_keys("connections")}) c
  ON r.level = 'connection' AND c.project_id = r.project_id AND c.session_id = r.session_id
     AND c.connection_id = r.entity_id"""

def _issues_sql() -> tuple[str, str]:
    """The sessions' entities' runs of offending samples (kept at absorb, store/duckdb/quality_runs.py) of
    min_samples or more: their issues."""
    issue = " ".join(f"WHEN {i} THEN '{name}'" for i, name in CHECKS)
    metric = " ".join(f"WHEN {i} THEN '{SAMPLE_CHECKS[name][0]}'" for i, name in CHECKS)
    threshold = " ".join(f"WHEN {i} THEN ${name}" for i, name in CHECKS)
    return (f"""
CREATE OR REPLACE TEMP TABLE q_issues AS
SELECT m.ent, r.chk, r.start_ts, r.last_ts AS end_ts, r.value, r.samples
FROM quality_runs r JOIN q_members m USING (ekey) WHERE r.samples >= $min_samples AND r.last_ts >= {SINCE}""", f"""
INSERT INTO quality_issues (project_id, session_id, meeting_index, issue_type, entity_kind, entity_id, connection_id,
                            start_ts, end_ts, metric, value, threshold, samples, write_seq)
SELECT m.project_id, m.session_id, m.meeting_index, CASE i.chk {issue} END,
       CASE m.side WHEN 'pub' THEN 'stream' ELSE 'subscriber' END, m.entity_id, m.owner, i.start_ts, i.end_ts,
       CASE i.chk {metric} END, i.value, CASE i.chk {threshold} END, i.samples, $w
FROM q_issues i JOIN q_members m USING (ent)""")


_ISSUES, _INSERT_ISSUES = _issues_sql()

_DIMS = ", ".join(DIMENSIONS)
_C_DIMS = ", ".join(f"c.{d}" for d in DIMENSIONS)
# the endpoint-day measures of the samples and sample issues (a session's lifecycle issues are in others)
PART_COLUMNS = ("pub_score_ms", "pub_scored_ms", "sub_score_ms", "sub_scored_ms",
                *(f"issues_{t}" for t in SAMPLE_CHECKS))


def _parts_sql() -> str:
    """Additive endpoint-day measures of the samples and sample issues, on their participant's dimensions
    (the day of the sample, of the issue's start): summed per entity and day first, then joined to the
    participants once (an issue's LA day is that of its UTC hour: the offsets are whole hours)."""
    sides = ", ".join(
        f"sum(CASE WHEN m.side = '{side}' THEN e.{value} ELSE 0.0 END) AS {side}_{column}"
        for side in ("pub", "sub") for column, value in (("score_ms", "sw"), ("scored_ms", "w"))
    )
    counts = ", ".join(f"CAST(coalesce(sum(e.n) FILTER (WHERE e.chk = {k}), 0) AS DOUBLE) AS issues_{t}"
                       for k, t in CHECKS)
    conns = (f"SELECT project_id, session_id, connection_id, {_DIMS} FROM connections "
             f"WHERE {rows_of_keys('connections')}")
    return f"""
CREATE OR REPLACE TEMP TABLE q_parts AS
WITH conns AS ({conns}),
hours AS (SELECT DISTINCT start_ts // 3600000 AS h FROM q_issues),
la AS (SELECT h, CAST(timezone('America/Los_Angeles', to_timestamp(h * 3600.0)) AS DATE) AS day FROM hours),
per_entity AS (
  SELECT ent, day, sum(weight_ms) AS w, sum(score_ms) AS sw, NULL AS chk, 0 AS n FROM q_eb GROUP BY ent, day
  UNION ALL
  SELECT i.ent, la.day, 0, 0, i.chk, count(*) FROM q_issues i JOIN la ON la.h = i.start_ts // 3600000 GROUP BY ALL
)
SELECT m.project_id, m.session_id, e.day, {_C_DIMS}, {sides}, {counts}
FROM per_entity e JOIN q_members m USING (ent)
LEFT JOIN conns c ON c.project_id = m.project_id AND c.session_id = m.session_id AND c.connection_id = m.owner
GROUP BY ALL"""


_PARTS = _parts_sql()
# (the sessions' rows were all written at or after $since: this step's write_seq in a step, which lets zone maps skip
# the day's others)
_SAME_ROW = ("e.write_seq >= $since AND e.project_id = p.project_id AND e.session_id = p.session_id AND e.day = p.day "
             "AND " + " AND ".join(f"e.{d} IS NOT DISTINCT FROM p.{d}" for d in DIMENSIONS))
# Added to the session's endpoint-day row of the same day and dimensions, else a new row (other measures 0),
# as derive/quality.add_endpoint_parts does.
_ADD_PARTS = (f"UPDATE session_endpoint_days e SET {', '.join(f'{c} = e.{c} + p.{c}' for c in PART_COLUMNS)} "
              f"FROM q_parts p WHERE {_SAME_ROW}")
_INSERT_PARTS = (
    f"INSERT INTO session_endpoint_days (project_id, session_id, day, {_DIMS}, {', '.join(PART_COLUMNS)}, "
    f"write_seq) SELECT project_id, session_id, day, {_DIMS}, {', '.join(PART_COLUMNS)}, $w FROM q_parts p "
    f"WHERE NOT EXISTS (SELECT 1 FROM session_endpoint_days e WHERE {_SAME_ROW})")


# -- sessions whose sample quality waits (store.py's replace_derived, setting quality_refresh_s) ---------------
# A live session derived again soon keeps its score rows and sample issues (re-stamped with the step's write_seq,
# schema.WRITTEN), and the endpoint-day measures of its samples are carried from its old endpoint-day rows to the
# new ones: its quality as it was at its last scoring (store/duckdb/rescoring.py).
WAITING = "(project_id, session_id) IN (SELECT project_id, session_id FROM q_wait)"
SAMPLE_ISSUE = f"issue_type IN ({', '.join(repr(name) for name in SAMPLE_CHECKS)})"
# the rows of waiting sessions that stay (left out of the DELETE of the sessions' old rows)
KEPT = {"quality_scores": WAITING, "quality_issues": f"{WAITING} AND {SAMPLE_ISSUE}"}
_RESTAMP = tuple(f"UPDATE {table} SET write_seq = $w WHERE {rows_of_keys(table)} AND {kept}"
                 for table, kept in KEPT.items())
_KEEP_PARTS = f"""
CREATE OR REPLACE TEMP TABLE q_kept AS
SELECT project_id, session_id, day, {_DIMS}, {', '.join(PART_COLUMNS)} FROM session_endpoint_days
WHERE {rows_of_keys("session_endpoint_days")} AND {WAITING} AND ({' OR '.join(f'{c} <> 0' for c in PART_COLUMNS)})"""


def keep_parts(con: duckdb.DuckDBPyConnection) -> None:
    """Before the sessions' old endpoint-day rows go: the measures of their samples, for the sessions in temp table
    `q_wait` (derive_sample_quality adds them to the new rows)."""
    con.execute(_KEEP_PARTS)


def derive_sample_quality(con: duckdb.DuckDBPyConnection, t: QualityThresholds, write_seq: int,
                          waiting: int = 0, sessions: int = 0, final_before: date | None = None,
                          rows_since: int | None = None) -> None:
    """Insert the score rows and sample-issue rows of the sessions in temp table `keys`, and add their
    endpoint-day measures (the caller's transaction; the sessions' other derived rows already in, stamped
    `write_seq` as these are: schema.WRITTEN).

    With `waiting` (how many of the `sessions` in `keys`), the sessions in temp table `q_wait` are left out (their
    rows were kept, `KEPT`) but for their endpoint-day measures, kept by `keep_parts`. None are added to days before
    `final_before` (store/final_rows.py). `rows_since`: the least write_seq of the sessions' endpoint-day rows when
    an earlier step wrote them (a quality pass, store/duckdb/quality_pass.py); `write_seq` by default."""
    if waiting:
        for sql in _RESTAMP:  # (before `keys` is narrowed: schema.WRITTEN is the batch's)
            con.execute(sql, {"w": write_seq})
        if sessions > waiting:
            con.execute("CREATE OR REPLACE TEMP TABLE keys_step AS SELECT * FROM keys")
            con.execute(f"DELETE FROM keys WHERE {WAITING}")
            con.execute(KEYS_BOUNDS_SET)
            _score(con, t, write_seq)
            con.execute("INSERT INTO q_parts BY NAME SELECT * FROM q_kept")
            # the step's later statements are about all its sessions again (on an error the caller rolls back, and
            # replace_derived makes `keys` anew at the next step)
            con.execute("CREATE OR REPLACE TEMP TABLE keys AS SELECT * FROM keys_step")
            con.execute(KEYS_BOUNDS_SET)
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE q_parts AS SELECT * FROM q_kept")
    else:
        _score(con, t, write_seq)
    if final_before is not None:
        con.execute("DELETE FROM q_parts WHERE day < ?", [final_before])
    since = write_seq if rows_since is None else rows_since
    con.execute(_ADD_PARTS, {"since": since})
    con.execute(_INSERT_PARTS, {"w": write_seq, "since": since})


def _score(con: duckdb.DuckDBPyConnection, t: QualityThresholds, write_seq: int) -> None:
    """The score rows, sample-issue rows and endpoint-day measures (temp table q_parts) of the sessions in `keys`."""
    con.execute(_MEMBERS)
    con.execute(_LEVEL_MEMBERS)
    con.execute(_ENTITY_BUCKETS)
    for sql in _TARGETS:
        con.execute(sql)
    con.execute(_SCORES, {"w": write_seq, "h": settled_upto(con)})
    con.execute(_ISSUES, {"min_samples": t.min_samples})
    con.execute(_INSERT_ISSUES, {**{i: threshold(i, t) for i in SAMPLE_CHECKS}, "w": write_seq})
    con.execute(_PARTS)
