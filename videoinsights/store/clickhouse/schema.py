"""ClickHouse DDL. The tables have the names and columns of DuckDB's (store/duckdb/schema.py), read from
those definitions so the two can never drift and the read SQL ports by dialect only; engines, sort
keys, partitions and TTLs are ClickHouse's own:

- Raw events and stats samples: MergeTree partitioned by month of their (America/Los_Angeles) day and
  ordered (project_id, session_id, ts): a session's re-derivation and drill-down read one range; a
  minmax index on ts and a bloom filter on event_id serve time scans and the ingest dedup probe.
  A per-insert deduplication token makes a retried insert idempotent. There is no `event_ids` table:
  ingest probes the raw table itself.
- `session_bounds`: maintained by the engine (materialised views into an AggregatingMergeTree).
- `dirty_sessions`: one row per (session, ingest commit token); a token is cleared by a second row
  with `cleared = 1` (ReplacingMergeTree keeps the cleared one when parts merge). Reads group, so
  they are right before merges. See store.py for the protocol.
- Per-session derived tables: MergeTree ordered by (project_id, session_id, ...) or, for the per-day
  and per-bucket contributions, by (project_id, day|bucket, session_id): the rollups read those by time.
- Rollups are views the engine computes from the per-session contributions (always consistent, whatever
  the number of derive processes). Monthly rollups add `*_monthly_archive`, where the retention purge
  folds day rows before it deletes them, so months outlive their days as on DuckDB.
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

SCHEMA_VERSION = 1

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


def _raw(table: str, retention: Retention | None) -> str:
    cols = _duck(table)
    ttl = f"TTL day + INTERVAL {retention.raw_days} DAY\n" if retention else ""
    body = ",\n  ".join(c.ddl() for c in cols)
    return (f"CREATE TABLE IF NOT EXISTS {table} (\n  {body},\n"
            "  INDEX ts_minmax ts TYPE minmax GRANULARITY 4,\n"
            "  INDEX event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4\n"
            ") ENGINE = MergeTree\nPARTITION BY toYYYYMM(day)\nORDER BY (project_id, session_id, ts)\n"
            f"{ttl}{_RAW_SETTINGS}")


def _versioned(table: str, key: tuple[str, ...]) -> str:
    cols = [*_duck(table), Column("version", "BIGINT", True, None)]
    body = ",\n  ".join(c.ddl() for c in cols)
    return (f"CREATE TABLE IF NOT EXISTS {table} (\n  {body},\n  is_deleted UInt8 DEFAULT 0\n)"
            f" ENGINE = ReplacingMergeTree(version, is_deleted)\nORDER BY ({', '.join(key)})")


def _session_table(table: str, order: tuple[str, ...], partition: str | None = None, ttl: str | None = None) -> str:
    extra = (f"PARTITION BY {partition}\n" if partition else "") + f"ORDER BY ({', '.join(order)})" + (
        f"\nTTL {ttl}" if ttl else "")
    return _create(table, _duck(table), "MergeTree", extra)


_DIMS = ", ".join(DIMENSIONS)


def _sums(measures: tuple[str, ...]) -> str:
    return ", ".join(f"sum({m}) AS {m}" for m in measures)


def _views() -> dict[str, str]:
    out = {
        "rollup_endpoint_daily": f"SELECT project_id, day, {_DIMS}, {_sums(ENDPOINT_MEASURES)} "
                                 f"FROM session_endpoint_days GROUP BY project_id, day, {_DIMS}",
        "rollup_project_daily": f"SELECT project_id, day, {_sums(PROJECT_MEASURES)} "
                                "FROM session_project_days GROUP BY project_id, day",
        "rollup_endpoint_monthly": (
            f"SELECT project_id, month, {_DIMS}, {_sums(ENDPOINT_MEASURES)} FROM ("
            f"SELECT project_id, toStartOfMonth(day) AS month, {_DIMS}, {', '.join(ENDPOINT_MEASURES)} "
            "FROM session_endpoint_days UNION ALL "
            f"SELECT project_id, month, {_DIMS}, {', '.join(ENDPOINT_MEASURES)} FROM rollup_endpoint_monthly_archive"
            f") GROUP BY project_id, month, {_DIMS}"),
        "rollup_project_monthly": (
            f"SELECT project_id, month, {_sums(PROJECT_MEASURES)} FROM ("
            f"SELECT project_id, toStartOfMonth(day) AS month, {', '.join(PROJECT_MEASURES)} "
            "FROM session_project_days UNION ALL "
            f"SELECT project_id, month, {', '.join(PROJECT_MEASURES)} FROM rollup_project_monthly_archive"
            ") GROUP BY project_id, month"),
    }
    for kind in duck.FINE_KINDS:
        out[f"rollup_endpoint_{kind}ly"] = (
            f"SELECT project_id, bucket, {_DIMS}, {_sums(FINE_MEASURES)} "
            f"FROM session_endpoint_{kind}s GROUP BY project_id, bucket, {_DIMS}")
    return out


VIEWS = _views()
ROLLUP_VIEWS = tuple(VIEWS)
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


def _month_archive(table: str, source: str) -> str:
    cols = [c for c in _duck(source) if c.name not in ("day", "session_id")]
    cols.insert(1, Column("month", "DATE", True, None))
    return _create(table, cols, "MergeTree", f"ORDER BY (project_id, month)\n{_RAW_SETTINGS}")


def create_statements(retention: Retention | None = None) -> list[str]:
    """Every CREATE of a fresh database, tables before the views reading them."""
    minutes_ttl = (f"toDateTime(intDiv(bucket, 1000)) + INTERVAL {retention.minute_hours} HOUR"
                   if retention else None)
    out = [
        *(_versioned(t, key) for t, key in VERSIONED_TABLES.items()),
        _raw("events", retention),
        _raw("stats_samples", retention),
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
        _month_archive("rollup_endpoint_monthly_archive", "session_endpoint_days"),
        _month_archive("rollup_project_monthly_archive", "session_project_days"),
    ]
    out += [f"CREATE VIEW IF NOT EXISTS {name} AS {sql}" for name, sql in VIEWS.items()]
    return out
