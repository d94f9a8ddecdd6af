"""ClickHouse DDL. The tables have the names and columns of DuckDB's (store/duckdb/schema.py), read from
those definitions so the two can never drift and the read SQL ports by dialect only; engines, sort
keys, partitions and TTLs are ClickHouse's own:

- Raw events and stats samples: MergeTree partitioned by month of their (America/Los_Angeles) day and
  ordered (project_id, session_id, ts): a session's re-derivation and drill-down read one range; a
  minmax index on ts and a bloom filter on event_id serve time scans and the ingest dedup probe.
  No TTL: the purge keeps the raw rows of a session spanning the window's start (store.py `purge`).
  A per-insert deduplication token makes a retried insert idempotent. There is no `event_ids` table:
  ingest probes the raw table itself.
- `session_bounds`: maintained by the engine (materialised views into an AggregatingMergeTree).
- `dirty_sessions`: one row per (session, ingest commit token); a token is cleared by a second row
  with `cleared = 1` (ReplacingMergeTree keeps the cleared one when parts merge). Reads group, so
  they are right before merges. See store.py for the protocol.
- Per-session derived tables: MergeTree ordered by (project_id, session_id, ...) or, for the per-day
  and per-bucket contributions, by (project_id, day|bucket, session_id): the rollups read those by time.
  They keep the `_block_number` and `_block_offset` columns (PATCHABLE), so a re-derivation's DELETE of a
  session's rows is a lightweight update, a small patch part written at once, not a mutation the
  background pool runs over whole parts (store.py `_delete_from`).
- Rollups are stored (ROLLUPS): a SummingMergeTree `<rollup>_sums` per rollup, fed by a materialised
  view from the inserts into its contribution table. The contribution tables carry a hidden `sign`
  column (MATERIALIZED 1, so `SELECT *` shows DuckDB's columns): the derivation retracts a session's
  rows by inserting them again with `sign = -1` (the feed adds `measure * sign`) before it deletes them,
  so the sums always equal the sum of the contribution rows, whatever the number of derive processes
  (additions commute) and across a crash (a retraction re-read after one cancels to nothing). Each rollup
  is read through a view with DuckDB's name and columns that sums the unmerged rows by key and drops
  groups with no live contribution (`HAVING sum(contributions) > 0`): right before merges. The monthly
  sums are fed from the day contributions directly, so months outlive their days when the purge
  deletes those (as on DuckDB).
- Metadata (projects, accounts, keys, alerts, meta): ReplacingMergeTree(version, is_deleted) ordered by
  the DuckDB primary key; read them with FINAL. An update is an insert with a higher version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from videoinsights.derive.fine import FINE_MEASURES
from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES, PROJECT_MEASURES
from videoinsights.store.base import Retention
from videoinsights.store.duckdb import alerts as duck_alerts
from videoinsights.store.duckdb import schema as duck

# 1: rollups were views over the contributions; 2: derived tables not PATCHABLE; 3: raw tables with a TTL (migrate.py)
SCHEMA_VERSION = 4

# String columns with few distinct values: dictionary-encoded.
LOW_CARDINALITY = frozenset({
    *DIMENSIONS, "type", "side", "kind", "level", "issue_type", "entity_kind", "metric", "media_mode", "reason",
    "video_type", "os", "os_version", "device_model", "network_type", "app_version", "state", "direction",
    "status", "event", "city", "sdk_type", "sdk_version", "browser", "browser_version", "country", "region",
    "quality_limitation_reason", "connection_type", "candidate_type", "protocol",
})

_TYPES = {"VARCHAR": "String", "BIGINT": "Int64", "INTEGER": "Int32", "DOUBLE": "Float64", "BOOLEAN": "Bool",
          "DATE": "Date", "VARCHAR[]": "Array(String)"}


@dataclass(frozen=True)
class Column:
    name: str
    duck_type: str
    not_null: bool
    default: str | None

    @property
    def ch_type(self) -> str:
        base = _TYPES[self.duck_type]
        if base.startswith("Array"):
            return base
        typ = base if self.not_null else f"Nullable({base})"
        if base == "String" and self.name in LOW_CARDINALITY:
            typ = f"LowCardinality({typ})"
        return typ

    def ddl(self) -> str:
        default = f" DEFAULT {self.default}" if self.default is not None else ""
        return f"{self.name} {self.ch_type}{default}"


def _split_top(body: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def duck_columns(ddl: str) -> list[Column]:
    """The columns of a DuckDB CREATE TABLE (store/duckdb/schema.py), in order."""
    text = re.sub(r"--[^\n]*", "", ddl)
    body = text[text.index("(") + 1 : text.rindex(")")]
    out = []
    for item in _split_top(body):
        if item.upper().startswith("PRIMARY KEY"):
            continue
        m = re.match(r"(\w+)\s+(VARCHAR\[\]|\w+)(.*)$", item, re.S)
        if m is None:
            raise ValueError(f"cannot read column definition {item!r}")
        name, typ, rest = m.group(1), m.group(2).upper(), m.group(3).upper()
        default = re.search(r"DEFAULT\s+(\S+)", rest)
        out.append(Column(name, typ, "NOT NULL" in rest or "PRIMARY KEY" in rest,
                          default.group(1) if default else None))
    return out


def _duck(table: str) -> list[Column]:
    ddl = duck.TABLES.get(table) or duck_alerts.TABLES[table]
    return duck_columns(ddl)


def _create(table: str, columns: list[Column], engine: str, extra: str = "") -> str:
    body = ",\n  ".join(c.ddl() for c in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {body}\n) ENGINE = {engine}\n{extra}".rstrip()


# Raw tables: MergeTree deduplicates a retried insert (same token) among its last N inserts.
_RAW_SETTINGS = "SETTINGS non_replicated_deduplication_window = 10000"


def _raw(table: str) -> str:
    """A raw table, without a TTL: the purge deletes its expired rows but those of a session still receiving events
    (store.py `purge`), which a TTL would delete at a merge (schema version 4, migrate.py)."""
    cols = _duck(table)
    body = ",\n  ".join(c.ddl() for c in cols)
    return (f"CREATE TABLE IF NOT EXISTS {table} (\n  {body},\n"
            "  INDEX ts_minmax ts TYPE minmax GRANULARITY 4,\n"
            "  INDEX event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4\n"
            ") ENGINE = MergeTree\nPARTITION BY toYYYYMM(day)\nORDER BY (project_id, session_id, ts)\n"
            f"{_RAW_SETTINGS}")


def _versioned(table: str, key: tuple[str, ...]) -> str:
    cols = [*_duck(table), Column("version", "BIGINT", True, None)]
    body = ",\n  ".join(c.ddl() for c in cols)
    return (f"CREATE TABLE IF NOT EXISTS {table} (\n  {body},\n  is_deleted UInt8 DEFAULT 0\n)"
            f" ENGINE = ReplacingMergeTree(version, is_deleted)\nORDER BY ({', '.join(key)})")


# The table settings that let a DELETE write a patch part (lightweight_delete_mode = 'lightweight_update').
PATCHABLE = "enable_block_number_column = 1, enable_block_offset_column = 1"


def _session_table(table: str, order: tuple[str, ...], partition: str | None = None, ttl: str | None = None) -> str:
    extra = (f"PARTITION BY {partition}\n" if partition else "") + f"ORDER BY ({', '.join(order)})" + (
        f"\nTTL {ttl}" if ttl else "") + f"\nSETTINGS {PATCHABLE}"
    ddl = _create(table, _duck(table), "MergeTree", extra)
    if table in CONTRIBUTION_TABLES:  # the hidden sign the rollup feeds multiply by (see the module docstring)
        head, tail = ddl.split("\n) ENGINE", 1)
        ddl = f"{head},\n  {SIGN}\n) ENGINE{tail}"
    return ddl


_DIMS = ", ".join(DIMENSIONS)


@dataclass(frozen=True)
class Rollup:
    """A stored rollup: the sums of a contribution table's measures per (project, time, dimensions)."""

    name: str                 # the view the reads query: DuckDB's rollup table name and columns
    source: str               # the per-session contribution table feeding it
    time: str                 # the rollup's time column
    time_expr: str            # that column computed from a source row
    measures: tuple[str, ...]
    dims: bool                # grouped by DIMENSIONS too
    partition: str
    window: str               # the retention window its rows fall out of: day, month, hour or minute
    ttl: str | None = None

    @property
    def sums(self) -> str:
        return f"{self.name}_sums"

    @property
    def feed(self) -> str:
        return f"{self.name}_feed"

    @property
    def key(self) -> tuple[str, ...]:
        return ("project_id", self.time, *(DIMENSIONS if self.dims else ()))


