"""DuckDB DDL, generated from the shared column vocabularies so the tables
can never drift from the event table or the derived-row model."""

from __future__ import annotations

from datetime import date

from videoinsights.derive.fine import FINE_MEASURES
from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES, PROJECT_MEASURES
from videoinsights.derive.quality import SAMPLE_MS
from videoinsights.domain.days import la_day
from videoinsights.domain.events import COLUMN_KIND, FIELD_COLUMNS, SQL_TYPE
from videoinsights.domain.quality import BITRATE_BOUNDS, LATENCY_BOUNDS, STATS_EXTRA_COLUMNS
from videoinsights.domain.tiers import TIER_COLUMNS

# 6: quality_samples/quality_buckets (scored at absorb); 7: the dedup keys moved from the event_ids table to
# the keys file (store/duckdb/dedup.py); 8: quality_runs (runs of offending samples kept at absorb);
# 9: dirty_sessions.never_derived; 10: write_seq (WRITE_SEQ_COLUMNS); 11: quality_settled; 12: quality_buckets.first_ts;
# 13: stats samples clustered by session (stats_samples.skey, session_bounds.skey/compacted_seq/last_seq);
# 14: stale_months (monthly rollups refreshed apart from the derive steps, store/duckdb/months.py); 15: daily totals;
# 16: the raw tables in a file of their own (RAW_TABLES); 17: the raw tables without a session_id index (RAW_TABLES);
# 18: quality_late (late samples parked, store/duckdb/late_samples.py); 19: quality_owed (sessions whose sample quality
# a pass of its own scores, store/duckdb/quality_pass.py)
SCHEMA_VERSION = 19


def _columns(names: tuple[str, ...], sql_type: str) -> str:
    return ",\n  ".join(f"{n} {sql_type}" for n in names)


def _raw_fields() -> str:
    return ",\n  ".join(f"{c} {SQL_TYPE[COLUMN_KIND[c]]}" for c in FIELD_COLUMNS)


_ENVELOPE = """project_id VARCHAR NOT NULL,
  event_id VARCHAR NOT NULL,
  type VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  ts BIGINT NOT NULL,                  -- epoch ms
  day DATE NOT NULL,                   -- America/Los_Angeles day of ts
  received_at BIGINT NOT NULL,
  seq BIGINT NOT NULL"""  # commit sequence number (monotonic)
STATS_BUCKET_COLUMNS: tuple[str, ...] = (
    *(f"lat_{i}" for i in range(len(LATENCY_BOUNDS) + 1)),
    *(f"br_{i}" for i in range(len(BITRATE_BOUNDS) + 1)),
)
_DIMS = _columns(DIMENSIONS, "VARCHAR")
_TIERS = _columns(TIER_COLUMNS, "DOUBLE NOT NULL DEFAULT 0")
_ENDPOINT = _columns(ENDPOINT_MEASURES, "DOUBLE NOT NULL DEFAULT 0")
_PROJECT = _columns(PROJECT_MEASURES, "DOUBLE NOT NULL DEFAULT 0")
_FINE = _columns(FINE_MEASURES, "DOUBLE NOT NULL DEFAULT 0")
# HOURLY / MINUTE intervals (derive/fine.py): bucket = epoch ms starting the hour or minute.
FINE_KINDS = ("hour", "minute")

# A stats sample as scored at absorb (quality_samples, and quality_late's samples waiting to be absorbed)
_SCORED_SAMPLE = """
  ekey UBIGINT NOT NULL,               -- the stream/subscriber: md5 of project, session, side, entity id (quality.py)
  ts BIGINT NOT NULL,
  event_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  prev_ts BIGINT,                      -- the entity's previous sample (ts, event_id), when at most 60 s earlier
  prev_event_id VARCHAR,
  score DOUBLE,                        -- 1..5, NULL when the sample has nothing to score
  loss DOUBLE,                         -- the metrics the issue checks compare (docs/quality.md)
  rtt DOUBLE,
  jitter DOUBLE,
  bpp DOUBLE,
  vkbps DOUBLE,
  fps DOUBLE,
  freezes DOUBLE,
  qlr VARCHAR"""

