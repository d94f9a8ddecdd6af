"""Runs of offending samples, kept per stream/subscriber and check at absorb (`quality_runs`).

Finding the runs of offending samples at every re-derivation of a session re-read all of its samples
(~0.27 s of CPU for bench_load's 154 sessions, docs/benchmarks.md). Runs only change where samples
arrive, so absorb keeps them: for each entity that received samples, from its earliest new sample
`m` on (or from the start of the run that spans `m`, when a late sample lands inside one), the runs
are found again and those before joined when the first new offending sample continues one. Runs are
ordered by (ts, event_id), as the samples' previous-sample links are, so the result does not depend
on arrival order. Derivation then reads the runs of its sessions' entities (store/duckdb/quality.py).

Whether a sample offends depends on the thresholds: the runs are kept for the ones recorded in meta
(`quality_run_thresholds`); derivation with other thresholds finds every run again first
(`rebuild_runs`), once.
"""

from __future__ import annotations

import json

import duckdb

from videoinsights.derive.quality import SAMPLE_CHECKS, SAMPLE_MS, QualityThresholds
from videoinsights.store.duckdb.fetch import first_row

META_KEY = "quality_run_thresholds"
CHECKS = tuple(enumerate(SAMPLE_CHECKS))  # chk number -> issue type
# A sample's weight (docs/quality.md): the time since the entity's previous sample, at most 30 s; 30 s without one.
WEIGHT = f"(CASE WHEN prev_ts IS NULL THEN {SAMPLE_MS} ELSE greatest(0, least({SAMPLE_MS}, ts - prev_ts)) END)"

# issue type -> SQL of a sample's offending value, NULL when it does not offend (derive/quality.SAMPLE_CHECKS)
CHECK_SQL: dict[str, str] = {
    "high_packet_loss": "CASE WHEN loss >= $packet_loss THEN loss END",
    "high_rtt": "CASE WHEN rtt >= $rtt_ms THEN rtt END",
    "high_jitter": "CASE WHEN jitter >= $jitter_ms THEN jitter END",
    "low_bitrate": "CASE WHEN bpp < $min_bpp THEN bpp END",
    "bandwidth_limited": "CASE WHEN qlr = 'bandwidth' THEN coalesce(vkbps, 0.0) END",
    "cpu_limited": "CASE WHEN qlr = 'cpu' THEN coalesce(vkbps, 0.0) END",
    "low_frame_rate": "CASE WHEN fps < $min_fps AND coalesce(vkbps, 0) <> 0 THEN fps END",
    "video_freeze": "CASE WHEN freezes >= $freezes THEN freezes END",
}
_LOWEST = ", ".join(str(i) for i, name in CHECKS if SAMPLE_CHECKS[name][2] is min)  # checks whose worst is the min
_WORST = f"CASE WHEN chk IN ({_LOWEST}) THEN min(v) ELSE max(v) END"
NO_RUN = 2**62  # a bound past every run's last_ts


def run_thresholds(t: QualityThresholds) -> dict[str, float]:
    """The thresholds that decide whether a sample offends (min_samples applies at derivation)."""
    return {"packet_loss": t.packet_loss, "rtt_ms": t.rtt_ms, "jitter_ms": t.jitter_ms,
            "min_bpp": t.min_bpp, "min_fps": t.min_fps, "freezes": float(t.freezes)}