def rollups(retention: Retention | None = None) -> tuple[Rollup, ...]:
    minutes_ttl = (f"toDateTime(intDiv(bucket, 1000)) + INTERVAL {retention.minute_hours} HOUR"
                   if retention else None)
    by_month = "toYYYYMM(month)"
    return (
        Rollup("rollup_endpoint_daily", "session_endpoint_days", "day", "day", ENDPOINT_MEASURES, True, "toYYYYMM(day)",
               "day"),
        Rollup("rollup_project_daily", "session_project_days", "day", "day", PROJECT_MEASURES, False, "toYYYYMM(day)",
               "day"),
        Rollup("rollup_endpoint_monthly", "session_endpoint_days", "month", "toStartOfMonth(day)", ENDPOINT_MEASURES,
               True, by_month, "month"),
        Rollup("rollup_project_monthly", "session_project_days", "month", "toStartOfMonth(day)", PROJECT_MEASURES,
               False, by_month, "month"),
        Rollup("rollup_endpoint_hourly", "session_endpoint_hours", "bucket", "bucket", FINE_MEASURES, True,
               "toYYYYMM(toDateTime(intDiv(bucket, 1000)))", "hour"),
        Rollup("rollup_endpoint_minutely", "session_endpoint_minutes", "bucket", "bucket", FINE_MEASURES, True,
               "toYYYYMMDD(toDateTime(intDiv(bucket, 1000)))", "minute", minutes_ttl),
    )