TABLES: dict[str, str] = {
    "meta": """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)""",
    "projects": """
CREATE TABLE IF NOT EXISTS projects (
  project_id VARCHAR PRIMARY KEY,      -- 8-digit API key, or an application UUID
  kind VARCHAR NOT NULL,               -- 'project' | 'application'
  name VARCHAR NOT NULL,
  api_secret VARCHAR,                  -- projects: 40 hex chars (HS256 key)
  public_key VARCHAR,                  -- applications: PEM (RS256)
  callback_token VARCHAR NOT NULL,     -- Vonage session-monitoring callbacks
  advanced_insights BOOLEAN NOT NULL,
  created_at BIGINT NOT NULL
)""",
    # Raw events: lifecycle, attempts and add-ons. `seq` is the writer's commit number.
    "events": f"""
CREATE TABLE IF NOT EXISTS events (
  {_ENVELOPE},
  {_raw_fields()}
)""",
    # Raw 30-second stats samples (publisherStats / subscriberStats): most of the volume, kept apart
    # so that re-deriving a session scans only the small lifecycle table.
    "stats_samples": f"""
CREATE TABLE IF NOT EXISTS stats_samples (
  {_ENVELOPE},
  {_raw_fields()},
  skey BIGINT                          -- its session's key once moved into session order (store/duckdb/compaction.py)
)""",
    # Stats samples aggregated per stream/subscriber and day, maintained incrementally by commit seq.
    "stats_daily": f"""
CREATE TABLE IF NOT EXISTS stats_daily (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  side VARCHAR NOT NULL,               -- 'pub' (entity = stream_id) | 'sub' (entity = subscriber_id)
  entity_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  samples BIGINT NOT NULL,
  first_ts BIGINT NOT NULL,
  last_ts BIGINT NOT NULL,
  {_columns(STATS_BUCKET_COLUMNS, "BIGINT NOT NULL")},
  lat_sum DOUBLE NOT NULL,
  lat_count BIGINT NOT NULL,
  br_sum DOUBLE NOT NULL,
  br_count BIGINT NOT NULL,
  {_columns(STATS_EXTRA_COLUMNS, "DOUBLE NOT NULL DEFAULT 0")},
  PRIMARY KEY (project_id, session_id, side, entity_id, day)
)""",
    # Each stats sample scored once, when its commit is absorbed (store/duckdb/quality.py, docs/quality.md):
    # what re-deriving a session reads instead of the wide raw rows, and only where it must.
    "quality_samples": f"""
CREATE TABLE IF NOT EXISTS quality_samples ({_SCORED_SAMPLE}
)""",
    # Samples that arrived late, scored and waiting to be absorbed with the others (store/duckdb/late_samples.py): the
    # columns of quality_samples, after their project and session.
    "quality_late": f"""
CREATE TABLE IF NOT EXISTS quality_late (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,{_SCORED_SAMPLE}
)""",
    # The scored samples' (key, score, weight) per stream/subscriber, day and 0.01 band, settled in parts appended
    # every few minutes (and for samples arriving after their time settled): what the exact 10th percentile reads
    # instead of every stream's samples since a batch's oldest session began (store/duckdb/quality.py).
    "quality_settled": """
CREATE TABLE IF NOT EXISTS quality_settled (
  ekey UBIGINT NOT NULL,
  day DATE NOT NULL,
  bucket INTEGER NOT NULL,
  upto BIGINT NOT NULL,                -- the settle horizon it was appended at: its samples are at or before it
  band STRUCT(k BIGINT, score DOUBLE, w BIGINT)[] NOT NULL  -- k: the sample's ts; w: its weight or a change of it
)""",
    # Runs of offending samples per stream/subscriber and check (store/duckdb/quality_runs.py), of every length:
    # derivation counts those of quality_min_samples or more.
    "quality_runs": """
CREATE TABLE IF NOT EXISTS quality_runs (
  ekey UBIGINT NOT NULL,
  chk INTEGER NOT NULL,                -- the check, numbered as derive/quality.SAMPLE_CHECKS
  first_ts BIGINT NOT NULL,            -- the run's first sample (ts, event_id) ...
  first_event_id VARCHAR NOT NULL,
  start_ts BIGINT NOT NULL,            -- ... minus its weight: where the issue starts
  last_ts BIGINT NOT NULL,             -- the run's last sample: where it ends
  last_event_id VARCHAR NOT NULL,
  samples BIGINT NOT NULL,
  value DOUBLE                         -- the worst offending value
)""",
    # Scored samples per stream/subscriber, day and 0.01-wide score band (bucket = floor(score x 100)).
    "quality_buckets": """
CREATE TABLE IF NOT EXISTS quality_buckets (
  ekey UBIGINT NOT NULL,
  day DATE NOT NULL,
  bucket INTEGER NOT NULL,
  samples BIGINT NOT NULL,
  weight_ms BIGINT NOT NULL,           -- sum of the samples' weights (a weight of 0 counts 1 ms)
  score_ms DOUBLE NOT NULL,            -- sum of score x weight
  min_score DOUBLE NOT NULL,
  -- the first sample's ts when the row was inserted, never before its session's first event: absorbs append rows
  -- in time order, so a bound on it lets zone maps skip the bands of entities that began earlier (store/duckdb/
  -- quality.py); rows stored before version 12 hold the largest BIGINT (never skipped)
  first_ts BIGINT,
  PRIMARY KEY (ekey, day, bucket)
)""",
    # Time span of each session's raw events: bounds the scan when a session is re-derived.
    # Like dirty_sessions and stats_daily it is brought up to date from rows with seq > meta.derived_seq.
    "session_bounds": """
CREATE TABLE IF NOT EXISTS session_bounds (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  first_ts BIGINT NOT NULL,
  last_ts BIGINT NOT NULL,
  last_seq BIGINT,                     -- the newest commit absorbed with a row of the session (NULL: before version 13)
  -- store/duckdb/compaction.py: the key its stats samples were moved under, in session order (NULL: not yet; 0: left
  -- in arrival order), and the commits moved (up to this seq; a row of a later commit is read by its ts window)
  skey BIGINT,
  compacted_seq BIGINT,
  PRIMARY KEY (project_id, session_id)
)""",
    # Sessions derived with their sample quality left to a pass of its own (setting quality_pass_s,
    # store/duckdb/quality_pass.py): written with the derivation that left it, so a restart scores them too.
    "quality_owed": """
CREATE TABLE IF NOT EXISTS quality_owed (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  PRIMARY KEY (project_id, session_id)
)""",
    # Sessions with events not yet reflected in the derived tables.
    "dirty_sessions": """
CREATE TABLE IF NOT EXISTS dirty_sessions (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  dirtied_seq BIGINT NOT NULL,         -- first commit that dirtied it: sessions are derived in this order
  never_derived BOOLEAN NOT NULL DEFAULT false,  -- first seen while it waited: derived first (store.py)
  PRIMARY KEY (project_id, session_id)
)""",
    "sessions": f"""
CREATE TABLE IF NOT EXISTS sessions (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  media_mode VARCHAR NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  meeting_count INTEGER NOT NULL,
  publisher_minutes DOUBLE NOT NULL,
  subscriber_minutes DOUBLE NOT NULL,
  {_TIERS}
)""",
    "meetings": f"""
CREATE TABLE IF NOT EXISTS meetings (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  meeting_index INTEGER NOT NULL,
  meeting_id VARCHAR NOT NULL,
  created_at BIGINT NOT NULL,
  destroyed_at BIGINT,
  publisher_minutes DOUBLE NOT NULL,
  subscriber_minutes DOUBLE NOT NULL,
  max_concurrent_connections INTEGER NOT NULL,
  max_concurrent_streams INTEGER NOT NULL,
  max_concurrent_subscribers INTEGER NOT NULL,
  total_connections INTEGER NOT NULL,
  total_streams INTEGER NOT NULL,
  total_subscribers INTEGER NOT NULL,
  {_TIERS}
)""",
    "connections": """
CREATE TABLE IF NOT EXISTS connections (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  meeting_index INTEGER NOT NULL,
  connection_id VARCHAR NOT NULL,
  created_at BIGINT NOT NULL,
  destroyed_at BIGINT,
  ended_at BIGINT NOT NULL,
  reason VARCHAR,
  sdk_type VARCHAR, sdk_version VARCHAR, browser VARCHAR, browser_version VARCHAR,
  country VARCHAR, region VARCHAR, city VARCHAR, guid VARCHAR, os VARCHAR, os_version VARCHAR,
  device_model VARCHAR, network_type VARCHAR, app_version VARCHAR, user_agent VARCHAR
)""",
    "publishers": """
CREATE TABLE IF NOT EXISTS publishers (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  meeting_index INTEGER NOT NULL,
  stream_id VARCHAR NOT NULL,
  connection_id VARCHAR,
  created_at BIGINT NOT NULL,
  destroyed_at BIGINT,
  ended_at BIGINT NOT NULL,
  minutes DOUBLE NOT NULL,
  video_type VARCHAR,
  has_audio BOOLEAN,
  has_video BOOLEAN,
  name VARCHAR,
  reason VARCHAR
)""",
    "subscribers": """
CREATE TABLE IF NOT EXISTS subscribers (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  meeting_index INTEGER NOT NULL,
  subscriber_id VARCHAR NOT NULL,
  stream_id VARCHAR,
  connection_id VARCHAR,
  created_at BIGINT NOT NULL,
  destroyed_at BIGINT,
  ended_at BIGINT NOT NULL,
  minutes DOUBLE NOT NULL
)""",
    # A session's contributions to each day; rollups are re-aggregated from these.
    "session_endpoint_days": f"""
CREATE TABLE IF NOT EXISTS session_endpoint_days (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  {_DIMS},
  {_ENDPOINT}
)""",
    "session_project_days": f"""
CREATE TABLE IF NOT EXISTS session_project_days (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  {_PROJECT}
)""",
    "rollup_endpoint_daily": f"""
CREATE TABLE IF NOT EXISTS rollup_endpoint_daily (
  project_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  {_DIMS},
  {_ENDPOINT}
)""",
    # rollup_endpoint_daily summed over its dimensions, one row per (project, day) (store/duckdb/totals.py)
    "rollup_endpoint_daily_totals": f"""
CREATE TABLE IF NOT EXISTS rollup_endpoint_daily_totals (
  project_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  {_ENDPOINT}
)""",
    "rollup_project_daily": f"""
CREATE TABLE IF NOT EXISTS rollup_project_daily (
  project_id VARCHAR NOT NULL,
  day DATE NOT NULL,
  {_PROJECT}
)""",
    "rollup_endpoint_monthly": f"""
CREATE TABLE IF NOT EXISTS rollup_endpoint_monthly (
  project_id VARCHAR NOT NULL,
  month DATE NOT NULL,
  {_DIMS},
  {_ENDPOINT}
)""",
    "rollup_project_monthly": f"""
CREATE TABLE IF NOT EXISTS rollup_project_monthly (
  project_id VARCHAR NOT NULL,
  month DATE NOT NULL,
  {_PROJECT}
)""",
    # The (project, month)s whose monthly rollup rows lag their daily rows (store/duckdb/months.py).
    "stale_months": """
CREATE TABLE IF NOT EXISTS stale_months (
  project_id VARCHAR NOT NULL,
  month DATE NOT NULL,
  PRIMARY KEY (project_id, month)
)""",
    **{f"session_endpoint_{kind}s": f"""
CREATE TABLE IF NOT EXISTS session_endpoint_{kind}s (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  bucket BIGINT NOT NULL,
  {_DIMS},
  {_FINE}
)""" for kind in FINE_KINDS},
    **{f"rollup_endpoint_{kind}ly": f"""
CREATE TABLE IF NOT EXISTS rollup_endpoint_{kind}ly (
  project_id VARCHAR NOT NULL,
  bucket BIGINT NOT NULL,
  {_DIMS},
  {_FINE}
)""" for kind in FINE_KINDS},
    # Publishable, write-only client keys (auth/client_keys.py): only the key's SHA-256 is kept.
    "client_keys": """
CREATE TABLE IF NOT EXISTS client_keys (
  key_hash VARCHAR PRIMARY KEY,        -- sha256 hex of the whole key
  prefix VARCHAR NOT NULL,             -- its first 12 characters, shown by `keys list`
  project_id VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  origins VARCHAR[] NOT NULL,          -- allowed browser origins ('*' = any)
  created_at BIGINT NOT NULL,
  revoked_at BIGINT                    -- NULL while active
)""",
    # LiveKit API keys whose webhooks a project accepts (web/livekit.py). The secret verifies
    # LiveKit's signature (HS256), so it is stored as given, like a project's api_secret.
    "livekit_keys": """
CREATE TABLE IF NOT EXISTS livekit_keys (
  api_key VARCHAR PRIMARY KEY,         -- the `iss` of LiveKit's webhook JWT
  project_id VARCHAR NOT NULL,
  api_secret VARCHAR NOT NULL,
  created_at BIGINT NOT NULL
)""",
    # Dashboard accounts (videoinsights/accounts/): people who log in to the explorer and dashboard.
    "accounts": """
CREATE TABLE IF NOT EXISTS accounts (
  account_id VARCHAR PRIMARY KEY,
  email VARCHAR NOT NULL UNIQUE,       -- lower-cased
  password_hash VARCHAR NOT NULL,      -- argon2id, PHC string
  created_at BIGINT NOT NULL
)""",
    # Which projects an account may see.
    "account_projects": """
CREATE TABLE IF NOT EXISTS account_projects (
  account_id VARCHAR NOT NULL,
  project_id VARCHAR NOT NULL,
  granted_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, project_id)
)""",
    # Browser login sessions; the cookie carries the id, only its SHA-256 is stored.
    "login_sessions": """
CREATE TABLE IF NOT EXISTS login_sessions (
  session_hash VARCHAR PRIMARY KEY,
  account_id VARCHAR NOT NULL,
  csrf_token VARCHAR NOT NULL,
  project_id VARCHAR,                  -- the project chosen in the switcher
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
)""",
    # Quality scores per level and detected issues of each session (derive/quality.py, docs/quality.md).
    "quality_scores": """
CREATE TABLE IF NOT EXISTS quality_scores (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  level VARCHAR NOT NULL,              -- 'stream' | 'subscriber' | 'connection' | 'meeting' | 'session'
  entity_id VARCHAR NOT NULL,          -- stream / subscriber / connection id, meeting index, or the session id
  meeting_index INTEGER,
  connection_id VARCHAR,               -- the participant
  samples INTEGER NOT NULL,
  scored_ms BIGINT NOT NULL,           -- total time the samples cover (the weight)
  score DOUBLE NOT NULL,               -- time-weighted mean, 1..5
  score_p10 DOUBLE NOT NULL            -- time-weighted 10th percentile
)""",
    "quality_issues": """
CREATE TABLE IF NOT EXISTS quality_issues (
  project_id VARCHAR NOT NULL,
  session_id VARCHAR NOT NULL,
  meeting_index INTEGER,
  issue_type VARCHAR NOT NULL,         -- high_packet_loss, high_rtt, ... (docs/quality.md)
  entity_kind VARCHAR NOT NULL,        -- 'stream' | 'subscriber' | 'connection' | 'attempt'
  entity_id VARCHAR NOT NULL,
  connection_id VARCHAR,               -- the affected participant
  start_ts BIGINT NOT NULL,
  end_ts BIGINT NOT NULL,
  metric VARCHAR NOT NULL,             -- the evidence: metric name ...
  value DOUBLE NOT NULL,               -- ... and its worst value in the window
  threshold DOUBLE NOT NULL,
  samples INTEGER NOT NULL
)""",
}