def stored_thresholds(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The thresholds the stored runs were found with (the defaults on a file that never recorded any)."""
    row = first_row(con.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]))
    return json.loads(row[0]) if row else run_thresholds(QualityThresholds())


# The region where an entity's runs are found again, per check: from its earliest new sample m on, or from the first
# sample of the stored run spanning m (a late sample landing inside it). quality.py's q_redo holds every sample of a
# touched entity from m on, stored and new, with its previous-sample link as it now is; only a stored sample at or
# after m (an entity that received a sample out of order, `q_back`) can be the last of a stored run that spans m or
# comes after it. Samples in order leave q_back empty: the runs are then found from q_redo alone, with no read of
# quality_runs or quality_samples for the region (a join of every touched entity x check with the runs, and a scan
# of the samples from the oldest region start on, were half of the absorb's quality, docs/benchmarks.md).
_BACK = """
CREATE OR REPLACE TEMP TABLE q_back AS
SELECT t.ekey, t.m FROM q_touch t SEMI JOIN (SELECT ekey FROM q_redo WHERE NOT fresh) r USING (ekey)"""
# (each entity has at most one run per check spanning m: a check's runs never overlap). The bound on last_ts lets
# zone maps skip the older runs' row groups (without it: a scan of the whole table at every absorb, 0.19 s at 3.8
# million runs, docs/benchmarks.md); $lo is q_back's earliest m, a literal (a subquery bound prunes nothing).
IN_REGIONS = "r.last_ts >= $lo"
_SPANS = f"""
CREATE OR REPLACE TEMP TABLE q_span AS
SELECT t.ekey, r.chk, r.first_ts AS s_ts, r.first_event_id AS s_eid
FROM quality_runs r JOIN q_back t ON r.ekey = t.ekey AND r.first_ts < t.m AND r.last_ts >= t.m WHERE {IN_REGIONS}"""
# Every stored run ending in a region is found again: those ending at or after m (the run spanning m among them).
_DROP = f"DELETE FROM quality_runs r USING q_back t WHERE r.ekey = t.ekey AND r.last_ts >= t.m AND {IN_REGIONS}"
# The region's samples: q_redo's, and those of the runs spanning m before m (the literal $span_lo, their earliest
# start, lets zone maps skip the older row groups).
_REGION_SAMPLES = """
  SELECT ekey, ts, event_id, prev_ts, prev_event_id, loss, rtt, jitter, bpp, vkbps, fps, freezes, qlr FROM q_redo
  UNION ALL
  SELECT q.ekey, q.ts, q.event_id, q.prev_ts, q.prev_event_id, q.loss, q.rtt, q.jitter, q.bpp, q.vkbps, q.fps,
         q.freezes, q.qlr
  FROM quality_samples q JOIN (SELECT s.ekey, min(s.s_ts) AS s, any_value(t.m) AS m FROM q_span s JOIN q_back t
                                USING (ekey) GROUP BY s.ekey) e ON q.ekey = e.ekey AND q.ts >= e.s AND q.ts < e.m
  WHERE q.ts >= $span_lo"""
# ... each check's from its region's start on (a run spanning m: its first sample; else m, where q_redo begins)
_IN_REGION = """
  LEFT JOIN q_span g USING (ekey, chk) JOIN q_touch t USING (ekey)
  WHERE o.ts >= t.m OR (o.ts, o.event_id) >= (g.s_ts, g.s_eid)"""


def _offending_sql(samples: str, in_region: str) -> str:
    """The region's offending samples (`samples`: a query of them), one row per sample and check it fails."""
    checks = ", ".join(f"{CHECK_SQL[issue]} AS c{i}" for i, issue in CHECKS)
    unpivot = " UNION ALL ".join(f"SELECT ekey, {i} AS chk, ts, event_id, prev_ts, prev_event_id, weight, c{i} AS v "
                                 f"FROM s WHERE c{i} IS NOT NULL" for i, _ in CHECKS)
    return f"""
CREATE OR REPLACE TEMP TABLE q_roff AS
WITH s AS MATERIALIZED (
  SELECT * FROM (SELECT ekey, ts, event_id, prev_ts, prev_event_id, {WEIGHT} AS weight, {checks} FROM ({samples}))
  WHERE {" OR ".join(f"c{i} IS NOT NULL" for i, _ in CHECKS)}
)
SELECT o.* FROM ({unpivot}) o{in_region}"""


_OFFENDING_IN_ORDER = _offending_sql("SELECT * FROM q_redo", "")
_OFFENDING = _offending_sql(_REGION_SAMPLES, _IN_REGION)
_OFFENDING_ALL = _offending_sql("SELECT * FROM quality_samples", "")
# Runs among them: an offending sample continues the run of its previous sample when that one offends too (in the
# region, or as the last sample of a stored run before it: then the two are joined).
_RUNS = f"""
CREATE OR REPLACE TEMP TABLE q_rnew AS
WITH starts AS (
  SELECT o.*, p.ts IS NULL AS starts
  FROM q_roff o LEFT JOIN q_roff p
    ON p.ekey = o.ekey AND p.chk = o.chk AND p.ts = o.prev_ts AND p.event_id = o.prev_event_id
),
runs AS (
  SELECT *, sum(CAST(starts AS INTEGER)) OVER (PARTITION BY ekey, chk ORDER BY ts, event_id
                                              ROWS UNBOUNDED PRECEDING) AS run
  FROM starts
)
SELECT ekey, chk, any_value(ts) FILTER (WHERE starts) AS first_ts,
       any_value(event_id) FILTER (WHERE starts) AS first_event_id,
       any_value(ts - weight) FILTER (WHERE starts) AS start_ts,
       any_value(prev_ts) FILTER (WHERE starts) AS prev_ts,
       any_value(prev_event_id) FILTER (WHERE starts) AS prev_event_id,
       max((ts, event_id)) AS last, count(*) AS samples, {_WORST} AS value
FROM runs GROUP BY ekey, chk, run"""
_JOINED = """
CREATE OR REPLACE TEMP TABLE q_rjoin AS
SELECT n.ekey, n.chk, n.first_ts AS new_first_ts, n.first_event_id AS new_first_event_id, r.first_ts,
       r.first_event_id, r.start_ts,
       r.samples, r.value
FROM q_rnew n JOIN quality_runs r
  ON r.ekey = n.ekey AND r.chk = n.chk AND r.last_ts = n.prev_ts AND r.last_event_id = n.prev_event_id
WHERE r.last_ts >= $lo"""
_DROP_JOINED = """
DELETE FROM quality_runs r USING q_rjoin j
WHERE r.ekey = j.ekey AND r.chk = j.chk AND r.first_ts = j.first_ts AND r.first_event_id = j.first_event_id
  AND r.last_ts >= $lo"""
_INSERT = f"""
INSERT INTO quality_runs (ekey, chk, first_ts, first_event_id, start_ts, last_ts, last_event_id, samples, value)
SELECT n.ekey, n.chk, coalesce(j.first_ts, n.first_ts), coalesce(j.first_event_id, n.first_event_id),
       coalesce(j.start_ts, n.start_ts), n.last[1], n.last[2], n.samples + coalesce(j.samples, 0),
       CASE WHEN j.value IS NULL THEN n.value WHEN n.chk IN ({_LOWEST}) THEN least(n.value, j.value)
            ELSE greatest(n.value, j.value) END
FROM q_rnew n LEFT JOIN q_rjoin j ON j.ekey = n.ekey AND j.chk = n.chk AND j.new_first_ts = n.first_ts
                             AND j.new_first_event_id = n.first_event_id"""


def absorb_runs(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float]) -> None:
    """Find the runs again where the entities of `q_touch` (ekey, m: earliest new sample) received samples
    (quality_samples already holds them, and q_redo every sample from m on, with their previous-sample links)."""
    con.execute(_BACK)
    lo = con.execute("SELECT min(m) FROM q_back").fetchall()[0][0]
    if lo is None:  # every entity's new samples came after its stored ones
        con.execute(_OFFENDING_IN_ORDER, thresholds)
    else:
        con.execute(_SPANS, {"lo": lo})
        con.execute(_DROP, {"lo": lo})
        span_lo = con.execute("SELECT min(s_ts) FROM q_span").fetchall()[0][0]
        con.execute(_OFFENDING, {**thresholds, "span_lo": lo if span_lo is None else span_lo})
    _join_runs(con)


def _join_runs(con: duckdb.DuckDBPyConnection) -> None:
    """q_roff's runs into quality_runs, joined to the stored ones they continue."""
    con.execute(_RUNS)
    # (a literal bound: the stored runs a new one continues end at its first sample's previous one)
    lo = con.execute("SELECT min(prev_ts) FROM q_rnew").fetchall()[0][0]
    bound = {"lo": NO_RUN if lo is None else lo}
    con.execute(_JOINED, bound)
    con.execute(_DROP_JOINED, bound)
    con.execute(_INSERT)


def rebuild_runs(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float]) -> None:
    """Find every run again with these thresholds and record them (the caller's transaction)."""
    con.execute("DELETE FROM quality_runs")
    con.execute(_OFFENDING_ALL, thresholds)
    _join_runs(con)
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [META_KEY, json.dumps(thresholds, sort_keys=True)])