ROLLUPS = rollups()
ROLLUP_VIEWS = tuple(r.name for r in ROLLUPS)
# Per-session contribution tables: they carry the hidden `sign` the rollup feeds multiply by.
CONTRIBUTION_TABLES = tuple(dict.fromkeys(r.source for r in ROLLUPS))
SIGN = "sign Int8 MATERIALIZED 1"


def feed_select(r: Rollup) -> str:
    """What a contribution row adds to the rollup's sums (as many rows with sign -1 take away)."""
    signed = ", ".join(f"{m} * sign AS {m}" for m in r.measures)
    dims = "".join(f", {d}" for d in DIMENSIONS) if r.dims else ""
    return (f"SELECT project_id, {r.time_expr} AS {r.time}{dims}, {signed}, toInt64(sign) AS contributions "
            f"FROM {r.source}")


def rollup_statements(r: Rollup) -> list[str]:
    """The sums table, its feed from the contribution table and the view the reads query."""
    by_name = {c.name: c for c in _duck(r.source)}
    time_type = "Date" if r.time in ("day", "month") else "Int64"
    dims = DIMENSIONS if r.dims else ()
    columns = ["project_id String", f"{r.time} {time_type}", *(by_name[d].ddl() for d in dims),
               *(by_name[m].ddl() for m in r.measures), "contributions Int64"]
    ttl = f"\nTTL {r.ttl}" if r.ttl else ""
    key = ", ".join(r.key)
    table = (f"CREATE TABLE IF NOT EXISTS {r.sums} (\n  " + ",\n  ".join(columns) + "\n) ENGINE = SummingMergeTree\n"
             f"PARTITION BY {r.partition}\nORDER BY ({key}){ttl}\nSETTINGS allow_nullable_key = 1")
    feed = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {r.feed} TO {r.sums} AS\n{feed_select(r)}"
    view = (f"CREATE VIEW IF NOT EXISTS {r.name} AS\n"
            f"SELECT {key}, {', '.join(f'sum({m}) AS {m}' for m in r.measures)} FROM {r.sums} "
            f"GROUP BY {key} HAVING sum(contributions) > 0")
    return [table, feed, view]


