"""DuckDB backend: the embedded default store (one file, one owning process).

Two write connections: one for ingest (the writer thread), one for derivation (the derive
thread); they write different tables. Readers get their own cursor per thread and see committed
snapshots, so they never block on either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.derive.fine import FINE_MEASURES
from videoinsights.derive.inputs import STATS_COLUMNS
from videoinsights.derive.model import (
    DIMENSIONS,
    QUALITY_SIDES,
)
from videoinsights.derive.quality import QualityThresholds
from videoinsights.derive.trace import lap
from videoinsights.domain.days import day_start_ms
from videoinsights.domain.events import LIFECYCLE_COLUMNS, RAW_COLUMNS, STATS_TYPES
from videoinsights.domain.quality import (
    BITRATE_BOUNDS,
    LATENCY_BOUNDS,
    QUALITY_LIMITATION_REASONS,
    STATS_EXTRA_COLUMNS,
    STATS_MEANS,
)
from videoinsights.domain.scoring import ISSUE_COLUMNS, SCORE_COLUMNS
from videoinsights.store.base import AppendResult, Preview, Project, SessionKey, StorageFull
from videoinsights.store.duckdb import alerts as alert_sql
from videoinsights.store.duckdb import backend
from videoinsights.store.duckdb.bounds import BoundsRowids, absorb_bounds, key_table
from videoinsights.store.duckdb.compaction import PASS_SESSIONS, compact_stats
from videoinsights.store.duckdb.dedup import DedupKeys, keys_path
from videoinsights.store.duckdb.errors import classify, invalidated
from videoinsights.store.duckdb.event_cache import EVENT_CACHE_MB, KEEP_AFTER_MS, SessionEventCache
from videoinsights.store.duckdb.fetch import first_row
from videoinsights.store.duckdb.folding import FOLDED_KEY, FOLDED_SQL, ROWS, FoldClock, StatsReads
from videoinsights.store.duckdb.late_samples import LateSamples, parked_sessions
from videoinsights.store.duckdb.months import mark_stale, refresh_stale_months
from videoinsights.store.duckdb.parts import add_in_parts
from videoinsights.store.duckdb.preview import MAX_COMMITS as PREVIEW_MAX_COMMITS
from videoinsights.store.duckdb.preview import SHOWN as PREVIEW_TABLES
from videoinsights.store.duckdb.preview import new_session_keys, no_stats
from videoinsights.store.duckdb.quality import (
    EKEY,
    KEPT,
    UNKNOWN_FIRST_TS,
    Absorbed,
    absorb_quality,
    clear_settled,
    derive_sample_quality,
    keep_parts,
)
from videoinsights.store.duckdb.quality_pass import (
    ANY_OWED,
    CLEAR,
    EMPTY_ROWS,
    MISSED,
    OWE,
    OWED_BATCH,
    OWED_PER_PASS,
    PAID,
    ROWS_SINCE,
    QualityPasses,
)
from videoinsights.store.duckdb.quality_runs import META_KEY, rebuild_runs, run_thresholds, stored_thresholds
from videoinsights.store.duckdb.rawfile import attach_raw, create_raw_tables, database_files
from videoinsights.store.duckdb.rescoring import RescoreClock
from videoinsights.store.duckdb.schema import (
    DERIVED_SESSION_TABLES,
    DIMENSION_LIST,
    ENDPOINT_ROLLUP_COLUMNS,
    ENDPOINT_SUMS,
    FINE_KINDS,
    INDEXES,
    KEYS_BOUNDS_SET,
    PROJECT_ROLLUP_COLUMNS,
    PROJECT_SUMS,
    RAW,
    RAW_INDEXES_BEFORE_17,
    RAW_TABLES,
    SCHEMA_VERSION,
    SINCE_DAY,
    STATS_BUCKET_COLUMNS,
    TABLES,
    WRITE_SEQ_COLUMNS,
    bucketed_since,
    first_row_day,
    first_row_day_of,
    raw_table,
    rows_of_keys,
)
from videoinsights.store.duckdb.totals import REFILL as TOTALS_REFILL
from videoinsights.store.duckdb.totals import TOTALS, refresh_day_totals
from videoinsights.store.final_rows import FINAL_KEY, FINAL_MINUTES_KEY, Horizons
from videoinsights.store.portable import batch_column, bucket_case, string_list

log = logging.getLogger(__name__)


def _group(period: str) -> str:
    """An endpoint rollup group (project, period, dimensions) as one number, to find the touched groups with one
    hash join instead of a join on eight nullable columns. Only a filter: each group it selects is deleted and summed
    again from all of its rows, so two groups sharing a number are both rebuilt, each exactly."""
    return f"hash(project_id, {period}, {', '.join(DIMENSIONS)})"


def _absorb_stats_parts() -> tuple[str, str, str]:
    """(the columns of stats_daily the absorb writes, the SELECT that folds the samples of commits (lo, hi] into
    rows of them, the SET adding the counts of a new row, named `{new}`, to a stored row's)."""
    lat = "coalesce(video_latency_ms, audio_latency_ms)"
    buckets = [
        *(f"count(*) FILTER (WHERE lat_b = {i})" for i in range(len(LATENCY_BOUNDS) + 1)),
        *(f"count(*) FILTER (WHERE br_b = {i})" for i in range(len(BITRATE_BOUNDS) + 1)),
    ]
    # in the order of STATS_EXTRA_COLUMNS: sum and count of each averaged column, then samples per limitation
    extras = [
        *(f"coalesce(sum({column}), 0), count({column})" for _, column in STATS_MEANS),
        *(f"count(*) FILTER (WHERE quality_limitation_reason = '{r}')" for r in QUALITY_LIMITATION_REASONS),
    ]
    additive = ("samples", *STATS_BUCKET_COLUMNS, "lat_sum", "lat_count", "br_sum", "br_count", *STATS_EXTRA_COLUMNS)
    updates = ", ".join(f"{c} = stats_daily.{c} + {{new}}.{c}" for c in additive)
    columns = ", ".join(("project_id", "session_id", "side", "entity_id", "day", "first_ts", "last_ts", *additive))
    select = f"""
SELECT project_id, session_id, side, entity_id, day, min(ts), max(ts), count(*), {", ".join(buckets)},
       coalesce(sum(lat), 0), count(lat), coalesce(sum(br), 0), count(br), {", ".join(extras)}
FROM (
  SELECT project_id, session_id, day, ts,
         CASE type WHEN 'publisherStats' THEN 'pub' ELSE 'sub' END AS side,
         CASE type WHEN 'publisherStats' THEN stream_id ELSE subscriber_id END AS entity_id,
         {lat} AS lat, video_bitrate_kbps AS br, {", ".join(c for _, c in STATS_MEANS)}, quality_limitation_reason,
         {bucket_case(lat, LATENCY_BOUNDS)} AS lat_b,
         {bucket_case("video_bitrate_kbps", BITRATE_BOUNDS)} AS br_b
  FROM stats_samples WHERE seq > $lo AND seq <= $hi
) WHERE entity_id IS NOT NULL
GROUP BY project_id, session_id, side, entity_id, day"""
    return columns, select, f"""{updates},
  first_ts = least(stats_daily.first_ts, {{new}}.first_ts),
  last_ts = greatest(stats_daily.last_ts, {{new}}.last_ts)"""


_STATS_COLUMNS, _STATS_SELECT, _STATS_UPDATES = _absorb_stats_parts()
_STATS_KEY = "project_id, session_id, side, entity_id, day"
# Fold stats samples of commits (lo, hi] into stats_daily (counts add up). DuckDB plans it as a join whose scan of
# stats_daily only min/max filters prune, so it reads every row of today (store._absorb_stats writes it in parts).
_ABSORB_STATS_SQL = (f"INSERT INTO stats_daily ({_STATS_COLUMNS}) {_STATS_SELECT} "
                     f"ON CONFLICT DO UPDATE SET {_STATS_UPDATES.format(new='excluded')}")
_LIFECYCLE_SELECT = ", ".join(f"e.{c}" for c in LIFECYCLE_COLUMNS)


def _own_rows(final: Horizons) -> dict[str, str]:
    """A session's own day, hour and minute rows: from its first event on, and none before the final horizons
    (b: its session_bounds row; the bound that schema.rows_of_keys puts on a batch's)."""
    first_day = first_row_day_of("b.first_ts")
    if final.day is not None:
        first_day = f"greatest({first_day}, DATE '{final.day.isoformat()}')"
    hours, minutes = final.hour_floor_ms, final.minute_floor_ms
    return bucketed_since("b.first_ts", first_day, floor_ms=None if hours is None else str(hours),
                          minute_floor_ms=None if minutes is None else str(minutes))


# The purge's rows of sessions with no event left in the raw window (temp tables of `_live_sessions`).
_EXPIRED_SESSION = "(project_id, session_id) NOT IN (SELECT project_id, session_id FROM live_sessions)"
_EXPIRED_ENTITY = "ekey NOT IN (SELECT ekey FROM live_entities)"
# meta key: the watermark from which commits' samples were absorbed unscored (setting quality_scoring off); absent: none
UNSCORED_KEY = "quality_unscored_after"
_NEW_ROWS = """(SELECT project_id, session_id, ts, seq FROM events WHERE seq > $lo AND seq <= $hi
               UNION ALL SELECT project_id, session_id, ts, seq FROM stats_samples WHERE seq > $lo AND seq <= $hi)"""



def _mark_fresh(batches: Sequence[dict[str, list[Any]]], new_keys: set[Any]) -> tuple[list[list[bool]], list[bool]]:
    """Per row: was it inserted now? A key seen twice in one call is new only the first time."""
    inserted: list[list[bool]] = []
    keep: list[bool] = []
    for b in batches:
        flags = []
        for key in zip(b["project_id"], b["event_id"], strict=True):
            fresh = key in new_keys
            if fresh:
                new_keys.discard(key)
            flags.append(fresh)
        inserted.append(flags)
        keep.extend(flags)
    return inserted, keep


def _file_size(path: str) -> int:
    """0 for a file that is not there (a WAL checkpointed away, or never written)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _owner_only(path: str) -> None:
    """Keep the database, its WAL and DuckDB's spill files readable by their owner only: they hold
    API secrets, callback tokens, the cookie-signing key and password hashes.

    DuckDB creates the WAL and temp files whenever it needs them (and again after each
    checkpoint), so the process umask is narrowed for good rather than around one call; files
    left group- or world-readable by older versions are tightened."""
    if path.startswith(":memory:"):
        return
    os.umask(os.umask(0o077) | 0o077)
    for name in database_files(path):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


# A dirty session never derived: no row in `sessions` (how version 9's never_derived is first set).
_NOT_IN_SESSIONS = "(project_id, session_id) NOT IN (SELECT project_id, session_id FROM sessions)"

# Changes to tables that older database files already have, by the schema version introducing them.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE dirty_sessions ADD COLUMN dirtied_seq BIGINT DEFAULT 0",),
    # publisherStats fields from the browser collector (issue 8); both raw tables share the event columns
    3: tuple(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}"
        for table in ("events", "stats_samples")
        for column in ("quality_limitation_reason VARCHAR", "available_outgoing_bitrate_kbps DOUBLE")
    ),
    # Extension averages of projectData quality (jitter, RTT, ...). Rows derived before stay at 0 until
    # `videoinsights rebuild` (docs/derivation.md).
    4: (
        *(f"ALTER TABLE stats_daily ADD COLUMN IF NOT EXISTS {c} DOUBLE DEFAULT 0" for c in STATS_EXTRA_COLUMNS),
        *(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {side}_{c} DOUBLE DEFAULT 0"
            for table in ("session_endpoint_days", "rollup_endpoint_daily", "rollup_endpoint_monthly")
            for side in QUALITY_SIDES
            for c in STATS_EXTRA_COLUMNS
        ),
    ),
    # quality_scores and quality_issues (docs/quality.md) are new tables, created empty by TABLES: run
    # `videoinsights rebuild` once to score the sessions already stored.
    5: tuple(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {c} DOUBLE DEFAULT 0"
        for table in ("session_endpoint_days", "rollup_endpoint_daily", "rollup_endpoint_monthly")
        for c in (*SCORE_COLUMNS, *ISSUE_COLUMNS)
    ),
    # quality_samples and quality_buckets (store/duckdb/quality.py) are new tables, created by TABLES and filled
    # from every stored sample by _migrate; the derived quality rows stay as they were until re-derived.
    6: (),
    # Whether a dirty session was ever derived is kept with it (dirty_sessions() looked it up in `sessions`,
    # a scan of every session at each derive step).
    9: (
        "ALTER TABLE dirty_sessions ADD COLUMN IF NOT EXISTS never_derived BOOLEAN DEFAULT false",
        f"UPDATE dirty_sessions SET never_derived = {_NOT_IN_SESSIONS}",
    ),
    # Derived rows carry the step that wrote them (schema.WRITTEN): the rows stored before at 0, and every session
    # written at 0 (its rows may lie anywhere) until it is derived again.
    10: ("UPDATE session_bounds SET written_seq = 0",),
    # The bands' first sample (schema.py): unknown for the rows stored before, which no bound may then skip.
    12: ("ALTER TABLE quality_buckets ADD COLUMN IF NOT EXISTS first_ts BIGINT",
         f"UPDATE quality_buckets SET first_ts = {UNKNOWN_FIRST_TS:d}"),
    # Stats samples clustered by session (store/duckdb/compaction.py): every stored sample and session waits for a
    # pass (NULL); a session's last_seq stays unknown (NULL) until its next absorb.
    13: ("ALTER TABLE stats_samples ADD COLUMN IF NOT EXISTS skey BIGINT",
         *(f"ALTER TABLE session_bounds ADD COLUMN IF NOT EXISTS {c} BIGINT" for c in ("last_seq", "skey",
                                                                                       "compacted_seq"))),
    # A report without groups or filters reads one row per day (store/duckdb/totals.py), summed once here.
    15: TOTALS_REFILL,
    # The raw tables moved to a file of their own (store/duckdb/rawfile.py): done by _migrate for any file that still
    # holds them, after the statements above (3 and 13 alter them where they are).
    16: (),
    # The raw tables' session_id indexes dropped (schema.RAW_TABLES); a file older than 16 has its raw tables moved to
    # the raw file without them.
    17: tuple(f"DROP INDEX IF EXISTS {name}" for name in RAW_INDEXES_BEFORE_17),
    18: (),  # quality_late, created empty with the other tables
}


SESSION_LEVEL_TABLES = ("meetings", "connections", "publishers", "subscribers", "quality_scores", "quality_issues",
                        "sessions")  # the rows a purged session leaves, `sessions` last


def _delete_sessions(con: duckdb.DuckDBPyConnection, keys: str, params: list[Any]) -> dict[str, int]:
    """Delete the session-level rows of the sessions `keys` (a SELECT of project_id, session_id) selects; the counts by
    table (the caller's transaction)."""
    return {table: int(con.execute(f"DELETE FROM {table} WHERE (project_id, session_id) IN ({keys})",
                                   params).fetchall()[0][0])
            for table in SESSION_LEVEL_TABLES}


class DuckDBStore:
    """All DuckDB SQL of the service, behind the Store interface (store/base.py)."""

    sql = backend  # the read/account/alert/key SQL modules callers reach through the store

    def __init__(self, path: str, *, read_only: bool = False, wal_autocheckpoint_mb: int = 64,
                 memory_limit_mb: int = 0, threads: int = 0, event_cache_mb: float = EVENT_CACHE_MB,
                 quality_refresh_s: float = 0.0, score_samples: bool = True, stats_fold_s: float = 0.0,
                 quality_pass_s: float = 0.0) -> None:
        self.path = path
        self._read_only = read_only
        self._wal_autocheckpoint_mb = wal_autocheckpoint_mb
        self._memory_limit_mb = memory_limit_mb  # 0: DuckDB's default
        self._threads = threads  # 0: DuckDB's default (one per core)
        if not read_only:
            _owner_only(path)
        self._db = self._connect()
        # Set when DuckDB has invalidated the database (a checkpoint failed, e.g. on a full disk):
        # the next write reopens it instead of failing forever.
        self._invalidated = False
        self._generation = 0  # bumped by each reopen: readers then take fresh cursors
        # Bumped after every commit that changes what reads return (the API's response cache keys on it).
        self.data_version = 0
        self._version_lock = threading.Lock()
        # Derivation has its own connection so it can run on its own thread beside ingest: the two write
        # different tables, and DuckDB runs each connection's SQL outside the interpreter lock.
        self._dcon = self._con.cursor()
        # (connection, keys) of the derive connection's temp table `keys` (_keys_table)
        self._keys_now: tuple[duckdb.DuckDBPyConnection, tuple[SessionKey, ...]] | None = None
        self._keys_first_ts: dict[SessionKey, int] = {}  # of the keys in that table
        self._keys_newest = 0  # their latest event (session_bounds.last_ts)
        # live sessions' lifecycle events between derive steps (load_session_event_table)
        self._event_cache = SessionEventCache(int(event_cache_mb * 2**20))
        self._bounds_rowids = BoundsRowids()  # of live sessions' session_bounds rows (absorb_bounds)
        self._rescores = RescoreClock(quality_refresh_s)  # live sessions whose sample quality may wait
        self._passes = QualityPasses(quality_pass_s)  # derive steps leave scoring to a pass (quality_pass.py)
        self._late = LateSamples()  # samples that arrive late, absorbed together (store/duckdb/late_samples.py)
        # off (setting quality_scoring): absorbs leave the samples unscored, from meta UNSCORED_KEY on (_absorb)
        self._score_samples = score_samples
        self._folds = FoldClock(stats_fold_s)  # when the stats samples are folded in (store/duckdb/folding.py)
        self._stats_reads = StatsReads()  # the fold watermark each batch's stats were read at
        # Set by a traced derive loop (derive/trace.py): replace_derived adds its parts' seconds here.
        self.timings: dict[str, float] | None = None
        self._local = threading.local()
        self._preview_con: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (generation, cursor)
        self._preview_seen: set[str] = set()  # session ids previews found seen (store/duckdb/preview.py)
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._keys: DedupKeys | None = None  # the dedup keys (store/duckdb/dedup.py); writers only
        self._stats_in_parts = True  # _absorb_stats and the quality bands; off after a row a bound missed
        if not read_only:
            self._migrate()
        self._seq = self._max_seq()
        self._derived_seq = self._meta_int("derived_seq") or 0
        self._folded_seq = self._read_folded_seq()
        # sessions a quality pass owes from before (a restart, a server with passes on before this one)
        self._passes.pending = not read_only and bool(first_row(self._con.execute(ANY_OWED))[0])
        self._unscored_after = self._meta_int(UNSCORED_KEY)  # meta UNSCORED_KEY, as committed
        self._final = self._read_final()  # rows before these are final (store/final_rows.py)
        # the thresholds absorb finds the runs of offending samples with (store/duckdb/quality_runs.py)
        self._run_thresholds = stored_thresholds(self._con)
        if not read_only:
            self._keys = DedupKeys(keys_path(path))
            self._move_keys_out_of_duckdb()
            try:
                self._repair_keys()
            except StorageFull:  # the first append retries it (and fails with 507 while the disk is full)
                log.warning("dedup keys not repaired at open: the disk is full")

    # -- lifecycle -------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        # Appended rows stay in memory until a checkpoint: DuckDB takes one when the WAL reaches this size,
        # the writer on a timer (settings.checkpoint_interval_s).
        config: dict[str, str | bool] = (
            {"wal_autocheckpoint": f"{self._wal_autocheckpoint_mb}MiB"} if not self._read_only else {})
        # DuckDB's allocator (its own jemalloc) hands freed pages back to the system from a background
        # thread; without it they wait for the next allocation on the freeing thread (docs/benchmarks.md, soak).
        config["allocator_background_threads"] = True
        if self._memory_limit_mb:
            config["memory_limit"] = f"{self._memory_limit_mb}MiB"
        if self._threads > 0:
            config["threads"] = str(self._threads)
        con = duckdb.connect(self.path, read_only=self._read_only, config=config)
        attach_raw(con, self.path, self._read_only)
        return con

    @property
    def _con(self) -> duckdb.DuckDBPyConnection:
        """The write connection (writer thread only), reopened first if DuckDB invalidated it."""
        if self._invalidated:
            self._reopen()
        return self._db

    def _reopen(self) -> None:
        """Close every handle on the invalidated database and open it again (replaying its WAL).
        Raises, leaving the store marked invalid, while that still fails; the next write retries.
        Closing the write connection closes the derive cursor too: derivation gets a new one (a cycle
        running meanwhile fails and is retried by the engine)."""
        self._close_handles()
        self._forget_rows()
        self._db = self._connect()
        self._dcon = self._db.cursor()
        self._generation += 1
        self._invalidated = False
        self._seq = self._max_seq()
        self._derived_seq = self._meta_int("derived_seq") or 0
        self._folded_seq = self._read_folded_seq()
        self._unscored_after = self._meta_int(UNSCORED_KEY)
        self._final = self._read_final()

    def _forget_rows(self) -> None:
        """Empty what the derive connection keeps of stored rows between steps (live sessions' events, the rowids of
        session_bounds rows): a purge deletes rows (and the next checkpoint may move the others), a reopen starts
        over."""
        self._event_cache.clear()
        self._bounds_rowids.clear()
        self._preview_seen = set()  # (a new set: a preview may be reading the old one)

    def _close_handles(self) -> None:
        with self._cursors_lock:
            for cursor in self._cursors:
                with contextlib.suppress(duckdb.Error):
                    cursor.close()
            self._cursors.clear()
        with contextlib.suppress(duckdb.Error):
            self._dcon.close()
        with contextlib.suppress(duckdb.Error):
            self._db.close()

    def _rollback(self, con: duckdb.DuckDBPyConnection) -> None:
        """Roll back con's transaction after a failure (the writer's or derivation's: each thread its
        own). A failed COMMIT has already ended the transaction; an invalidated database refuses
        everything, so the next write reopens it."""
        try:
            con.execute("ROLLBACK")
        except duckdb.Error as exc:
            if invalidated(exc):
                self._invalidated = True
            elif not isinstance(exc, duckdb.TransactionException):
                raise

    def _migrate(self) -> None:
        for name, ddl in TABLES.items():
            if name not in RAW_TABLES:  # created in the raw file, or moved there, below
                self._con.execute(ddl)
        for ddl in WRITE_SEQ_COLUMNS:
            self._con.execute(ddl)
        alert_sql.create_tables(self._con)  # alerts keep their DDL beside their SQL
        before = self._meta_int("schema_version") or 0
        for version, statements in MIGRATIONS.items():
            if before in range(1, version):
                for sql in statements:
                    self._con.execute(sql)
        if before in range(1, 6):  # score the samples already stored (quality_samples is new in version 6)
            absorb_quality(self._con, -1, self._max_seq(), stored_thresholds(self._con))
        elif before in range(6, 8):  # find the runs of offending samples already stored (new in version 8)
            rebuild_runs(self._con, stored_thresholds(self._con))
        self._con.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                          [META_KEY, json.dumps(stored_thresholds(self._con), sort_keys=True)])
        create_raw_tables(self._con)
        for ddl in INDEXES:
            self._con.execute(ddl)
        self._con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def _move_keys_out_of_duckdb(self) -> None:
        """Schema 7: the dedup keys left DuckDB's `event_ids` table (an in-memory ART index) for the keys
        file. Copied first, dropped after: a crash in between copies them again (idempotently)."""
        exists = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'event_ids' AND schema_name = 'main'"
        ).fetchall()[0][0]
        if not exists or self._keys is None:
            return
        cur = self._con.execute("SELECT project_id, event_id, day FROM event_ids")
        self._keys.add_stored(iter(lambda: cur.fetchmany(100_000), []), self._seq)
        self._con.execute("DROP TABLE event_ids")
        log.info("dedup keys moved to %s", self._keys.path)

    def _repair_keys(self) -> None:
        """Bring the keys file level with the raw rows: add the keys of commits it missed (a crash
        between the two commits, a lost keys file). A keys file ahead of the database (an older
        database restored beside it) is rebuilt from the raw rows."""
        keys = self._keys
        if keys is None or keys.seq == self._seq:
            return
        since = keys.seq if keys.seq < self._seq else 0
        cur = self._con.cursor()
        try:
            cur.execute(
                "SELECT project_id, event_id, day FROM events WHERE seq > $s"
                " UNION ALL SELECT project_id, event_id, day FROM stats_samples WHERE seq > $s",
                {"s": since},
            )
            keys.add_stored(iter(lambda: cur.fetchmany(100_000), []), self._seq, replace=since == 0)
        finally:
            cur.close()
        log.info("dedup keys repaired from the raw rows of commits %d..%d", since + 1, self._seq)

    def _max_seq(self) -> int:
        """The last commit's number: the newest raw row's, and never below the derivation watermark (meta.derived_seq):
        a file whose raw rows have all expired numbers its next commit after the ones it derived, so that the absorb
        (commits above derived_seq) sees it."""
        row = self._con.execute(
            "SELECT greatest((SELECT coalesce(max(seq), 0) FROM events),"
            " (SELECT coalesce(max(seq), 0) FROM stats_samples),"
            " (SELECT coalesce(max(CAST(value AS BIGINT)), 0) FROM meta WHERE key = 'derived_seq'))"
        ).fetchall()[0]
        return int(row[0])

    def _meta_int(self, key: str) -> int | None:
        """A meta value as an integer, None where the key is absent."""
        row = first_row(self._con.execute("SELECT value FROM meta WHERE key = ?", [key]))
        return int(row[0]) if row else None

    def _read_folded_seq(self) -> int:
        """meta folded_seq, as folding.FOLDED_SQL reads it (0: neither watermark yet)."""
        return int(first_row(self._con.execute(f"SELECT {FOLDED_SQL}"))[0] or 0)

    def _read_final(self) -> Horizons:
        """The final horizons the purges recorded in meta (store/final_rows.py)."""
        return Horizons.of_meta(dict(self._con.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                                                       [FINAL_KEY, FINAL_MINUTES_KEY]).fetchall()))

    def close(self) -> None:
        """Close every reader cursor, checkpoint the WAL into the file, close. A checkpoint that
        fails (a full disk) loses nothing: the WAL stays and is replayed at the next open."""
        with self._cursors_lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
        self._dcon.close()
        if not self._read_only:
            try:
                self._con.execute(f"CHECKPOINT {RAW}")
                self._con.execute("CHECKPOINT")
            except duckdb.Error as exc:
                log.warning("closing without a checkpoint (the WAL is kept and replayed at the next open): %s", exc)
        self._close_handles()
        if self._keys is not None:
            self._keys.close()

    def _bump(self) -> None:
        """Count a commit that changes what reads return (ingest and derivation threads both commit)."""
        with self._version_lock:
            self.data_version += 1

    def checkpoint(self) -> None:
        """The main file's checkpoint: derived rows (the derive thread, which holds the derive lock). On the derive
        connection: a DuckDB connection refuses a second caller instead of waiting, and the write connection is the
        writer thread's (run there, ingest commits failed while it ran). FORCE: a plain CHECKPOINT refuses while an
        ingest commit is open; this one waits for it (and ingest commits that start meanwhile go on: they write the
        raw file)."""
        self._checkpoint(self._dcon, "FORCE CHECKPOINT")

    def checkpoint_raw(self) -> None:
        """The raw file's checkpoint (the writer thread): it holds only the raw rows, so it waits for no derive step
        and stalls ingest commits briefly (store/duckdb/rawfile.py)."""
        self._checkpoint(self._con, f"CHECKPOINT {RAW}")

    def _checkpoint(self, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            if invalidated(exc):  # DuckDB invalidates the database when a checkpoint fails
                self._invalidated = True
            raise classify(exc) from exc

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor private to the calling thread (DuckDB connections are not thread-safe)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None or getattr(self._local, "generation", 0) != self._generation:
            cur = self._db.cursor()
            self._local.cursor = cur
            self._local.generation = self._generation
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    def export_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one long streaming read (an export); the caller closes it."""
        return self._con.cursor()

    # -- projects ----------------------------------------------------------
    def insert_project(self, project: Project) -> None:
        values = asdict(project)
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self._con.execute(f"INSERT INTO projects ({cols}) VALUES ({marks})", list(values.values()))
        self._bump()

    def update_project_secret(self, project_id: str, api_secret: str) -> None:
        self._con.execute("UPDATE projects SET api_secret = ? WHERE project_id = ?", [api_secret, project_id])
        self._bump()

    def get_project(self, project_id: str) -> Project | None:
        cur = self.reader()
        names = [f.name for f in fields(Project)]
        rows = cur.execute(f"SELECT {', '.join(names)} FROM projects WHERE project_id = ?", [project_id]).fetchall()
        return Project(*rows[0]) if rows else None

    def list_projects(self) -> list[Project]:
        names = [f.name for f in fields(Project)]
        rows = self.reader().execute(f"SELECT {', '.join(names)} FROM projects ORDER BY created_at").fetchall()
        return [Project(*r) for r in rows]

    # -- ingestion ---------------------------------------------------------
    def append_events(self, batches: Sequence[dict[str, list[Any]]]) -> AppendResult:
        """Insert new events of several request batches in one transaction.

        An event whose (project_id, event_id) is already stored, or appears earlier in this call, is a
        duplicate and is not inserted again. The keys file (store/duckdb/dedup.py) says which are new;
        its transaction commits after DuckDB's, so a key is never kept for rows that weren't stored."""
        try:
            try:
                return self._append_once(batches)
            except duckdb.Error as exc:
                if not invalidated(exc):
                    raise
                # DuckDB invalidated the database under this append (derivation's commit or a checkpoint
                # failed, e.g. on a full disk): reopen it and try once more, so the caller hears why
                # (507 while the disk stays full) instead of a bare failure.
                self._invalidated = True
                return self._append_once(batches)
        except Exception as exc:
            mapped = classify(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def _append_once(self, batches: Sequence[dict[str, list[Any]]]) -> AppendResult:
        """One attempt; failures propagate as raised (append_events classifies them)."""
        keys = self._keys
        assert keys is not None, "a read-only store takes no events"
        con = self._con  # reopens an invalidated database (replaying the WAL may need room)
        self._repair_keys()
        columns = [batch_column(batches, c) for c in ("project_id", "event_id", "day")]
        sizes = [len(b["event_id"]) for b in batches]
        new = keys.claim(*columns)
        if len(new) == sum(sizes):  # every row new (the common case)
            inserted = [[True] * n for n in sizes]
            keep = [True] * len(new)
        elif not new:
            keys.rollback()
            return AppendResult([[False] * n for n in sizes])
        else:
            inserted, keep = _mark_fresh(batches, new)
        try:
            con.execute("BEGIN")
            self._insert_raw(batches, keep, self._seq + 1)
            con.execute("COMMIT")
        except BaseException:
            keys.rollback()
            self._rollback(con)
            raise
        self._seq += 1
        self._bump()
        try:
            keys.commit(self._seq)
        except Exception:  # the rows are committed: the next append (or open) re-adds their keys first
            log.exception("dedup keys of commit %d not saved yet; repaired before the next append", self._seq)
        return AppendResult(inserted)

    def _insert_raw(self, batches: Sequence[dict[str, list[Any]]], keep: list[bool], seq: int) -> None:
        """Insert the kept rows: stats samples into stats_samples, everything else into events."""
        con = self._con
        used = [c for c in RAW_COLUMNS if any(c in b for b in batches)]
        table = pa.table({c: batch_column(batches, c) for c in used})
        if not all(keep):
            table = table.filter(pa.array(keep))
        is_stats = pc.is_in(table["type"], value_set=pa.array(sorted(STATS_TYPES)))
        names = ", ".join(used)
        for target, rows in (("stats_samples", table.filter(is_stats)), ("events", table.filter(pc.invert(is_stats)))):
            if rows.num_rows:
                con.register("incoming", rows)
                con.execute(f"INSERT INTO {raw_table(target)} ({names}, seq) SELECT {names}, {seq:d} FROM incoming")
                con.unregister("incoming")

    # -- derivation --------------------------------------------------------
    def absorb_new_events(self, fold: bool = True) -> int:
        """Bring session_bounds and dirty_sessions up to date with the lifecycle events of all commits, and, when a
        fold is due (store/duckdb/folding.py; at every absorb with `stats_fold_s` 0), with their stats samples too:
        stats_daily and the samples' quality (the late samples' about once a minute, or when there is nothing new:
        store/duckdb/late_samples.py). `fold` False: the lifecycle events alone, a fold due or not (the derive loop
        writes the new sessions before a timed fold: derive/worker.py). Returns how many commits were absorbed.

        Done once per derive step instead of once per ingest commit; the watermarks (meta derived_seq and folded_seq)
        move in the same transaction, so a crash loses nothing."""
        folded = self._folded_seq
        absorbed = self._absorb_retrying(None if fold else False)
        if self._folded_seq > folded and self._seq > self._derived_seq:
            # commits that came while the samples were folded (up to ~2 s under load): their lifecycle events now, so
            # that a new session among them is derived in this step rather than the next
            absorbed += self._absorb_retrying(None)
        return absorbed

    def fold_due(self) -> bool:
        """The next absorb folds stats samples because `stats_fold_s` has passed (none waits otherwise: a fold for
        another reason, an idle store, does not count)."""
        return self._folds.timed_out() and self._seq > self._folded_seq

    def absorb_all(self) -> int:
        """absorb_new_events with the stats samples folded in whether due or not (a rebuild, marking all dirty)."""
        return self._absorb_retrying(True)

    def _absorb_retrying(self, fold: bool | None) -> int:
        """_absorb, again with the upserts should a bound have missed a stored row. `fold` True: the stats samples
        folded whether due or not; None: when due (FoldClock); False: lifecycle events alone."""
        try:
            return self._absorb(fold)
        except duckdb.ConstraintException:
            if not self._stats_in_parts:
                raise
            # a stored row a bound missed (_absorb_stats, the quality bands): nothing was written; the upserts from now
            log.warning("stats_daily or quality_buckets holds rows older than their session's bounds: "
                        "absorbing with the upserts")
            self._stats_in_parts = False
            return self._absorb(fold)

    def _absorb(self, fold_asked: bool | None) -> int:
        """One absorb in its transaction (`fold_asked` as _absorb_retrying's `fold`)."""
        lo, hi, flo = self._derived_seq, self._seq, self._folded_seq
        unscored = self._unscored_after
        idle = hi <= lo
        # Whether the store's scoring state is the setting's: if not, a fold is due even with no new commit (scoring
        # back on: its catch-up; off: where it went off recorded, before anything is derived without it).
        as_set = (unscored is None) == self._score_samples
        fold = not as_set or (self._folds.due(idle, self._sessions_wait) if fold_asked is None else fold_asked)
        fold_idle = hi <= flo  # no sample to fold
        take_late = fold and self._score_samples and unscored is None and self._late.due(fold_idle)
        if idle and (fold_idle or not fold) and as_set and not take_late:
            return 0  # (late samples parked: taken when nothing else comes)
        con = self._dcon
        params = {"lo": flo, "hi": hi}  # the samples' commits (when folding)
        t = time.perf_counter()
        con.execute("BEGIN")
        try:
            absorbed = None
            if fold:
                absorbed, unscored = self._fold(params, fold_idle, take_late, unscored)
            t = time.perf_counter()
            if not idle or (fold and not fold_idle):
                self._absorb_sessions({"lo": lo, "hi": hi, "flo": flo, "fhi": hi if fold else flo})
                con.execute("INSERT OR REPLACE INTO meta VALUES ('derived_seq', ?)", [str(hi)])
                # (with derived_seq always: a file without it reads folded_seq as derived_seq, its samples all folded)
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [FOLDED_KEY, str(hi if fold else flo)])
            t = lap(self.timings, "absorb_dirty", t)
            con.execute("COMMIT")
            lap(self.timings, "absorb_commit", t)
            self._bump()
        except BaseException:
            self._rollback(con)
            raise
        self._derived_seq = hi  # (idle: hi == lo; commits are numbered past derived_seq, _max_seq)
        if fold:
            self._folded_seq = hi
            self._folds.folded()
        self._unscored_after = unscored
        if absorbed is not None:
            self._late.committed(*absorbed)
        return hi - lo

    def _fold(self, params: dict[str, int], idle: bool, take_late: bool,
              unscored: int | None) -> tuple[Absorbed | None, int | None]:
        """The stats samples of commits (params lo, hi] into stats_daily and their quality (the caller's transaction);
        returns (what absorb_quality did, the unscored watermark now)."""
        con = self._dcon
        t = time.perf_counter()
        bound = None  # the stats' and the quality bands' bound (_absorb_stats), None: the upserts
        if idle:
            bound = UNKNOWN_FIRST_TS if self._stats_in_parts else None
        elif self._stats_in_parts:
            bound = self._absorb_stats(params)
        else:
            con.execute(_ABSORB_STATS_SQL, params)
        t = lap(self.timings, "absorb_stats", t)
        absorbed = None
        if not self._score_samples:
            if unscored is None:  # the first commit left unscored is recorded (a later absorb scores from it)
                unscored = params["lo"]
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [UNSCORED_KEY, str(unscored)])
        elif unscored is None:
            if take_late and bound is not None:
                bound = min(bound, self._parked_bound())
            absorbed = absorb_quality(con, params["lo"], params["hi"], self._run_thresholds, bound,
                                      park_before=None if take_late else self._late.park_before(),
                                      take_parked=take_late)
        else:
            absorbed = self._score_unscored(unscored, params["hi"])
            unscored = None
        lap(self.timings, "absorb_quality", t)
        return absorbed, unscored

    def _sessions_wait(self) -> bool:
        """Does a session wait to be derived (a fold is due at once when none does)?"""
        return bool(self._dcon.execute("SELECT EXISTS (SELECT 1 FROM dirty_sessions)").fetchall()[0][0])

    def _parked_bound(self) -> int:
        """The least first event of the parked samples' sessions: the bound on the bands they add to."""
        since = self._least_first_ts(parked_sessions(self._dcon))
        return UNKNOWN_FIRST_TS if since is None else since

    def _least_first_ts(self, session_ids: list[str]) -> int | None:
        """The least first event of these sessions as session_bounds holds it (None: none of them is there), looked
        up through its session_id index (a join would read session_bounds whole)."""
        if not session_ids:
            return None
        since = self._dcon.execute("SELECT min(first_ts) FROM session_bounds "
                                   f"WHERE session_id IN ({string_list(sorted(session_ids))})").fetchall()[0][0]
        return None if since is None else int(since)

    def _score_unscored(self, since: int, hi: int) -> Absorbed:
        """Scoring back on (setting quality_scoring): score the samples of commits (since, hi], those absorbed while
        it was off too (and any parked), and mark dirty again every session written since it went off (`since`, the
        watermark then: its rows were written at or above it, schema.WRITTEN): derived without quality, whether
        its commits came while scoring was off or were waiting when it went off (the caller's absorb transaction).
        A session written at that watermark just before is derived again too: harmless, and once."""
        con = self._dcon
        # (the upsert: older bands may be added to)
        absorbed = absorb_quality(con, since, hi, self._run_thresholds, take_parked=True)
        con.execute("""INSERT OR IGNORE INTO dirty_sessions (project_id, session_id, dirtied_seq)
                       SELECT project_id, session_id, coalesce(last_seq, $since + 1) FROM session_bounds
                       WHERE written_seq >= $since""", {"since": since})
        con.execute("DELETE FROM meta WHERE key = ?", [UNSCORED_KEY])
        log.info("quality scoring is on again: scored the samples of commits %d-%d, sessions derived meanwhile "
                 "marked dirty", since + 1, hi)
        return absorbed

    def _absorb_stats(self, params: dict[str, int]) -> int:
        """_ABSORB_STATS_SQL in its parts (store/duckdb/parts.py), bounded by the least first event of the new rows'
        sessions, looked up through session_bounds' session_id index.
        Returns the bound (the quality bands take the same: absorb_quality), UNKNOWN_FIRST_TS when none of the new
        rows' sessions was seen before (nothing stored to add to).
        A stored row's first_ts is never before its session's first event (session_bounds, before this absorb
        updates it; a session without bounds has no rows), and a row is inserted when its stream's first sample of
        the day is absorbed, so the bound skips the streams that began before the new rows' sessions: the upsert
        read every row of today (62 -> 358 ms of CPU with 3 million of them, ~90 ms in parts:
        benchmarks/bench_today_rows.py)."""
        con = self._dcon
        con.execute(f"CREATE OR REPLACE TEMP TABLE stats_new AS SELECT * FROM ({_STATS_SELECT}) t({_STATS_COLUMNS})",
                    params)
        ids = [r[0] for r in con.execute("SELECT DISTINCT session_id FROM stats_new").fetchall()]
        since = self._least_first_ts(ids)
        if since is None:  # no session of these rows was seen before: no stored row to add to
            con.execute(f"INSERT INTO stats_daily ({_STATS_COLUMNS}) SELECT {_STATS_COLUMNS} FROM stats_new")
            return UNKNOWN_FIRST_TS
        add_in_parts(con, "stats_daily", "stats_new", _STATS_KEY, _STATS_COLUMNS, _STATS_UPDATES, since)
        return since

    def _absorb_sessions(self, params: dict[str, int]) -> None:
        """The new commits' sessions: their bounds in session_bounds, and dirty. A session seen for the first time
        (its bounds row inserted now: store/duckdb/bounds.py, not by reading `sessions`) is marked never derived, so
        that dirty_sessions() takes it first without looking at the derived tables."""
        con = self._dcon
        seen_first = absorb_bounds(con, self._bounds_rowids, ROWS, params)
        con.register("seen_first", key_table(seen_first))
        try:
            con.execute("""INSERT OR IGNORE INTO dirty_sessions (project_id, session_id, dirtied_seq, never_derived)
                           SELECT a.project_id, a.session_id, a.seq, f.session_id IS NOT NULL
                           FROM absorbed a LEFT JOIN seen_first f USING (project_id, session_id)""")
        finally:
            con.unregister("seen_first")

    def undigested_commits(self) -> int:
        """Commits not yet absorbed, or whose stats samples are not yet folded in (folded_seq <= derived_seq)."""
        return self._seq - self._folded_seq

    def dirty_session_count(self) -> int:
        """Sessions waiting to be derived, or to be scored by a quality pass (quality_pass.py)."""
        return int(self.reader().execute(
            "SELECT count(*) FROM (SELECT project_id, session_id FROM dirty_sessions "
            "UNION SELECT project_id, session_id FROM quality_owed)").fetchall()[0][0])

    def oldest_dirty_seq(self) -> int | None:
        """The commit that first dirtied the session waiting longest (None: none waits); for /metrics."""
        value = self.reader().execute("SELECT min(dirtied_seq) FROM dirty_sessions").fetchall()[0][0]
        return None if value is None else int(value)

    @property
    def seq(self) -> int:
        """Sequence number of the last ingest commit."""
        return self._seq

    @property
    def derived_seq(self) -> int:
        """Last commit folded into dirty_sessions and stats (the derivation watermark)."""
        return self._derived_seq

    def derive_lag_ms(self, now_ms: int) -> int:
        """How long the oldest acknowledged event not yet reflected in the derived tables has waited, from
        its request's arrival (`received_at`); 0 when everything is derived (or after `rebuild`'s marking)."""
        row = self.reader().execute(
            """WITH pending AS (SELECT min(dirtied_seq) AS seq FROM dirty_sessions
                                UNION ALL SELECT $folded + 1 WHERE $folded < $seq),
                    first AS (SELECT min(seq) AS seq FROM pending)
               SELECT min(received_at) FROM (
                 SELECT received_at FROM events WHERE seq = (SELECT seq FROM first)
                 UNION ALL SELECT received_at FROM stats_samples WHERE seq = (SELECT seq FROM first))""",
            {"folded": self._folded_seq, "seq": self._seq},  # (the older watermark: store/duckdb/folding.py)
        ).fetchall()[0]
        return max(0, now_ms - row[0]) if row[0] is not None else 0  # (an aggregate: always one row)

    def has_events(self, project_id: str) -> bool:
        rows = self.reader().execute("SELECT 1 FROM session_bounds WHERE project_id = ? LIMIT 1", [project_id])
        return bool(rows.fetchall())

    def ping(self) -> None:
        """Raise if the database does not answer."""
        self.reader().execute("SELECT 1").fetchall()

    def storage_bytes(self) -> int:
        """The database file, the raw file, their write-ahead logs and the dedup keys file (with SQLite's journal)."""
        keys = keys_path(self.path)
        return sum(map(_file_size, (*database_files(self.path), keys, f"{keys}-wal", f"{keys}-journal")))

    def folds_deferred(self) -> int:
        """Absorbs that left their stats samples for a later fold (store/duckdb/folding.py)."""
        return self._folds.deferred

    def quality_kept(self) -> int:
        """Session derivations written with their sample quality kept (replace_derived, store/duckdb/rescoring.py)."""
        return self._rescores.waited

    def late_samples_parked(self) -> int:
        """Stats samples that came late and were parked to be absorbed together (store/duckdb/late_samples.py)."""
        return self._late.parked_total

    def wal_bytes(self) -> tuple[int, int]:
        """The raw file's and the main file's write-ahead logs: the writer checkpoints the first, the derive thread
        the second, each when its own grows past its setting (wal_autocheckpoint_mb, derived_wal_checkpoint_mb)."""
        _, main_wal, _, raw_wal = database_files(self.path)
        return _file_size(raw_wal), _file_size(main_wal)

    def dirty_sessions(self, limit: int, never_derived: bool = False,
                       wanted: Sequence[SessionKey] = ()) -> list[SessionKey]:
        """Sessions never derived first (invisible in the API until then, and derived once each), then the
        ones dirtied longest ago, so that a busy backlog of live sessions never starves a new one. With
        `never_derived`, only those never derived and then the `wanted` ones that are dirty (the derive loop's
        express lane, derive/engine.py; derive/wanted.py).

        Whether a session was ever derived is kept with it (`never_derived`, set at absorb when its bounds row
        was new): looking it up in `sessions` read every session at each step (35 ms of CPU with 2,000 dirty
        at 306,000 sessions, 1.6 ms now: benchmarks/bench_step_inputs.py)."""
        con = self._dcon
        where = ""
        if never_derived:
            pairs = ", ".join(f"({string_list(key)})" for key in sorted(set(wanted)))
            where = "WHERE never_derived" + (f" OR (project_id, session_id) IN (VALUES {pairs})" if pairs else "")
        # fetchall: a result left unfinished (fetchone) blocks the connection's next register()
        rows = con.execute(
            f"""SELECT project_id, session_id FROM dirty_sessions {where}
                ORDER BY NOT never_derived, dirtied_seq, project_id, session_id
                LIMIT ?""",
            [limit],
        ).fetchall()
        return [(p, s) for p, s in rows]

    def mark_all_dirty(self) -> int:
        self._event_cache.clear()  # a rebuild reads every session from the raw events
        self.absorb_all()
        self._dcon.execute("DELETE FROM dirty_sessions")
        self._dcon.execute(f"""INSERT INTO dirty_sessions (project_id, session_id, dirtied_seq, never_derived)
                               SELECT project_id, session_id, 0, {_NOT_IN_SESSIONS} FROM session_bounds""")
        return int(self._dcon.execute("SELECT count(*) FROM dirty_sessions").fetchall()[0][0])

    def _keys_table(self, keys: Sequence[SessionKey]) -> None:
        """Temp table `keys` (with each session's first_ts, the first day and ms its day, hour and minute rows may be
        rewritten from: Horizons.rows_from_day, written_seq and the rowid of its session_bounds row) on the derive
        connection. A cycle reads its events and then its stats for the same keys: the table made for the first read
        serves the second; replace_derived makes its own inside its transaction, where the rowids hold
        (_stamp_written).

        The bounds are fetched by session id alone first, the ids written into the statement, through the
        session_id index (portable.string_list); joined, session_bounds was read whole at every step (28-36 ms
        of CPU for 250 sessions at 306,000 sessions, 18-20 ms now: benchmarks/bench_step_inputs.py)."""
        con = self._dcon
        wanted = (con, tuple(keys))  # a temp table lives on its connection: a new one (a reopen) has none
        if self._keys_now is not None and self._keys_now[0] is con and self._keys_now[1] == wanted[1]:
            return
        self._keys_now = None  # until the table below exists (a failed statement must not leave it claimed)
        found = con.execute("SELECT project_id, session_id, first_ts, written_seq, rowid, last_ts FROM session_bounds "
                            f"WHERE session_id IN ({string_list(sorted({k[1] for k in keys}))})").fetchall()
        # never written yet: its only rows are a preview's, if any (store/duckdb/preview.py), stamped at or above
        # the commit that first dirtied it, so that commit less one bounds them (this watermark where it is not dirty:
        # schema.WRITTEN stays bounded, and not NULL, for a batch of new sessions only); no bounds at all: first_ts 0
        # (bounds nothing), written_seq 0 (its rows may lie anywhere), no row to stamp
        unwritten = self._unwritten_bound([session for _, session, _, written, _, _ in found if written is None])
        bounds = {(project, session): (ts, unwritten.get((project, session), self._derived_seq) if written is None
                                       else written, rowid)
                  for project, session, ts, written, rowid, _ in found}
        rows = [bounds.get((k[0], k[1]), (0, 0, None)) for k in keys]
        final = self._final
        self._keys_first_ts = {k: r[0] for k, r in zip(keys, rows, strict=True)}
        self._keys_newest = max((row[5] for row in found), default=0)
        self._bounds_rowids.remember((project, session, rowid) for project, session, _, _, rowid, _ in found)
        con.register("keys_in", pa.table({
            "project_id": pa.array([k[0] for k in keys], pa.string()),
            "session_id": pa.array([k[1] for k in keys], pa.string()),
            "first_ts": pa.array([r[0] for r in rows], pa.int64()),
            "rows_from_day": pa.array([final.rows_from_day(first_row_day(r[0])) for r in rows], pa.date32()),
            "rows_from_ms": pa.array([final.hour_floor_ms or 0] * len(rows), pa.int64()),
            "minutes_from_ms": pa.array([final.minute_floor_ms or 0] * len(rows), pa.int64()),
            "written_seq": pa.array([r[1] for r in rows], pa.int64()),
            "bounds_rowid": pa.array([r[2] for r in rows], pa.int64()),
        }))
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE keys AS SELECT * FROM keys_in")
        finally:
            con.unregister("keys_in")
        con.execute(KEYS_BOUNDS_SET)
        self._keys_now = wanted

    def _unwritten_bound(self, session_ids: list[str]) -> dict[SessionKey, int]:
        """For these never-written sessions, the write_seq bound of their rows: the commit before the one that first
        dirtied them (a preview's rows carry a later one)."""
        if not session_ids:
            return {}
        found = self._dcon.execute("SELECT project_id, session_id, dirtied_seq - 1 FROM dirty_sessions "
                                   f"WHERE session_id IN ({string_list(sorted(set(session_ids)))})").fetchall()
        return {(project, session): int(bound) for project, session, bound in found}

    def load_session_event_table(self, keys: Sequence[SessionKey]) -> pa.Table:
        """The raw lifecycle events of these sessions as LIFECYCLE_COLUMNS (derive/inputs.py reads them), up to the
        absorbed commits (derived_seq). Sessions kept by the event cache (store/duckdb/event_cache.py) are completed
        with the commits read since; the others are read whole."""
        self._keys_table(keys)
        cache, upto = self._event_cache, self._derived_seq
        kept = cache.lookup(keys)
        missing = [k for k in keys if k not in kept.entries]
        parts = []
        if missing:
            # first_ts is a session's earliest event, so no older row can belong to it (zone maps skip them).
            since = min(self._keys_first_ts.get(k, 0) for k in missing)
            parts.append(self._events_of("missing_keys" if kept.entries else "keys", missing,
                                         f"e.ts >= {since:d} AND e.seq <= {upto:d}"))
        if kept.entries:
            # rows are appended in commit order: zone maps skip all but the commits since the least upto
            lo = min(e.upto for e in kept.entries.values())
            parts.append(self._events_of("kept_keys", list(kept.entries),
                                         f"e.seq > {lo:d} AND e.seq <= {upto:d} AND e.seq > k.upto",
                                         [e.upto for e in kept.entries.values()]))
        fresh = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if not cache.max_bytes:
            return fresh
        return cache.complete(keys, kept, fresh, upto, self._keys_first_ts, self._keys_newest - KEEP_AFTER_MS)

    def _events_of(self, name: str, keys: Sequence[SessionKey], where: str, upto: Sequence[int] | None = None,
                   con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
        """Rows of `events` (LIFECYCLE_COLUMNS) of these keys, registered as `name` (or the temp table `keys`) on `con`
        (the derive connection by default), with an `upto` column if given, filtered by `where` (e: events, k: the
        keys)."""
        con = self._dcon if con is None else con
        if name != "keys":
            columns = {"project_id": pa.array([k[0] for k in keys], pa.string()),
                       "session_id": pa.array([k[1] for k in keys], pa.string())}
            if upto is not None:
                columns["upto"] = pa.array(upto, pa.int64())
            con.register(name, pa.table(columns))
        try:
            return con.sql(
                f"""SELECT {_LIFECYCLE_SELECT} FROM events e
                    JOIN {name} k ON e.project_id = k.project_id AND e.session_id = k.session_id
                    WHERE {where}"""
            ).to_arrow_table()
        finally:
            if name != "keys":
                con.unregister(name)

    def load_stats_table(self, keys: Sequence[SessionKey]) -> pa.Table:
        """The stats_daily rows of these sessions, columns as derive/inputs.py's STATS_COLUMNS.

        A session's samples are never older than its first event (session_bounds counts them), so none of its
        rows is of an earlier LA day, nor began before it: the bounds let zone maps skip the older days' rows, which
        the join alone read at every step (745-761 ms of CPU for 250 sessions at 10.7 million rows, 108-146 ms:
        benchmarks/bench_step_inputs.py), and today's streams that began before the batch's oldest session (a row
        is inserted when its stream's first sample of the day is absorbed: 233 -> 35 ms of CPU with 3 million rows
        of today, benchmarks/bench_today_rows.py)."""
        self._keys_table(keys)
        self._stats_reads.read(keys, self._folded_seq)
        columns = ", ".join(f"s.{c}" for c in STATS_COLUMNS)
        since = min(self._keys_first_ts.values(), default=0)
        return self._dcon.sql(
            f"""SELECT {columns}
                FROM stats_daily s JOIN keys k ON s.project_id = k.project_id AND s.session_id = k.session_id
                WHERE s.day >= {SINCE_DAY} AND s.first_ts >= {since:d}
                ORDER BY s.project_id, s.session_id, side, entity_id, day"""
        ).to_arrow_table()

    def preview_inputs(self, limit: int) -> Preview | None:
        """Up to `limit` sessions first seen in commits not yet absorbed (store/duckdb/preview.py), with their
        lifecycle events; None when there is none, or more than MAX_COMMITS commits wait. On the preview cursor:
        called by derive/preview.py's thread while the derive connection runs a step."""
        lo, hi = self._derived_seq, self._seq
        if self._read_only or hi <= lo or hi - lo > PREVIEW_MAX_COMMITS:
            return None
        con = self._preview_cursor()
        keys = new_session_keys(con, lo, hi, limit, self._preview_seen)
        if not keys:
            return None
        # (none of their events was absorbed: none lies in an earlier commit)
        events = self._events_of("preview_keys", keys, f"e.seq > {lo:d} AND e.seq <= {hi:d}", con=con)
        return Preview(keys, events, no_stats(con), hi)

    def write_preview(self, preview: Preview, tables: Mapping[str, Sequence[pa.Table]]) -> None:
        """A preview's derived rows into the per-session tables, in a transaction of its own on the preview cursor
        (store/duckdb/preview.py says why it cannot collide with a derive step's)."""
        con = self._preview_cursor()
        con.execute("BEGIN")
        try:
            # the tables sessionData reads; the day, hour and minute rows wait for the derivation
            for table, parts in self._final.without_final_rows(tables).items():
                for rows in parts if table in PREVIEW_TABLES else ():
                    self._insert_table(table, rows, con, preview.stamp)
            con.execute("COMMIT")
        except BaseException:
            self._rollback(con)
            raise
        self._preview_seen.update(session for _, session in preview.keys)
        self._bump()

    def _preview_cursor(self) -> duckdb.DuckDBPyConnection:
        """The previews' own cursor (one preview at a time: derive/preview.py), new after a reopen."""
        if self._preview_con is None or self._preview_con[0] != self._generation:
            cursor = self._db.cursor()
            with self._cursors_lock:
                self._cursors.append(cursor)
            self._preview_con = (self._generation, cursor)
        return self._preview_con[1]

    def replace_derived(self, keys: Sequence[SessionKey], tables: Mapping[str, Sequence[pa.Table]],
                        quality: QualityThresholds | None = None,
                        loaded_seq: int | Sequence[int] | None = None) -> None:
        """Swap in the new derived rows of these sessions (derive/rows.py: table name -> parts of its rows)
        and refresh the rollups of every day they touch, before or after. With `quality`, score the sessions'
        samples and detect their sample issues here, from the new rows (store/duckdb/quality.py).

        `loaded_seq` is the watermark (`derived_seq`) when their inputs were read, one for all keys or one per
        key: a session that commits absorbed since then dirtied again stays dirty (a pipelined engine absorbs
        while a batch is away, and writes the sessions of its express lane, read later, with it). Such a session
        keeps its sample quality as it was when scored less than `quality_refresh_s` ago (store/duckdb/rescoring.py):
        its next derivation comes soon."""
        con = self._dcon
        self._keys_now = None  # made in the transaction below, which may roll back: never reused
        tables = self._final.without_final_rows(tables)
        timings = self.timings
        t = time.perf_counter()
        seqs = [loaded_seq] * len(keys) if isinstance(loaded_seq, int) else loaded_seq
        folded = self._stats_reads.written(keys, seqs) if seqs else []
        con.execute("BEGIN")
        try:
            self._keys_table(keys)
            self._keys_now = None
            redirtied = (self._redirtied(keys, seqs, folded)
                         if seqs and (min(seqs) < self._derived_seq or min(folded) < self._folded_seq) else [])
            runs_found_with = None
            if quality is not None and run_thresholds(quality) != self._run_thresholds:
                runs_found_with = run_thresholds(quality)  # other settings: every run found again, once
            waiting: set[SessionKey] = set()
            if quality is not None and runs_found_with is None and self._rescores.refresh_s > 0:
                waiting = self._rescores.waiting([*redirtied, *self._with_unfolded_samples()])
            recent = len(waiting)  # scored less than quality_refresh_s ago: kept whether passes are on or not
            owed = []  # left to the next pass (quality_pass.py): then every session of the step keeps its quality
            if quality is not None and runs_found_with is None and self._passes.on:
                owed = [k for k in keys if k not in waiting]
                waiting = set(keys)
            if waiting:
                self._waiting_table(waiting)
                keep_parts(con)
            self._record_touched(create=True)
            for table in DERIVED_SESSION_TABLES:
                kept = f" AND NOT ({KEPT[table]})" if waiting and table in KEPT else ""
                con.execute(f"DELETE FROM {table} WHERE {rows_of_keys(table)}{kept}")
            for table, parts in tables.items():
                for rows in parts:
                    self._insert_table(table, rows)
            t = lap(timings, "rows", t)
            if quality is not None:
                if runs_found_with is not None:
                    rebuild_runs(con, runs_found_with)
                derive_sample_quality(con, quality, self._derived_seq, len(waiting), len(keys), self._final.day)
                if owed:
                    self._owe(owed)
            t = lap(timings, "quality", t)
            self._record_touched(create=False)
            self._refresh_rollups()
            for kind in FINE_KINDS:
                self._refresh_fine_rollup(kind)
            t = lap(timings, "rollups", t)
            con.execute(
                f"DELETE FROM dirty_sessions WHERE {rows_of_keys('dirty_sessions')}"
            )
            self._stamp_written()
            if redirtied:  # dirty again: commits of theirs absorbed after their inputs were read
                con.execute("INSERT OR IGNORE INTO dirty_sessions (project_id, session_id, dirtied_seq) "
                            "SELECT project_id, session_id, seq FROM redirtied")
            t = lap(timings, "dirty", t)
            con.execute("COMMIT")
            lap(timings, "commit", t)
            if runs_found_with is not None:
                self._run_thresholds = runs_found_with
            if quality is not None:
                self._rescores.written((k for k in keys if k not in waiting), recent)
            if owed:
                self._passes.owed()
            self._bump()
        except BaseException:
            self._rollback(con)
            raise

    def _owe(self, owed: Sequence[SessionKey]) -> None:
        """Record these sessions in quality_owed (the caller's transaction)."""
        con = self._dcon
        con.register("owed_in", key_table(owed))
        try:
            con.execute(OWE)
        finally:
            con.unregister("owed_in")

    def quality_pass_due(self, idle: bool = False) -> bool:
        """Sessions wait for a pass (score_owed) and one is due: `quality_pass_s` since the last, or now when `idle`."""
        return self._passes.due(idle) and not self._read_only

    def score_owed(self, quality: QualityThresholds | None, limit: int | None = None) -> int:
        """The pass (store/duckdb/quality_pass.py): score up to `limit` owed sessions from their derived rows as they
        stand, in a transaction of their own; how many were owed. With `quality` None (scoring off) they are only
        forgotten."""
        if self._read_only:
            return 0
        con = self._dcon
        self._keys_now = None  # made in the transaction below, which may roll back: never reused
        timings, t = self.timings, time.perf_counter()
        con.execute("BEGIN")
        try:
            limit = limit or OWED_PER_PASS
            keys: list[SessionKey] = [(p, s) for p, s in con.execute(OWED_BATCH, [limit]).fetchall()]
            if keys:
                self._keys_table(keys)
                self._keys_now = None
                if quality is not None:
                    self._record_touched(create=True, endpoint_days_only=True)
                    for sql in CLEAR:
                        con.execute(sql)
                    since = first_row(con.execute(ROWS_SINCE))[0]
                    derive_sample_quality(con, quality, self._derived_seq, final_before=self._final.day,
                                          rows_since=since)
                    if first_row(con.execute(MISSED))[0]:
                        con.execute(EMPTY_ROWS)
                    t = lap(timings, "quality", t)
                    self._record_touched(create=False, endpoint_days_only=True)
                    self._refresh_rollups(endpoint_days_only=True)
                    t = lap(timings, "rollups", t)
                con.execute(PAID)
            con.execute("COMMIT")
            lap(timings, "commit", t)
        except BaseException:
            self._rollback(con)
            raise
        # (only this thread owes sessions, under the derive lock: a full pass may have left some, a shorter one none)
        self._passes.passed(len(keys) if quality is not None else 0, more=len(keys) == limit)
        if keys:
            if quality is not None:
                self._rescores.written(keys, 0)
            self._bump()
        return len(keys)

    def quality_passed(self) -> int:
        """Sessions scored by quality passes since the store opened (/metrics)."""
        return self._passes.scored

    def _stamp_written(self) -> None:
        """Record in session_bounds that the sessions in temp table `keys` have their rows at or above this step's
        write_seq (schema.WRITTEN). By the rowids `_keys_table` looked up through the session_id index in this
        transaction: an UPDATE filtered by id reads the whole table (206 ms of CPU for 250 sessions among 3
        million, ~5 ms by rowid)."""
        self._dcon.execute("UPDATE session_bounds SET written_seq = $w WHERE rowid IN "
                           "(SELECT bounds_rowid FROM keys WHERE bounds_rowid IS NOT NULL)", {"w": self._derived_seq})

    def _with_unfolded_samples(self) -> list[SessionKey]:
        """The sessions in temp table `keys` with stats samples committed after the last fold: the fold that takes them
        dirties them again, so their sample quality may wait as a session dirty again does (store/duckdb/folding.py)."""
        if self._folded_seq >= self._seq:
            return []
        found = self._dcon.execute(
            "SELECT DISTINCT s.project_id, s.session_id FROM stats_samples s SEMI JOIN keys k "
            "ON s.project_id = k.project_id AND s.session_id = k.session_id WHERE s.seq > ?", [self._folded_seq])
        return [(p, s) for p, s in found.fetchall()]

    def _redirtied(self, keys: Sequence[SessionKey], seqs: Sequence[int], folded: Sequence[int]) -> list[SessionKey]:
        """The keys with commits absorbed after their inputs were read (seqs: derived_seq then; folded: the stats
        samples' folded_seq then), in temp table `redirtied` with the first such commit."""
        con = self._dcon
        con.register("loaded_in", pa.table({"project_id": [k[0] for k in keys], "session_id": [k[1] for k in keys],
                                            "loaded_seq": pa.array(seqs, pa.int64()),
                                            "folded_seq": pa.array(folded, pa.int64())}))
        try:
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE redirtied AS
                    SELECT n.project_id, n.session_id, min(n.seq) AS seq
                    FROM {ROWS} n JOIN loaded_in k ON n.project_id = k.project_id AND n.session_id = k.session_id
                    WHERE n.seq > CASE WHEN n.stats THEN k.folded_seq ELSE k.loaded_seq END
                    GROUP BY n.project_id, n.session_id""",
                {"lo": min(seqs), "hi": self._derived_seq, "flo": min(folded), "fhi": self._folded_seq},
            )
        finally:
            con.unregister("loaded_in")
        return [(p, s) for p, s in con.execute("SELECT project_id, session_id FROM redirtied").fetchall()]

    def _waiting_table(self, waiting: set[SessionKey]) -> None:
        """Temp table `q_wait`: the sessions whose sample quality waits (store/duckdb/quality.py's KEPT)."""
        con = self._dcon
        con.register("waiting_in", key_table(waiting))
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE q_wait AS SELECT * FROM waiting_in")
        finally:
            con.unregister("waiting_in")

    def _record_touched(self, create: bool, endpoint_days_only: bool = False) -> None:
        """Record what the sessions in `keys` contribute to, in temp tables: the endpoint groups (project, day,
        dimensions: _group) in touched_groups, the (project, day)s of their project rows in touched_days, the
        (project, hour / minute, dimensions) groups in touched_fine. Created before their old rows go, added to once
        the new ones are in: the rollups of exactly those are re-aggregated. Kept in SQL (no round trip through
        Python). A group of an expired earlier use of a session id may be among them: re-aggregated, it stays as it was.
        `endpoint_days_only`: the sessions' other rows stay as they are (a quality pass): touched_days is left empty,
        touched_fine alone."""
        fine = " UNION ".join(
            f"SELECT DISTINCT '{kind}' AS kind, bucket, {_group('bucket')} AS grp FROM session_endpoint_{kind}s "
            f"WHERE {rows_of_keys(f'session_endpoint_{kind}s', exact=False)}"
            for kind in FINE_KINDS
        )
        touched = [
            ("touched_groups", f"SELECT DISTINCT project_id, day, {_group('day')} AS grp FROM session_endpoint_days "
                               f"WHERE {rows_of_keys('session_endpoint_days', exact=False)}"),
            ("touched_days", "SELECT DISTINCT project_id, day FROM session_project_days "
                             f"WHERE {rows_of_keys('session_project_days', exact=False)}"
                             f"{' AND false' if endpoint_days_only else ''}"),
        ]
        if not endpoint_days_only:
            touched.append(("touched_fine", fine))
        for table, select in touched:
            self._dcon.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}" if create
                               else f"INSERT INTO {table} {select}")

    def _refresh_fine_rollup(self, kind: str) -> None:
        """Re-aggregate the touched groups of rollup_endpoint_{hour,minute}ly (_group): a busy minute holds
        thousands of groups, of which a step's sessions touch a few."""
        con = self._dcon
        dims = ", ".join(DIMENSIONS)
        sums = ", ".join(f"sum({m})" for m in FINE_MEASURES)
        touched = f"FROM touched_fine WHERE kind = '{kind}'"
        in_groups = f"bucket >= (SELECT min(bucket) {touched}) AND {_group('bucket')} IN (SELECT grp {touched})"
        con.execute(f"DELETE FROM rollup_endpoint_{kind}ly WHERE {in_groups}")
        con.execute(
            f"INSERT INTO rollup_endpoint_{kind}ly (project_id, bucket, {dims}, {', '.join(FINE_MEASURES)}) "
            f"SELECT project_id, bucket, {dims}, {sums} FROM session_endpoint_{kind}s WHERE {in_groups} "
            f"GROUP BY project_id, bucket, {dims}"
        )

    def _insert_table(self, table: str, rows: pa.Table, con: duckdb.DuckDBPyConnection | None = None,
                      write_seq: int | None = None) -> None:
        """Derived rows into their table on `con` (the derive connection by default), stamped `write_seq` (this
        step's watermark by default: schema.WRITTEN)."""
        if table not in DERIVED_SESSION_TABLES:
            raise ValueError(f"{table} is not a derived session table")
        if not rows.num_rows:
            return
        con = self._dcon if con is None else con
        # (no `finally`: after a failed INSERT the transaction refuses the unregister too, hiding why it failed)
        con.register("derived_rows", rows)
        con.execute(f"INSERT INTO {table} ({', '.join(rows.column_names)}, write_seq) "
                    "SELECT *, $w FROM derived_rows", {"w": self._derived_seq if write_seq is None else write_seq})
        con.unregister("derived_rows")

    def _refresh_rollups(self, endpoint_days_only: bool = False) -> None:
        """Re-aggregate the daily rollups of the touched groups and (project, day)s (_record_touched): the days of the
        sessions' endpoint and project rows, before and after. Their months are only marked stale (months.py).
        `endpoint_days_only`: only their endpoint rows changed (a quality pass), the project rollups stay."""
        con = self._dcon
        touched = "SELECT project_id, day FROM touched_days UNION ALL SELECT project_id, day FROM touched_groups"
        in_days = f"(project_id, day) IN ({touched})"
        # Endpoint rollups: only the groups (day, dimensions) the sessions' rows were or are in, so a cycle's cost
        # follows its sessions, not the size of their days.
        in_groups = (f"day >= (SELECT min(day) FROM touched_groups) "
                     f"AND {_group('day')} IN (SELECT grp FROM touched_groups)")
        con.execute(f"DELETE FROM rollup_endpoint_daily WHERE {in_groups}")
        con.execute(
            f"INSERT INTO rollup_endpoint_daily (project_id, day, {ENDPOINT_ROLLUP_COLUMNS}) "
            f"SELECT project_id, day, {DIMENSION_LIST}, {ENDPOINT_SUMS} FROM session_endpoint_days "
            f"WHERE {in_groups} GROUP BY project_id, day, {DIMENSION_LIST}"
        )
        if not endpoint_days_only:
            con.execute(f"DELETE FROM rollup_project_daily WHERE {in_days}")
            con.execute(
                f"INSERT INTO rollup_project_daily (project_id, day, {PROJECT_ROLLUP_COLUMNS}) "
                f"SELECT project_id, day, {PROJECT_SUMS} "
                f"FROM session_project_days WHERE {in_days} GROUP BY project_id, day"
            )
        refresh_day_totals(con, "SELECT DISTINCT project_id, day FROM touched_groups")
        mark_stale(con, touched)

    def refresh_months(self) -> int:
        """months.py's refresh, in a transaction of its own on the derive connection (the caller holds the derive
        lock). The data version stays: reads take a month from its monthly rows only once its days have left the
        daily rollups (query/report.py), long after the last step that could touch them."""
        if self._read_only:
            return 0
        con = self._dcon
        con.execute("BEGIN")
        try:
            refreshed = refresh_stale_months(con)
            con.execute("COMMIT")
        except BaseException:
            self._rollback(con)
            raise
        return refreshed

    def clear_derived(self) -> None:
        self.absorb_all()  # so that stats_daily can be rebuilt from every sample below
        con = self._dcon
        con.execute("BEGIN")
        # Only sessions whose raw events are still kept, and of their day, hour and minute rows those from their first
        # kept event on: older contributions cannot be re-derived (those of an earlier use of a session id whose raw
        # events, session rows and bounds all expired: docs/derivation.md, Retention).
        own_rows = _own_rows(self._final)
        for table in DERIVED_SESSION_TABLES:
            own = own_rows.get(table)
            con.execute(f"DELETE FROM {table} t USING session_bounds b WHERE t.project_id = b.project_id "
                        f"AND t.session_id = b.session_id{f' AND {own}' if own else ''}")
        con.execute("DELETE FROM stats_daily")
        con.execute(_ABSORB_STATS_SQL, {"lo": -1, "hi": self._seq})
        con.execute("DELETE FROM quality_samples")
        con.execute("DELETE FROM quality_buckets")
        con.execute("DELETE FROM quality_runs")
        con.execute("DELETE FROM quality_late")  # (scored again below with the others)
        con.execute("DELETE FROM quality_owed")  # (every session derived again, and owed again if passes are on)
        clear_settled(con)
        unscored = None if self._score_samples else -1  # (off: every sample unscored now)
        if unscored is None:
            absorb_quality(con, -1, self._seq, self._run_thresholds)
            con.execute("DELETE FROM meta WHERE key = ?", [UNSCORED_KEY])
        else:
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [UNSCORED_KEY, str(unscored)])
        con.execute("COMMIT")
        self._unscored_after = unscored
        self._rescores.forget()  # their score rows are gone: none may wait for a later scoring
        self._late.forget()
        self._bump()

    def compact_stats(self, before_ts: int, sessions: int | None = None) -> tuple[int, bool]:
        """One pass of store/duckdb/compaction.py on the derive connection (the caller holds the derive lock). The
        data version stays: every read answers the same."""
        if self._read_only:
            return 0, False
        size = sessions or PASS_SESSIONS
        numbered, moved = compact_stats(self._dcon, self._folded_seq, before_ts, size)
        return moved, numbered >= size

    # -- retention ---------------------------------------------------------
    def purge(self, raw_before: date, daily_before: date, monthly_before: date,
              minutes_before_ms: int | None = None, alerts_before_ms: int | None = None,
              sessions_apart: bool = False) -> dict[str, int]:
        """Delete data past its retention window. Session-level tables go with the raw events: here, or with
        `sessions_apart` a piece at a time by `purge_sessions` (their session_id indexes make each deleted row cost
        ~7 us at COMMIT: at 10,000 events/s a day's would hold ingest for ~40 s, docs/benchmarks.md).

        Hour rows live as long as day rows; minute rows until `minutes_before_ms` (epoch ms); the alert
        delivery log until `alerts_before_ms` (docs/alerts.md)."""
        con = self._con
        counts: dict[str, int] = {}

        def deleted(sql: str, params: list[Any]) -> int:
            return int(con.execute(sql, params).fetchall()[0][0])

        self._forget_rows()  # here and after the commits: a derive read between them is not kept
        cutoff = day_start_ms(raw_before)
        final = self._final.after_purge(daily_before, minutes_before_ms)
        self._live_sessions(cutoff)  # (temp tables, before the transactions: each may write one file only)
        con.execute("BEGIN")  # the raw rows first, in a transaction of their own (one file per transaction)
        try:
            for table in RAW_TABLES:
                counts[table] = deleted(f"DELETE FROM {raw_table(table)} WHERE day < ? AND {_EXPIRED_SESSION}",
                                        [raw_before])
            con.execute("COMMIT")
        except BaseException:
            self._rollback(con)
            raise
        con.execute("BEGIN")
        try:
            refresh_stale_months(con)  # a month's days into its monthly rows before the daily rows go
            counts["stats_daily"] = deleted(f"DELETE FROM stats_daily WHERE day < ? AND {_EXPIRED_SESSION}",
                                            [raw_before])
            counts["quality_late"] = deleted(f"DELETE FROM quality_late WHERE day < ? AND {_EXPIRED_SESSION}",
                                             [raw_before])
            for table in ("quality_samples", "quality_buckets", "quality_settled"):
                counts[table] = deleted(f"DELETE FROM {table} WHERE day < ? AND {_EXPIRED_ENTITY}", [raw_before])
            # runs that ended before the first kept day (one crossing it stays whole: its issue still happened)
            counts["quality_runs"] = deleted(f"DELETE FROM quality_runs WHERE last_ts < ? AND {_EXPIRED_ENTITY}",
                                             [cutoff])
            if not sessions_apart:
                counts.update(_delete_sessions(con, "SELECT project_id, session_id FROM sessions "
                                                    f"WHERE last_seen_at < ? AND {_EXPIRED_SESSION}", [cutoff]))
            counts["session_bounds"] = deleted(
                f"DELETE FROM session_bounds WHERE last_ts < ? AND {_EXPIRED_SESSION}", [cutoff])
            for table in (
                "session_endpoint_days",
                "session_project_days",
                "rollup_endpoint_daily",
                TOTALS,
                "rollup_project_daily",
            ):
                counts[table] = deleted(f"DELETE FROM {table} WHERE day < ?", [daily_before])
            for table in ("rollup_endpoint_monthly", "rollup_project_monthly"):
                counts[table] = deleted(f"DELETE FROM {table} WHERE month < ?", [monthly_before])
            fine_before = {"hour": day_start_ms(daily_before), "minute": minutes_before_ms}
            for kind, before in fine_before.items():
                for table in (f"session_endpoint_{kind}s", f"rollup_endpoint_{kind}ly"):
                    if before is not None:
                        counts[table] = deleted(f"DELETE FROM {table} WHERE bucket < ?", [before])
            if alerts_before_ms is not None:
                counts.update(alert_sql.purge(con, alerts_before_ms))
            for key, value in final.meta().items():
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])
            con.execute("COMMIT")
            self._final = final  # (the derive lock is held: no step is between its read and write)
            self._forget_rows()
            self._bump()
        except BaseException:
            self._rollback(con)
            raise
        return counts

    def _live_sessions(self, cutoff: int) -> None:
        """Temp tables `live_sessions` (project_id, session_id) and `live_entities` (ekey): the sessions with events
        before `cutoff` (epoch ms) and at or after it, absorbed or not yet, and their streams and subscribers. The
        purge keeps their raw events, stats rows and scored samples of every day, so that a session spanning the raw
        window's start (a long-lived room) is derived again from all of its events: from the kept ones alone, its
        earlier days' rows would lose their minutes, stats and quality (docs/derivation.md, Retention). (A session
        that began after `cutoff` has nothing before it to keep: left out, the sets stay small.)"""
        con = self._con
        con.execute(f"""CREATE OR REPLACE TEMP TABLE live_sessions AS
                        SELECT project_id, session_id FROM session_bounds
                        WHERE last_ts >= $cutoff AND first_ts < $cutoff
                        UNION SELECT project_id, session_id FROM {_NEW_ROWS} WHERE ts >= $cutoff""",
                    {"cutoff": cutoff, "lo": self._folded_seq, "hi": self._seq})  # (folded_seq <= derived_seq)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE live_entities AS SELECT DISTINCT {EKEY} AS ekey FROM stats_daily
                        WHERE (project_id, session_id) IN (SELECT project_id, session_id FROM live_sessions)""")

    def purge_sessions(self, before: date, limit: int) -> int:
        """Delete the session-level rows of up to `limit` sessions last seen before `before` (after `purge(...,
        sessions_apart=True)`), in a transaction of the writer's connection; how many sessions went. No lock: these
        sessions ended long ago, and derive steps write only the rows of sessions with new events."""
        con = self._con
        con.execute("BEGIN")
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE purged_sessions AS SELECT project_id, session_id FROM sessions "
                        "WHERE last_seen_at < ? LIMIT ?", [day_start_ms(before), limit])
            went = int(con.execute("SELECT count(*) FROM purged_sessions").fetchall()[0][0])
            if went:
                _delete_sessions(con, "SELECT project_id, session_id FROM purged_sessions", [])
            con.execute("DROP TABLE purged_sessions")
            con.execute("COMMIT")
        except BaseException:
            self._rollback(con)
            raise
        if went:
            self._bump()
        return went

    def purge_keys(self, before: date, limit: int) -> int:
        """Forget up to `limit` dedup keys of events dated before `before`; how many went (fewer than `limit`: none
        is left). After `purge`: a key outliving its row only refuses an expired id."""
        return self._keys.purge(before, limit) if self._keys is not None else 0
