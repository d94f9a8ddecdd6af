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


def run_thresholds(t: QualityThresholds) -> dict[str, float]:
    """The thresholds that decide whether a sample offends (min_samples applies at derivation)."""
    return {"packet_loss": t.packet_loss, "rtt_ms": t.rtt_ms, "jitter_ms": t.jitter_ms,
            "min_bpp": t.min_bpp, "min_fps": t.min_fps, "freezes": float(t.freezes)}


def stored_thresholds(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The thresholds the stored runs were found with (the defaults on a file that never recorded any)."""
    row = first_row(con.execute("SELECT value FROM meta WHERE key = ?", [META_KEY]))
    return json.loads(row[0]) if row else run_thresholds(QualityThresholds())


# Per touched entity (q_touch: ekey, m) and check: where its runs are found again, (s_ts, s_eid) = the first
# sample of the stored run spanning m (at most one per check: a check's runs never overlap), else (m, '').
_REGION = f"""
CREATE OR REPLACE TEMP TABLE q_region AS
SELECT t.ekey, c.chk, coalesce(r.first_ts, t.m) AS s_ts, coalesce(r.first_event_id, '') AS s_eid
FROM q_touch t CROSS JOIN (SELECT unnest(range({len(CHECKS)})) AS chk) c
LEFT JOIN quality_runs r ON r.ekey = t.ekey AND r.chk = c.chk AND r.first_ts < t.m AND r.last_ts >= t.m"""
# Every stored run ending in the region is found again (they all start in it: runs of a check never overlap).
# The bound on last_ts lets zone maps skip the older runs' row groups (without it: a scan of the whole table at
# every absorb, 0.19 s at 3.8 million runs, docs/benchmarks.md).
IN_REGIONS = "r.last_ts >= (SELECT min(s_ts) FROM q_region)"
_DROP = f"""
DELETE FROM quality_runs r USING q_region g
WHERE r.ekey = g.ekey AND r.chk = g.chk AND (r.last_ts, r.last_event_id) >= (g.s_ts, g.s_eid) AND {IN_REGIONS}"""
# The region's offending samples, one row per sample and check it fails.
_OFFENDING = f"""
CREATE OR REPLACE TEMP TABLE q_roff AS
WITH s AS MATERIALIZED (
  SELECT * FROM (
    SELECT q.ekey, q.ts, q.event_id, q.prev_ts, q.prev_event_id, {WEIGHT} AS weight,
           {", ".join(f"{CHECK_SQL[issue]} AS c{i}" for i, issue in CHECKS)}
    FROM quality_samples q JOIN (SELECT ekey, min(s_ts) AS s FROM q_region GROUP BY ekey) e
      ON q.ekey = e.ekey AND q.ts >= e.s  -- each entity from its region on
    WHERE q.ts >= (SELECT min(s_ts) FROM q_region)  -- (zone maps skip the older row groups)
  ) WHERE {" OR ".join(f"c{i} IS NOT NULL" for i, _ in CHECKS)}
)
SELECT o.* FROM ({" UNION ALL ".join(
    f"SELECT ekey, {i} AS chk, ts, event_id, prev_ts, prev_event_id, weight, c{i} AS v FROM s WHERE c{i} IS NOT NULL"
    for i, _ in CHECKS)}) o
JOIN q_region g USING (ekey, chk) WHERE (o.ts, o.event_id) >= (g.s_ts, g.s_eid)"""
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
  ON r.ekey = n.ekey AND r.chk = n.chk AND r.last_ts = n.prev_ts AND r.last_event_id = n.prev_event_id"""
_DROP_JOINED = """
DELETE FROM quality_runs r USING q_rjoin j
WHERE r.ekey = j.ekey AND r.chk = j.chk AND r.first_ts = j.first_ts AND r.first_event_id = j.first_event_id"""
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
    (quality_samples already holds them, with their previous-sample links)."""
    con.execute(_REGION)
    con.execute(_DROP)
    con.execute(_OFFENDING, thresholds)
    con.execute(_RUNS)
    con.execute(_JOINED)
    con.execute(_DROP_JOINED)
    con.execute(_INSERT)


def rebuild_runs(con: duckdb.DuckDBPyConnection, thresholds: dict[str, float]) -> None:
    """Find every run again with these thresholds and record them (the caller's transaction)."""
    con.execute("DELETE FROM quality_runs")
    con.execute("CREATE OR REPLACE TEMP TABLE q_touch AS SELECT ekey, min(ts) AS m FROM quality_samples GROUP BY ekey")
    absorb_runs(con, thresholds)
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [META_KEY, json.dumps(thresholds, sort_keys=True)])