DERIVED_SESSION_TABLES = duck.DERIVED_SESSION_TABLES
# Metadata tables and their keys (DuckDB's primary keys): ReplacingMergeTree(version, is_deleted).
VERSIONED_TABLES: dict[str, tuple[str, ...]] = {
    "meta": ("key",),
    "projects": ("project_id",),
    "client_keys": ("key_hash",),
    "livekit_keys": ("api_key",),
    "accounts": ("account_id",),
    "account_projects": ("account_id", "project_id"),
    "login_sessions": ("session_hash",),
    "alert_rules": ("rule_id",),
    "alert_deliveries": ("delivery_id",),
    "alert_meetings_sent": ("rule_id", "session_id", "meeting_index"),
}


def create_statements(retention: Retention | None = None) -> list[str]:
    """Every CREATE of a fresh database, tables before the views reading them and feeding from them."""
    minutes_ttl = (f"toDateTime(intDiv(bucket, 1000)) + INTERVAL {retention.minute_hours} HOUR"
                   if retention else None)
    out = [
        *(_versioned(t, key) for t, key in VERSIONED_TABLES.items()),
        _raw("events"),
        _raw("stats_samples"),
        # Each session's time span, kept by the engine from both raw tables (group by the key to read it).
        """CREATE TABLE IF NOT EXISTS session_bounds (
  project_id String,
  session_id String,
  first_ts SimpleAggregateFunction(min, Int64),
  last_ts SimpleAggregateFunction(max, Int64)
) ENGINE = AggregatingMergeTree ORDER BY (project_id, session_id)""",
        *(f"""CREATE MATERIALIZED VIEW IF NOT EXISTS session_bounds_from_{raw} TO session_bounds AS
SELECT project_id, session_id, min(ts) AS first_ts, max(ts) AS last_ts FROM {raw} GROUP BY project_id, session_id"""
          for raw in ("events", "stats_samples")),
        """CREATE TABLE IF NOT EXISTS dirty_sessions (
  project_id String,
  session_id String,
  token UInt64,                        -- one per ingest commit (or rebuild) that dirtied the session
  dirtied_at Int64,                    -- epoch ms of that commit: sessions are derived oldest first
  cleared UInt8                        -- 1: a derivation that had read this token's events finished
) ENGINE = ReplacingMergeTree(cleared) ORDER BY (project_id, session_id, token)""",
        _session_table("sessions", ("project_id", "session_id")),
        _session_table("meetings", ("project_id", "session_id", "meeting_index")),
        _session_table("connections", ("project_id", "session_id", "connection_id")),
        _session_table("publishers", ("project_id", "session_id", "stream_id")),
        _session_table("subscribers", ("project_id", "session_id", "subscriber_id")),
        _session_table("quality_scores", ("project_id", "session_id", "level", "entity_id")),
        _session_table("quality_issues", ("project_id", "session_id", "start_ts")),
        _session_table("session_endpoint_days", ("project_id", "day", "session_id"), "toYYYYMM(day)"),
        _session_table("session_project_days", ("project_id", "day", "session_id"), "toYYYYMM(day)"),
        _session_table("session_endpoint_hours", ("project_id", "bucket", "session_id"),
                       "toYYYYMM(toDateTime(intDiv(bucket, 1000)))"),
        _session_table("session_endpoint_minutes", ("project_id", "bucket", "session_id"),
                       "toYYYYMMDD(toDateTime(intDiv(bucket, 1000)))", minutes_ttl),
    ]
    for rollup in rollups(retention):
        out += rollup_statements(rollup)
    return out
