"""ClickHouse backend of the Store interface (store/base.py): the same derivation, on a store that many
processes share (servers that ingest and answer, `videoinsights derive --shard K/N` workers).

Nothing here keeps state another process needs. How the pieces stay exact without transactions:

- Dedup. An event id is unique per project. Before inserting, ingest probes the raw tables for the
  batch's ids (within the batch's sessions: the sort key). A retried insert carries the same
  `insert_deduplication_token`, so ClickHouse drops it. Two processes inserting the same new id at the
  same moment can both store it (both report it new); derivation reads raw rows `LIMIT 1 BY
  project_id, event_id`, so such a duplicate never counts twice.
- Dirty sessions. Each ingest commit inserts, after its raw rows, one `dirty_sessions` row per session of
  the batch (duplicates included, so that a retry of a commit that died in between still marks it) with
  a fresh token. A derive cycle reads the live tokens of its sessions *before* their raw events, and when
  its rows are in, inserts a `cleared = 1` row for exactly those tokens: a commit arriving meanwhile has
  a token of its own and keeps its session dirty.
- Sharding. `shard=(K, N)` makes this store's dirty_sessions() return only sessions with
  `cityHash64(project_id, session_id) % N = K`: N derive processes split the sessions between them.
- Derived rows: a session's rows are replaced by lightweight DELETE then INSERT (not atomic: a reader
  may miss a session for that moment; a crash in between leaves its tokens dirty, so it is derived again).
  Before the DELETE, its rows in the contribution tables are retracted (inserted again with sign -1),
  which takes them out of the stored rollups (store/clickhouse/schema.py). Concurrent shards only add
  signed rows to the rollups, so they never race on them; a retraction whose DELETE never ran is
  retracted again with the rows it cancels, which adds nothing.
- Cluster. A database created by `store init --cluster` (cluster.py) is recognised by its meta row: the same
  statements then run on its Distributed tables, deletes go to the local tables ON CLUSTER.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.derive.inputs import STATS_COLUMNS
from videoinsights.derive.quality import QualityThresholds
from videoinsights.domain.days import HOUR_MS, day_start_ms
from videoinsights.domain.events import LIFECYCLE_COLUMNS, RAW_COLUMNS, STATS_TYPES
from videoinsights.domain.quality import (
    BITRATE_BOUNDS,
    LATENCY_BOUNDS,
    QUALITY_LIMITATION_REASONS,
    STATS_MEANS,
)
from videoinsights.store.base import AppendResult, Preview, Project, RejectedBatch, SessionKey, StorageFull
from videoinsights.store.clickhouse import backend
from videoinsights.store.clickhouse.client import ClickHouseError, Client
from videoinsights.store.clickhouse.cluster import (
    LOCAL_SUFFIX,
    ClusterLayout,
    check_can_create,
    read_layout,
    write_layout,
)
from videoinsights.store.clickhouse.migrate import migrate
from videoinsights.store.clickhouse.quality import SAMPLE_COLUMNS, add_sample_quality
from videoinsights.store.clickhouse.schema import (
    CONTRIBUTION_TABLES,
    DERIVED_SESSION_TABLES,
    ROLLUPS,
    SCHEMA_VERSION,
    Column,
    Retention,
    create_statements,
    duck_columns,
)
from videoinsights.store.duckdb import schema as duck
from videoinsights.store.final_rows import FINAL_KEY, FINAL_MINUTES_KEY, Horizons
from videoinsights.store.portable import batch_column, bucket_case

log = logging.getLogger(__name__)

_ARROW = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(),
          "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "VARCHAR[]": pa.list_(pa.string())}
_KEYS = "{keys:Array(Tuple(String, String))}"
# A DELETE as a lightweight update (a patch part) where the table allows it, else as a mutation.
_PATCH_DELETE = "lightweight_delete_mode = 'lightweight_update'"
PROBE_CHUNK = 5_000  # ids per dedup probe (parameters travel in the URL of a server's HTTP request)
_FULL_MARKERS = ("NOT_ENOUGH_SPACE", "No space left on device")


def _schema(table: str) -> dict[str, Column]:
    return {c.name: c for c in duck_columns(duck.TABLES[table])}


_RAW_SCHEMA = _schema("events")
_DERIVED_SCHEMAS = {t: _schema(t) for t in DERIVED_SESSION_TABLES}


def _by_first_row_day(firsts: Iterable[tuple[Any, int]]) -> dict[date, tuple[list[Any], int]]:
    """Items (a session, an hour of sessions) with their first event (epoch ms), by the day of the first day row
    (schema.first_row_day): per day, its items and the earliest of their first events."""
    out: dict[date, tuple[list[Any], int]] = {}
    for item, first_ts in firsts:
        day = duck.first_row_day(first_ts)
        items, earliest = out.get(day, ([], first_ts))
        items.append(item)
        out[day] = (items, min(earliest, first_ts))
    return out


def _typed(rows: pa.Table, columns: Mapping[str, Column]) -> pa.Table:
    """rows with each column cast to the Arrow type of its store column (derivation infers types from values)."""
    out = {}
    for name in rows.column_names:
        target = _ARROW[columns[name].duck_type]
        col = rows.column(name)
        out[name] = pa.nulls(len(col), target) if pa.types.is_null(col.type) else col.cast(target)
    return pa.table(out)



def _stats_sql() -> str:
    """The stats_daily rows (DuckDB's table, store/duckdb/store.py) of some sessions, computed from their
    deduplicated samples: columns and order of derive/inputs.py's STATS_COLUMNS."""
    lat = "coalesce(video_latency_ms, audio_latency_ms)"
    buckets = [
        *(f"countIf(lat_b = {i})" for i in range(len(LATENCY_BOUNDS) + 1)),
        *(f"countIf(br_b = {i})" for i in range(len(BITRATE_BOUNDS) + 1)),
    ]
    extras = [
        *(f"ifNull(sum({column}), 0), count({column})" for _, column in STATS_MEANS),
        *(f"countIf(quality_limitation_reason = '{r}')" for r in QUALITY_LIMITATION_REASONS),
    ]
    return f"""
SELECT project_id, session_id, side, entity_id, day, count() AS n, min(ts) AS first, max(ts) AS last,
       {", ".join(buckets)}, ifNull(sum(lat), 0), count(lat), ifNull(sum(br), 0), count(br), {", ".join(extras)}
FROM (
  SELECT project_id, session_id, day, ts,
         if(type = 'publisherStats', 'pub', 'sub') AS side,
         if(type = 'publisherStats', stream_id, subscriber_id) AS entity_id,
         {lat} AS lat, video_bitrate_kbps AS br, {", ".join(c for _, c in STATS_MEANS)}, quality_limitation_reason,
         {bucket_case(lat, LATENCY_BOUNDS)} AS lat_b,
         {bucket_case("video_bitrate_kbps", BITRATE_BOUNDS)} AS br_b
  FROM stats_samples WHERE (project_id, session_id) IN {_KEYS}
  LIMIT 1 BY project_id, event_id
) WHERE entity_id IS NOT NULL
GROUP BY project_id, session_id, side, entity_id, day
ORDER BY project_id, session_id, side, entity_id, day"""


_STATS_SQL = _stats_sql()
# A session's live (not yet cleared) tokens; `{shard}` is replaced by the shard filter.
_LIVE_TOKENS = """SELECT project_id, session_id, token, any(dirtied_at) AS dirtied_at FROM dirty_sessions
WHERE {shard} GROUP BY project_id, session_id, token HAVING max(cleared) = 0"""



class ClickHouseStore:
    """All ClickHouse SQL of the core (ingest, derivation, retention), behind the Store interface."""

    sql = backend  # the read/account/alert/key SQL modules callers reach through the store

    def __init__(self, client: Client, *, read_only: bool = False, retention: Retention | None = None,
                 shard: tuple[int, int] | None = None, cluster: ClusterLayout | None = None) -> None:
        """cluster: create the database in this cluster layout (`videoinsights store init --cluster`). Without it,
        a database created in a cluster layout is recognised by its `meta` row; others are single-node."""
        self.client = client
        self.path = f"clickhouse:{client.database}"
        self._read_only = read_only
        self.shard = shard
        self._seq = 0  # ingest commits by this process (for /metrics)
        self._version = 0
        self._version_lock = threading.Lock()
        # Dirty tokens read by dirty_sessions(), cleared by replace_derived(); frozen for the sessions whose inputs
        # were loaded (a pipelined engine reads the next batch's dirty sessions while a batch is away).
        self._tokens: dict[SessionKey, list[int]] = {}
        self._loaded: set[SessionKey] = set()
        self._tokens_lock = threading.Lock()
        self._data_version: tuple[float, Any] = (0.0, None)
        if cluster is not None and not read_only:
            check_can_create(client, cluster)
        self.cluster = cluster or read_layout(client)
        if self.cluster is not None:
            client.apply_settings(self.cluster.settings)
        if cluster is not None and not read_only:
            for ddl in cluster.statements(retention):
                client.command(ddl)
            write_layout(client, cluster, self._next_version())
            self._put_meta("schema_version", str(SCHEMA_VERSION))
        elif self.cluster is None and not read_only:  # a cluster's tables are created by `store init --cluster`
            migrate(client, retention)
            for ddl in create_statements(retention):
                client.command(ddl)
            self._put_meta("schema_version", str(SCHEMA_VERSION))

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        self.client.close()

    def checkpoint(self) -> None:
        """Nothing to do: ClickHouse writes parts as it inserts and merges them in the background."""

    def checkpoint_raw(self) -> None:
        """Nothing to do (checkpoint)."""

    def reader(self) -> Client:
        """The client, for the read modules (it is safe to share between threads)."""
        return self.client

    def export_cursor(self) -> Client:
        return self.client

    def ping(self) -> None:
        self.client.query_rows("SELECT 1")

    def storage_bytes(self) -> int:
        """The active parts of this database's tables (on a cluster: this replica's)."""
        rows = self.client.query_rows(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = currentDatabase() AND active"
        )
        return int(rows[0][0] or 0) if rows else 0

    def wal_bytes(self) -> tuple[int, int]:
        """None: ClickHouse writes parts, not a log to checkpoint."""
        return 0, 0

    def quality_kept(self) -> int:
        """None: every derivation re-scores its session here (quality_refresh_s is the DuckDB store's)."""
        return 0

    def quality_passed(self) -> int:
        """None: no quality pass here (quality_pass_s is the DuckDB store's)."""
        return 0

    def late_samples_parked(self) -> int:
        """None: a ClickHouse store scores samples as it derives, with no absorb to park them from."""
        return 0

    @property
    def data_version(self) -> Any:
        """Changes whenever any process changed the data (any part of the database was added or replaced):
        the API's response cache keys on it. Looked up at most every 0.2 s."""
        at, value = self._data_version
        now = time.monotonic()
        if value is None or now - at > 0.2:
            parts = f"clusterAllReplicas({self.cluster.name}, system.parts)" if self.cluster else "system.parts"
            row = self.client.query_rows(
                f"SELECT count(), groupBitXor(cityHash64(hostName(), table, name)) FROM {parts} "
                "WHERE database = {db:String} AND active", {"db": self.client.database})[0]
            value = (int(row[0]), int(row[1]))
            self._data_version = (now, value)
        return value

    def _next_version(self) -> int:
        """A version for ReplacingMergeTree rows: nanoseconds, strictly increasing within the process."""
        with self._version_lock:
            self._version = max(self._version + 1, time.time_ns())
            return self._version

    def _token(self) -> int:
        """A commit token: time-ordered, with random low bits so that processes never share one."""
        return (self._next_version() & ~0xFFFFF) | random.getrandbits(20)

    def _put_meta(self, key: str, value: str) -> None:
        self.client.insert_arrow("meta", pa.table({"key": [key], "value": [value],
                                                   "version": pa.array([self._next_version()], pa.int64())}))

    def meta_value(self, key: str) -> str | None:
        rows = self.client.query_rows("SELECT value FROM meta FINAL WHERE key = {k:String}", {"k": key})
        return rows[0][0] if rows else None

    # -- projects ----------------------------------------------------------
    def insert_project(self, project: Project) -> None:
        values = asdict(project)
        cols = _schema("projects")
        table = pa.table({k: pa.array([v], _ARROW[cols[k].duck_type]) for k, v in values.items()})
        self.client.insert_arrow("projects", table.append_column("version", pa.array([self._next_version()],
                                                                                        pa.int64())))

    def update_project_secret(self, project_id: str, api_secret: str) -> None:
        project = self.get_project(project_id)
        if project is None:
            return
        self.insert_project(Project(**{**asdict(project), "api_secret": api_secret}))

    def get_project(self, project_id: str) -> Project | None:
        names = ", ".join(f.name for f in fields(Project))
        rows = self.client.query_rows(f"SELECT {names} FROM projects FINAL WHERE project_id = {{p:String}}",
                                      {"p": project_id})
        return Project(*rows[0]) if rows else None

    def list_projects(self) -> list[Project]:
        names = ", ".join(f.name for f in fields(Project))
        rows = self.client.query_rows(f"SELECT {names} FROM projects FINAL ORDER BY created_at, project_id")
        return [Project(*r) for r in rows]

    # -- ingestion ---------------------------------------------------------
    def _stored_ids(self, projects: list[str], sessions: list[str], ids: list[str]) -> set[tuple[str, str]]:
        """The (project_id, event_id)s among these that are already stored."""
        found: set[tuple[str, str]] = set()
        keys = sorted(set(zip(projects, sessions, strict=True)))
        for start in range(0, len(ids), PROBE_CHUNK):
            chunk = sorted(set(ids[start : start + PROBE_CHUNK]))
            params = {"keys": keys, "ids": chunk}
            for table in ("events", "stats_samples"):
                found.update(self.client.query_rows(
                    f"SELECT project_id, event_id FROM {table} WHERE (project_id, session_id) IN {_KEYS} "
                    "AND event_id IN {ids:Array(String)}", params))
        return found

    def append_events(self, batches: Sequence[dict[str, list[Any]]]) -> AppendResult:
        """Insert the new events of several request batches; report, per row, whether it was new."""
        projects = batch_column(batches, "project_id")
        sessions = batch_column(batches, "session_id")
        ids = batch_column(batches, "event_id")
        try:
            stored = self._stored_ids(projects, sessions, ids)
        except ClickHouseError as exc:
            raise self._classify(exc) from exc
        keep: list[bool] = []
        for key in zip(projects, ids, strict=True):
            fresh = key not in stored
            if fresh:
                stored.add(key)  # a second copy within this call is a duplicate
            keep.append(fresh)
        inserted, at = [], 0
        for b in batches:
            n = len(b["event_id"])
            inserted.append(keep[at : at + n])
            at += n
        token = self._token()
        try:
            if any(keep):
                self._insert_raw(batches, keep, token)
            # After the raw rows (see the module docstring), for every session of the call.
            # dirtied_at: when the session's earliest event of the call was received (derive_lag_ms)
            received: dict[SessionKey, int] = {}
            received_at = batch_column(batches, "received_at")
            for key, at_ms in zip(zip(projects, sessions, strict=True), received_at, strict=True):
                received[key] = min(received.get(key, at_ms), at_ms)
            marks = sorted(received)
            self.client.insert_arrow("dirty_sessions", pa.table({
                "project_id": [p for p, _ in marks], "session_id": [s for _, s in marks],
                "token": pa.array([token] * len(marks), pa.uint64()),
                "dirtied_at": pa.array([received[k] for k in marks], pa.int64()),
                "cleared": pa.array([0] * len(marks), pa.uint8())}))
        except ClickHouseError as exc:
            raise self._classify(exc) from exc
        self._seq += 1
        return AppendResult(inserted)

    def _insert_raw(self, batches: Sequence[dict[str, list[Any]]], keep: list[bool], token: int) -> None:
        used = [c for c in RAW_COLUMNS if any(c in b for b in batches)]
        try:
            table = pa.table({c: pa.array(batch_column(batches, c), _ARROW[_RAW_SCHEMA[c].duck_type]) for c in used})
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise RejectedBatch(str(exc)[:300]) from exc
        if not all(keep):
            table = table.filter(pa.array(keep))
        table = table.append_column("seq", pa.array([token] * table.num_rows, pa.int64()))
        is_stats = pc.is_in(table["type"], value_set=pa.array(sorted(STATS_TYPES)))
        for target, rows in (("stats_samples", table.filter(is_stats)), ("events", table.filter(pc.invert(is_stats)))):
            if rows.num_rows:
                # The same rows sent again (a retry after a lost answer) are dropped by ClickHouse.
                digest = hashlib.sha256("\n".join(rows["project_id"].to_pylist() + rows["event_id"].to_pylist())
                                        .encode()).hexdigest()
                self.client.insert_arrow(target, rows, settings={"insert_deduplication_token": f"{target}-{digest}"})

    @staticmethod
    def _classify(exc: ClickHouseError) -> BaseException:
        text = str(exc)
        if any(m in text for m in _FULL_MARKERS):
            return StorageFull("the ClickHouse server's storage is full")
        if any(m in text for m in ("CANNOT_PARSE", "TYPE_MISMATCH", "VALUE_IS_OUT_OF_RANGE", "CANNOT_CONVERT")):
            return RejectedBatch(text.strip().splitlines()[0][:300])
        return exc

    # -- derivation --------------------------------------------------------
    def _shard_filter(self) -> str:
        if self.shard is None:
            return "1"
        k, n = self.shard
        return f"cityHash64(project_id, session_id) % {int(n)} = {int(k)}"

    def absorb_new_events(self, fold: bool = True) -> int:
        """Nothing to absorb: ingest marks its sessions dirty as it commits."""
        return 0

    def fold_due(self) -> bool:
        """No fold: stats samples are not folded apart here."""
        return False

    def quality_pass_due(self, idle: bool = False) -> bool:
        """No quality pass: every derivation scores its session here."""
        return False

    def score_owed(self, quality: QualityThresholds | None, limit: int | None = None) -> int:
        return 0

    def undigested_commits(self) -> int:
        return 0

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def derived_seq(self) -> int:
        return self._seq

    def dirty_session_count(self) -> int:
        sql = f"SELECT uniqExact(project_id, session_id) FROM ({_LIVE_TOKENS.format(shard=self._shard_filter())})"
        return int(self.client.query_rows(sql)[0][0])

    def oldest_dirty_seq(self) -> int | None:
        sql = f"SELECT min(token), count() FROM ({_LIVE_TOKENS.format(shard=self._shard_filter())})"
        value, n = self.client.query_rows(sql)[0]
        return int(value) if n else None

    def derive_lag_ms(self, now_ms: int) -> int:
        """How long the session dirtied longest ago has waited (0: nothing waits, or only `rebuild`'s marks)."""
        sql = (f"SELECT minIf(dirtied_at, dirtied_at > 0), countIf(dirtied_at > 0) "
               f"FROM ({_LIVE_TOKENS.format(shard=self._shard_filter())})")
        value, n = self.client.query_rows(sql)[0]
        return max(0, now_ms - int(value)) if n else 0

    def has_events(self, project_id: str) -> bool:
        return bool(self.client.query_rows("SELECT 1 FROM session_bounds WHERE project_id = {p:String} LIMIT 1",
                                           {"p": project_id}))

    def dirty_sessions(self, limit: int, never_derived: bool = False,
                       wanted: Sequence[SessionKey] = ()) -> list[SessionKey]:
        """Sessions never derived first, then the ones dirtied longest ago (as on DuckDB; `never_derived`: only
        those, then the `wanted` ones that are dirty); remembers the tokens read, which replace_derived() clears."""
        asked = sorted(set(wanted)) if never_derived else []
        having = ""
        if never_derived:
            having = "HAVING NOT derived"
            if asked:
                having += " OR has({wanted:Array(Tuple(String, String))}, (project_id, session_id))"
        rows = self.client.query_rows(
            f"""SELECT project_id, session_id, groupArray(token), min(dirtied_at) AS first,
                       (project_id, session_id) IN (SELECT project_id, session_id FROM sessions) AS derived
                FROM ({_LIVE_TOKENS.format(shard=self._shard_filter())})
                GROUP BY project_id, session_id {having}
                ORDER BY derived, first, project_id, session_id LIMIT {int(limit)}""",
            {"wanted": asked} if asked else None)
        with self._tokens_lock:
            for p, s, tokens, _, _ in rows:
                if (p, s) not in self._loaded:
                    self._tokens[(p, s)] = [int(t) for t in tokens]
        return [(p, s) for p, s, _, _, _ in rows]

    def mark_all_dirty(self) -> int:
        """Mark every session with raw events dirty (a rebuild)."""
        token = self._token()
        self.client.command(
            "INSERT INTO dirty_sessions SELECT project_id, session_id, {t:UInt64}, 0, 0 "
            "FROM session_bounds GROUP BY project_id, session_id", {"t": token})
        return int(self.client.query_rows(
            "SELECT count() FROM dirty_sessions WHERE token = {t:UInt64}", {"t": token})[0][0])

    def _keys(self, keys: Sequence[SessionKey]) -> dict[str, Any]:
        return {"keys": sorted(set(keys))}

    def load_session_event_table(self, keys: Sequence[SessionKey]) -> pa.Table:
        """The raw lifecycle events of these sessions (one row per event id), as LIFECYCLE_COLUMNS. Freezes the
        dirty tokens read for them: replace_derived() clears those, not ones committed after this read."""
        with self._tokens_lock:
            self._loaded.update(keys)
        return self._load_events(keys)

    def _load_events(self, keys: Sequence[SessionKey]) -> pa.Table:
        columns = ", ".join(LIFECYCLE_COLUMNS)
        return self._plain(self.client.query_arrow(
            f"SELECT {columns} FROM events WHERE (project_id, session_id) IN {_KEYS} LIMIT 1 BY project_id, event_id",
            self._keys(keys)))

    def preview_inputs(self, limit: int) -> Preview | None:
        """None: previews are the DuckDB store's alone for now (store/duckdb/preview.py)."""
        return None

    def write_preview(self, preview: Preview, tables: Mapping[str, Sequence[pa.Table]]) -> None:
        raise NotImplementedError("ClickHouse stores take no previews (preview_inputs is always None)")

    def load_stats_table(self, keys: Sequence[SessionKey]) -> pa.Table:
        """Per stream/subscriber and day aggregates of these sessions' samples, as STATS_COLUMNS."""
        table = self.client.query_arrow(_STATS_SQL, self._keys(keys))
        return self._plain(table.rename_columns(list(STATS_COLUMNS)))

    def _load_sample_table(self, keys: Sequence[SessionKey]) -> pa.Table:
        """The raw stats samples of these sessions (one per event id), the columns quality scoring reads."""
        return self._plain(self.client.query_arrow(
            f"SELECT project_id, session_id, {', '.join(SAMPLE_COLUMNS)} FROM stats_samples "
            f"WHERE (project_id, session_id) IN {_KEYS} LIMIT 1 BY project_id, event_id", self._keys(keys)))

    @staticmethod
    def _plain(table: pa.Table) -> pa.Table:
        """Dictionary (LowCardinality) columns decoded: the derivation treats the tables as DuckDB's."""
        return pa.table({n: (c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c)
                         for n, c in zip(table.column_names, table.columns, strict=True)})

    def replace_derived(self, keys: Sequence[SessionKey], tables: Mapping[str, Sequence[pa.Table]],
                        quality: QualityThresholds | None = None,
                        loaded_seq: int | Sequence[int] | None = None) -> None:
        """Swap in the new derived rows of these sessions, then clear the dirty tokens read for them.

        With `quality`, score the sessions' samples here, in Python (store/clickhouse/quality.py). `loaded_seq`
        is not needed: the tokens frozen when the inputs were loaded are the watermark, and a commit after
        that adds a token this call does not clear, so its session stays dirty."""
        if not keys:
            return
        if quality is not None:
            tables = self._with_sample_quality(keys, tables, quality)
        final = self._final()
        tables = final.without_final_rows(tables)
        self._clear_rows(f"(project_id, session_id) IN {_KEYS}", self._keys(keys), self._first_days(keys), final)
        for table, parts in tables.items():
            if table not in DERIVED_SESSION_TABLES:
                raise ValueError(f"{table} is not a derived session table")
            rows = [_typed(p, _DERIVED_SCHEMAS[table]) for p in parts if p.num_rows]
            if rows:
                self.client.insert_arrow(table, pa.concat_tables(rows, promote_options="default"))
        with self._tokens_lock:
            cleared = [(k, t) for k in keys for t in self._tokens.pop(k, [])]
            self._loaded.difference_update(keys)
        if cleared:
            self.client.insert_arrow("dirty_sessions", pa.table({
                "project_id": [k[0] for k, _ in cleared], "session_id": [k[1] for k, _ in cleared],
                "token": pa.array([t for _, t in cleared], pa.uint64()),
                "dirtied_at": pa.array([0] * len(cleared), pa.int64()),
                "cleared": pa.array([1] * len(cleared), pa.uint8())}))

    def _with_sample_quality(self, keys: Sequence[SessionKey], tables: Mapping[str, Sequence[pa.Table]],
                             quality: QualityThresholds) -> dict[str, list[pa.Table]]:
        """tables with the sessions' sample scores, sample issues and endpoint-day quality measures added."""
        columns = _DERIVED_SCHEMAS["session_endpoint_days"]
        schema = pa.schema([(n, _ARROW[c.duck_type]) for n, c in columns.items()])
        parts = [_typed(p, columns).select(schema.names).cast(schema)
                 for p in tables.get("session_endpoint_days", ()) if p.num_rows]
        endpoint = pa.concat_tables(parts) if parts else None
        return add_sample_quality(keys, tables, endpoint, schema, self._load_events(keys), self.load_stats_table(keys),
                                  self._load_sample_table(keys), quality)

    def _retract(self, table: str, where: str, params: dict[str, Any]) -> None:
        """Take the contribution rows matching `where` out of the stored rollups: insert each again with its
        sign negated (the rollup feeds add measure * sign). The rows themselves are deleted next."""
        names = ", ".join(_DERIVED_SCHEMAS[table])
        # A Distributed table refuses inserting a MATERIALIZED column: on a cluster the retraction goes to this
        # node's local table. Its feed then subtracts on this node's sums, which reads add up over all shards,
        # and the DELETE that follows (ON CLUSTER) removes it with the rows it cancels, wherever they are.
        target = f"{table}{LOCAL_SUFFIX}" if self.cluster else table
        self.client.command(f"INSERT INTO {target} ({names}, sign) SELECT {names}, -sign FROM {table} WHERE {where} "
                            "SETTINGS insert_allow_materialized_columns = 1", params)

    def clear_derived(self) -> None:
        """Drop the derived rows of every session whose raw events are still kept (rebuild re-derives them)."""
        first = "SELECT project_id, session_id, min(first_ts) AS f FROM session_bounds GROUP BY project_id, session_id"
        hour = f"intDiv(f - {duck.DAY_ROWS_LEAD_MS}, {HOUR_MS})"  # (the LA day of an hour is the day of its ms)
        by_day = _by_first_row_day(
            (int(h), int(f)) for h, f in self.client.query_rows(f"SELECT {hour}, min(f) FROM ({first}) GROUP BY 1"))
        groups = [(f"(project_id, session_id) IN (SELECT project_id, session_id FROM ({first}) "
                   f"WHERE {hour} IN {{h{i}:Array(Int64)}})", {f"h{i}": hours}, day, earliest)
                  for i, (day, (hours, earliest)) in enumerate(sorted(by_day.items()))]
        self._clear_rows("(project_id, session_id) IN (SELECT project_id, session_id FROM session_bounds)", {}, groups,
                         self._final())

    def _final(self) -> Horizons:
        """The final horizons the last purge recorded (store/final_rows.py): read at each replacement, since the
        purge may run in another process."""
        return Horizons.of_meta(dict(self.client.query_rows(
            "SELECT key, value FROM meta FINAL WHERE key IN {k:Array(String)}", {"k": [FINAL_KEY, FINAL_MINUTES_KEY]})))

    def _first_days(self, keys: Sequence[SessionKey]) -> list[tuple[str, dict[str, Any], date, int]]:
        """These sessions grouped by the day of their first day row (schema.first_row_day): per day, the condition on
        the sessions, its parameters, the day and the earliest first event of its sessions (_clear_rows)."""
        found = self.client.query_rows(
            f"SELECT project_id, session_id, min(first_ts) FROM session_bounds "
            f"WHERE (project_id, session_id) IN {_KEYS} GROUP BY project_id, session_id", self._keys(keys))
        by_day = _by_first_row_day(((project_id, session_id), int(f)) for project_id, session_id, f in found)
        return [(f"(project_id, session_id) IN {{k{i}:Array(Tuple(String, String))}}", {f"k{i}": sorted(members)},
                 day, earliest) for i, (day, (members, earliest)) in enumerate(sorted(by_day.items()))]

    def _clear_rows(self, sessions: str, params: dict[str, Any],
                    first_days: Sequence[tuple[str, dict[str, Any], date, int]], final: Horizons) -> None:
        """Take the derived rows of the sessions matching `sessions` out of the rollups and delete them: of the day,
        hour and minute tables only the rows from each session's first event on (`first_days`: the sessions by the
        day of their first day row, as _first_days gives them; a session in none has no raw events, and no rows
        there). An earlier use of a session id whose raw events and session rows expired keeps its day rows, which
        nothing could derive again (DuckDB's store does the same: its _own_rows); and none before the final horizons
        is touched (store/final_rows.py)."""
        bucketed = duck.bucketed_since("0", "0")  # (the tables: the bounds are written per day below)
        floors = {name: value for name, value in (("floor", final.hour_floor_ms), ("minute", final.minute_floor_ms))
                  if value is not None}
        placeholders = {name: f"{{{name}:Int64}}" if name in floors else None for name in ("floor", "minute")}
        where: dict[str, tuple[str, dict[str, Any]]] = {}
        for table in DERIVED_SESSION_TABLES:
            if table not in bucketed:
                where[table] = (sessions, params)
                continue
            parts, values = [], dict(floors)
            for i, (condition, group, day, first_ts) in enumerate(first_days):
                since = duck.bucketed_since(f"{{f{i}:Int64}}", f"{{d{i}:Date}}", floor_ms=placeholders["floor"],
                                            minute_floor_ms=placeholders["minute"])[table]
                parts.append(f"({condition} AND {since})")
                values.update(group, **{f"f{i}": first_ts, f"d{i}": final.rows_from_day(day)})
            if parts:
                where[table] = (" OR ".join(parts), values)
        for table in CONTRIBUTION_TABLES:
            if table in where:
                self._retract(table, *where[table])
        for table, (condition, values) in where.items():
            self._delete_from([table], condition, values)

    def _delete_from(self, tables: Sequence[str], where: str, params: dict[str, Any]) -> None:
        """Lightweight DELETEs of the rows matching `where` from each of `tables`, all done when this returns.

        The derived tables are PATCHABLE (schema.py; migrate.py makes an older database's so): each DELETE
        writes a patch part that reads apply at once, ~15 ms on chdb, where a mutation the background pool
        runs over whole parts took 0.15-0.8 s per table (docs/benchmarks.md). A table that cannot take one
        (a cluster created before schema 3) gets a mutation instead, which the DELETE waits for."""
        for table in tables:
            self.client.command(f"DELETE FROM {self._deletable(table)} WHERE {where} SETTINGS {_PATCH_DELETE}",
                                params)

    def _deletable(self, table: str) -> str:
        """What a DELETE of `table`'s rows names (on a cluster: its local tables, ON CLUSTER)."""
        return self.cluster.delete_target(table) if self.cluster else table

    # -- retention ---------------------------------------------------------
    def _delete_counted(self, table: str, where: str, params: dict[str, Any]) -> int:
        n = int(self.client.query_rows(f"SELECT count() FROM {table} WHERE {where}", params)[0][0])
        if n:
            self.client.command(f"DELETE FROM {self._deletable(table)} WHERE {where}", params)
        return n

    def _count(self, table: str, where: str, params: dict[str, Any]) -> int:
        return int(self.client.query_rows(f"SELECT count() FROM {table} WHERE {where}", params)[0][0])

    def compact_stats(self, before_ts: int, sessions: int | None = None) -> tuple[int, bool]:
        """Nothing to do: stats_samples is a MergeTree ordered by (project_id, session_id, ts) already."""
        return 0, False

    def refresh_months(self) -> int:
        """Nothing to do: the monthly sums are fed from the day rows as they are inserted."""
        return 0

    def purge_keys(self, before: date, limit: int) -> int:
        """None to forget: ingest probes the raw tables for the ids (the module docstring), so they go with the rows."""
        return 0

    def purge_sessions(self, before: date, limit: int) -> int:
        """None left: `purge` deletes the session-level rows with the rest, `sessions_apart` or not."""
        return 0

    def purge(self, raw_before: date, daily_before: date, monthly_before: date,
              minutes_before_ms: int | None = None, alerts_before_ms: int | None = None,
              sessions_apart: bool = False) -> dict[str, int]:
        """Delete data past its retention window, with the counts DuckDB's purge reports (the session-level rows
        too, whatever `sessions_apart` says: a DELETE here costs per part, not per row)."""
        counts: dict[str, int] = {}
        # Cleared dirty tokens are history: drop them (the table would otherwise grow with every commit).
        counts["dirty_sessions"] = self._delete_counted(
            "dirty_sessions", "(project_id, session_id, token) IN (SELECT project_id, session_id, token "
            "FROM dirty_sessions GROUP BY project_id, session_id, token HAVING max(cleared) = 1)", {})
        # A session with events on both sides of the raw window's start keeps its raw events of every day (a
        # long-lived room): derived again from the kept ones alone, its earlier days' rows would lose their minutes
        # and stats. (session_bounds follows every insert: materialised views. A session that began in the window has
        # nothing before it: left out, the set stays small, as DuckDB's live_sessions.)
        cutoff = {"c": day_start_ms(raw_before)}
        expired = ("day < {d:Date} AND (project_id, session_id) NOT IN (SELECT project_id, session_id FROM "
                   "session_bounds GROUP BY project_id, session_id "
                   "HAVING max(last_ts) >= {c:Int64} AND min(first_ts) < {c:Int64})")
        raw = {"d": raw_before, **cutoff}
        counts["events"] = self._delete_counted("events", expired, raw)
        counts["stats_samples"] = self._delete_counted("stats_samples", expired, raw)
        old = "(project_id, session_id) IN (SELECT project_id, session_id FROM sessions WHERE last_seen_at < {c:Int64})"
        for table in ("meetings", "connections", "publishers", "subscribers", "quality_scores", "quality_issues"):
            counts[table] = self._delete_counted(table, old, cutoff)
        counts["sessions"] = self._delete_counted("sessions", "last_seen_at < {c:Int64}", cutoff)
        # the horizons first: a derivation after this purge leaves those rows alone
        for key, value in self._final().after_purge(daily_before, minutes_before_ms).meta().items():
            self._put_meta(key, value)
        counts["session_bounds"] = self._delete_counted(
            "session_bounds", "(project_id, session_id) IN (SELECT project_id, session_id FROM session_bounds "
            "GROUP BY project_id, session_id HAVING max(last_ts) < {c:Int64})", cutoff)
        # The contribution rows and the rollup sums of past days go without retraction: the monthly sums,
        # fed from the same rows, keep those days until their months go.
        windows = {"day": ("d", "Date", daily_before), "month": ("m", "Date", monthly_before),
                   "hour": ("b", "Int64", day_start_ms(daily_before)), "minute": ("b", "Int64", minutes_before_ms)}
        for rollup in ROLLUPS:
            name, typ, before = windows[rollup.window]
            if before is None:
                continue
            where, params = f"{rollup.time} < {{{name}:{typ}}}", {name: before}
            counts[rollup.name] = self._count(rollup.name, where, params)
            if rollup.time != "month":
                counts[rollup.source] = self._delete_counted(rollup.source, where, params)
            self.client.command(f"DELETE FROM {self._deletable(rollup.sums)} WHERE {where}", params)
        if alerts_before_ms is not None:
            counts.update(backend.alerts.purge(self.client, alerts_before_ms))
        return counts