DERIVED_SESSION_TABLES = (
    "quality_scores",
    "quality_issues",
    "sessions",
    "meetings",
    "connections",
    "publishers",
    "subscribers",
    "session_endpoint_days",
    "session_project_days",
    "session_endpoint_hours",
    "session_endpoint_minutes",
)


# Every derived row carries the watermark (meta.derived_seq) of the step that wrote it, and session_bounds keeps
# each session's (written_seq: NULL until its rows are first written): a session's rows all lie at or above it. Rows
# are appended as steps write them, so `write_seq >= the batch's least written_seq` lets zone maps skip every row
# group written before the batch's sessions were last derived: the sessions that ended earlier in the day, which no
# time bound separates from live ones (docs/benchmarks.md, "A step's rows found by when they were written").
# DuckDB's alone (added at every open, not in TABLES: ClickHouse's tables are made from TABLES, and need no bound).
WRITE_SEQ_COLUMNS = (
    *(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS write_seq BIGINT DEFAULT 0" for table in DERIVED_SESSION_TABLES),
    "ALTER TABLE session_bounds ADD COLUMN IF NOT EXISTS written_seq BIGINT",
)
# The batch's bounds, from temp table `keys`, as one variable of the connection that made it (store.py's _keys_table
# sets it with KEYS_BOUNDS_SET, and again where `keys` is narrowed): DuckDB 2.0 folds `getvariable` into a constant
# that zone maps prune on, where a subquery on `keys` left every row group to be read (the day, hour and minute rows
# were read whole at every step, a decorrelated join: docs/benchmarks.md, "A step's bounds as constants").
_KEYS_BOUNDS = "keys_bounds"
KEYS_BOUNDS_SET = f"""SET VARIABLE {_KEYS_BOUNDS} = (
SELECT {{'first_ts': min(first_ts), 'written_seq': min(written_seq), 'rows_from_day': min(rows_from_day),
         'rows_from_ms': min(rows_from_ms), 'minutes_from_ms': min(minutes_from_ms)}} FROM keys)"""


def _keys_bound(field: str) -> str:
    """SQL: the least `field` of the sessions in `keys` (NULL when it is empty), a constant to DuckDB's planner."""
    return f"getvariable('{_KEYS_BOUNDS}').{field}"


WRITTEN = _keys_bound("written_seq")  # a session never written counts as written by this step

# The rows of the sessions in temp table `keys` (store.py's derive steps delete and re-read them). A session's
# derived rows are never older than its first raw event (keys.first_ts; session_bounds only ever lowers it):
# created_at is an event's time, a fine bucket starts less than its length before one, a day is an event's LA
# day or, for a sample issue's count, the day it starts (first_row_day). Derived rows are appended as sessions
# are derived, so this bound lets zone maps skip the row groups of sessions derived long before, where each step
# used to read the tables whole (docs/benchmarks.md).
# An issue starts at an event or up to a sample's weight (at most SAMPLE_MS) before its first offending sample.
# quality_scores has no time column.
_OF_KEYS = "(project_id, session_id) IN (SELECT project_id, session_id FROM keys)"


def la_day_of(ms: str) -> str:
    """SQL: the America/Los_Angeles day of an epoch-ms expression."""
    return f"CAST(timezone('America/Los_Angeles', to_timestamp(({ms}) / 1000.0)) AS DATE)"


# A session's day rows begin on its first event's LA day, or on the day before: a sample issue counts on the day it
# starts, up to a sample's weight (SAMPLE_MS) before its first offending sample, which may be the session's first
# event (derive/quality.py, store/duckdb/quality.py's endpoint-day parts).
DAY_ROWS_LEAD_MS = SAMPLE_MS


def first_row_day(first_ts: int) -> date:
    """The LA day of a session's earliest possible day row, from its first event (epoch ms)."""
    return la_day(first_ts - DAY_ROWS_LEAD_MS)


def first_row_day_of(first_ts: str) -> str:
    """SQL: first_row_day of an epoch-ms expression."""
    return la_day_of(f"{first_ts} - {DAY_ROWS_LEAD_MS}")


def bucketed_since(first_ts: str, first_day: str, of: str = "", floor_ms: str | None = None,
                   minute_floor_ms: str | None = None) -> dict[str, str]:
    """Per day, hour and minute table, SQL: its rows no older than a session's first event (`first_ts`, epoch ms, and
    `first_day`, the day of its first day row: first_row_day, or a later day to leave the earlier ones alone): a fine
    bucket starts less than its length before an event, and not before `floor_ms` (hours) or `minute_floor_ms`
    (minutes) when given. `of`: the columns' qualifier (e.g. the table's name followed by a dot)."""
    hours = f" AND {of}bucket >= {floor_ms}" if floor_ms is not None else ""
    minutes = f" AND {of}bucket >= {minute_floor_ms}" if minute_floor_ms is not None else ""
    return {"session_endpoint_days": f"{of}day >= {first_day}", "session_project_days": f"{of}day >= {first_day}",
            "session_endpoint_hours": f"{of}bucket > {first_ts} - 3600000{hours}",
            "session_endpoint_minutes": f"{of}bucket > {first_ts} - 60000{minutes}"}


SINCE = _keys_bound("first_ts")  # no row of these sessions is older
SINCE_DAY = la_day_of(SINCE)  # no sample of theirs is older
_SINCE_CONDITION = {
    **{table: f"created_at >= {SINCE}" for table in ("sessions", "meetings", "connections", "publishers",
                                                       "subscribers")},
    # (rows_from_day, rows_from_ms, minutes_from_ms: no earlier than the final horizons, store/final_rows.py)
    **bucketed_since(SINCE, _keys_bound("rows_from_day"), floor_ms=_keys_bound("rows_from_ms"),
                     minute_floor_ms=_keys_bound("minutes_from_ms")),
    "quality_issues": f"start_ts >= {SINCE} - {SAMPLE_MS}",
}


def _own_rows_of_keys(table: str) -> str:
    """Of a day, hour or minute table, the rows of the sessions in `keys` from each one's own first event on (and
    none before the final horizon, store/final_rows.py): an earlier use of a session id, whose raw events, bounds
    and session rows expired, keeps its rows there (they cannot be derived again), whatever the batch's other
    sessions' bounds (docs/derivation.md, Retention)."""
    own = bucketed_since("k.first_ts", "k.rows_from_day", f"{table}.", "k.rows_from_ms", "k.minutes_from_ms")[table]
    return (f"EXISTS (SELECT 1 FROM keys k WHERE k.project_id = {table}.project_id "
            f"AND k.session_id = {table}.session_id AND {own})")


_BUCKETED = frozenset(bucketed_since("0", "0"))


def rows_of_keys(table: str, exact: bool = True) -> str:
    """A WHERE condition on `table` (unaliased): the rows of the sessions in temp table `keys`. Not `exact`: of the
    day, hour and minute tables, with the rows of an expired earlier use of their ids that the batch's bounds reach
    (a cheaper join, for reads that only cost more for them)."""
    bounds = [_own_rows_of_keys(table) if exact and table in _BUCKETED else _OF_KEYS]
    if table in _SINCE_CONDITION:
        bounds.append(_SINCE_CONDITION[table])
    if table in DERIVED_SESSION_TABLES:
        bounds.append(f"write_seq >= {WRITTEN}")
    return " AND ".join(bounds)


ROLLUP_TABLES = ("rollup_endpoint_daily", "rollup_endpoint_daily_totals", "rollup_project_daily",
                 "rollup_endpoint_monthly", "rollup_project_monthly")

# What a re-aggregation of the rollups inserts and sums (store.py: the days, months.py: the months). Columns are
# named: a migrated file has its newer measure columns at the end (MIGRATIONS).
DIMENSION_LIST = ", ".join(DIMENSIONS)
ENDPOINT_ROLLUP_COLUMNS = f"{DIMENSION_LIST}, {', '.join(ENDPOINT_MEASURES)}"
ENDPOINT_SUMS = ", ".join(f"sum({m})" for m in ENDPOINT_MEASURES)
PROJECT_ROLLUP_COLUMNS = ", ".join(PROJECT_MEASURES)
PROJECT_SUMS = ", ".join(f"sum({m})" for m in PROJECT_MEASURES)

# The raw tables live in a second file, ATTACHed as RAW (`<db>.raw`): each DuckDB database has its own WAL and
# checkpoints, so an ingest commit never waits for a checkpoint of what derivation wrote (docs/architecture.md). The
# main file has views of the same names: reads name them as before; writes name RAW's tables (raw_table).
RAW = "raw"
# They have no index (up to version 16 each had one on session_id): no read chose it (a batch of sessions' samples
# matches more rows than DuckDB fetches through an index; the reads go by seq, ts windows and stats_samples.skey),
# while DuckDB held it whole in memory (~22 bytes per event), and the deletes of the retention purge and the stats
# compaction paid 1-30 us per row for it at their commits (docs/benchmarks.md, "The raw tables without an index").
RAW_TABLES = ("events", "stats_samples")
RAW_INDEXES_BEFORE_17 = tuple(f"{RAW}.{t}_session" for t in RAW_TABLES)


def raw_table(name: str) -> str:
    """A raw table's name for writing (its view in the main file takes no writes)."""
    return f"{RAW}.{name}"


INDEXES = (
    # a derive step looks its sessions' first_ts up by id (store/duckdb/store.py: _keys_table)
    "CREATE INDEX IF NOT EXISTS session_bounds_session ON session_bounds (session_id)",
    # session data reads fetch by session first (store/duckdb/reads.py: _session_rows)
    *(f"CREATE INDEX IF NOT EXISTS {t}_session ON {t} (session_id)"
      for t in ("sessions", "meetings", "connections", "publishers", "subscribers")),
)
