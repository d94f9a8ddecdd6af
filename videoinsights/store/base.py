"""The narrow store interface. Derivation, query and web code talk only to
this; every SQL statement lives in one backend package (store/duckdb/, and
later store/clickhouse/).

Write methods are called from the single writer thread only (store/writer.py);
read methods may be called from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    from videoinsights.derive.quality import QualityThresholds

SessionKey = tuple[str, str]  # (project_id, session_id)


@dataclass(frozen=True)
class Preview:
    """New sessions' inputs for a preview (Store.preview_inputs): their rows written ahead of their first derivation
    (store/duckdb/preview.py). `stamp`: the newest commit the events were read up to."""

    keys: list[SessionKey]
    events: pa.Table
    stats: pa.Table
    stamp: int


@dataclass(frozen=True)
class Project:
    project_id: str
    kind: str  # "project" | "application"
    name: str
    api_secret: str | None
    public_key: str | None
    callback_token: str
    advanced_insights: bool
    created_at: int


@dataclass(frozen=True)
class Retention:
    """Retention windows a backend may enforce itself (ClickHouse TTLs of the minute tables, from setting
    minute_retention_hours); the explicit purge (store.purge) still runs and is what enforces a changed setting on
    existing tables. The raw tables have none: the purge keeps a spanning session's raw rows, a TTL would not."""

    minute_hours: int

    @classmethod
    def of(cls, settings: Any) -> Retention:
        """The windows of a Settings (minute_retention_hours)."""
        return cls(settings.minute_retention_hours)


class RejectedBatch(ValueError):
    """A batch's own values cannot be stored (one its column can't hold): the sender's fault,
    nothing of that batch was written, and retrying it as is won't help."""


class StorageFull(OSError):
    """The disk is full: nothing was written; the same batch can be retried once space is back."""


@dataclass(frozen=True)
class AppendResult:
    """Per submitted batch: which of its rows were new (True) or already stored (False)."""

    inserted: list[list[bool]]


class Store(Protocol):
    # The backend's SQL modules, one namespace with the same module set on every backend:
    # reads, live, export (the API's reads), accounts, alerts, client_keys. Their functions take
    # the handle `reader()` returns (a DuckDB cursor, a ClickHouse client) as first argument.
    sql: Any

    # lifecycle
    def close(self) -> None: ...
    def checkpoint(self) -> None: ...  # what derivation writes (the derive lock held)
    def checkpoint_raw(self) -> None: ...  # what ingest writes (the writer thread, no lock)
    def reader(self) -> Any: ...  # a handle the calling thread may use for `sql` functions
    def export_cursor(self) -> Any: ...  # a handle of its own for one long streaming read; the caller closes it

    # projects (writes through the writer)
    def insert_project(self, project: Project) -> None: ...
    def update_project_secret(self, project_id: str, api_secret: str) -> None: ...
    def get_project(self, project_id: str) -> Project | None: ...
    def list_projects(self) -> list[Project]: ...

    # ingestion
    def append_events(self, batches: Sequence[dict[str, list[Any]]]) -> AppendResult: ...

    # derivation
    def absorb_new_events(self, fold: bool = True) -> int: ...  # fold False: lifecycle events alone
    def fold_due(self) -> bool: ...  # the next absorb will fold stats samples on a timer (derive/worker.py)
    def undigested_commits(self) -> int: ...
    def dirty_session_count(self) -> int: ...
    def oldest_dirty_seq(self) -> int | None: ...
    @property
    def seq(self) -> int: ...
    @property
    def derived_seq(self) -> int: ...
    def derive_lag_ms(self, now_ms: int) -> int: ...
    def has_events(self, project_id: str) -> bool: ...
    def ping(self) -> None: ...
    def storage_bytes(self) -> int: ...  # what the store takes on disk (for /metrics)
    def wal_bytes(self) -> tuple[int, int]: ...  # (raw file's, main file's) write-ahead logs; 0 where none
    # session derivations written with the sample quality of an earlier one kept (setting quality_refresh_s), in all
    def quality_kept(self) -> int: ...
    def quality_passed(self) -> int: ...  # sessions scored by quality passes (setting quality_pass_s), in all
    def late_samples_parked(self) -> int: ...
    # never derived first, then first dirtied first; never_derived: only those never derived
    def dirty_sessions(self, limit: int, never_derived: bool = False,
                       wanted: Sequence[SessionKey] = ()) -> list[SessionKey]: ...
    def mark_all_dirty(self) -> int: ...
    def load_session_event_table(self, keys: Sequence[SessionKey]) -> pa.Table: ...
    def load_stats_table(self, keys: Sequence[SessionKey]) -> pa.Table: ...
    # Previews (derive/preview.py): up to `limit` sessions first seen in commits no absorb has taken yet, with their
    # inputs (None: none, or a store without previews: ClickHouse), and their derived rows written alone, without
    # rollups, on a connection of their own while a derive step runs; the session's derivation replaces them.
    def preview_inputs(self, limit: int) -> Preview | None: ...
    def write_preview(self, preview: Preview, tables: Mapping[str, Sequence[pa.Table]]) -> None: ...
    # Quality (docs/quality.md): with `quality` thresholds, replace_derived also scores the sessions' raw stats
    # samples and detects their sample issues itself (in the database, vectorised: store/duckdb/quality.py),
    # from the new publishers/subscribers/connections rows in `tables`, and adds their endpoint-day measures.
    # The lifecycle issues (one-way media, failed attempts, reconnects) come in `tables` from derive/quality.py.
    # loaded_seq: derived_seq when the keys' inputs were read (one for all keys, or one per key); sessions dirtied
    # by commits absorbed after it stay dirty (None: every key is clean afterwards, as when nothing was absorbed in
    # between).
    def replace_derived(self, keys: Sequence[SessionKey], tables: Mapping[str, Sequence[pa.Table]],
                        quality: QualityThresholds | None = None,
                        loaded_seq: int | Sequence[int] | None = None) -> None: ...
    def clear_derived(self) -> None: ...
    # Sample quality left by replace_derived to a pass of its own (DuckDB, setting quality_pass_s:
    # store/duckdb/quality_pass.py): whether a pass is due (`idle`: the caller has nothing else to do), and the pass,
    # which scores up to `limit` owed sessions (None: the backend's own size) and returns how many it took. False and
    # 0 where replace_derived scores every session itself.
    def quality_pass_due(self, idle: bool = False) -> bool: ...
    def score_owed(self, quality: QualityThresholds | None, limit: int | None = None) -> int: ...
    # One pass moving the stats samples of sessions whose last event is before `before_ts` into session order, where
    # the backend keeps them in arrival order (DuckDB: store/duckdb/compaction.py); run where derivation runs.
    # Returns (samples moved, whether more sessions are due at once); (0, False) when the backend needs no passes.
    # `sessions`: at most this many per pass (None: the backend's own size).
    def compact_stats(self, before_ts: int, sessions: int | None = None) -> tuple[int, bool]: ...
    # Bring the monthly rollups up to the daily ones where derive steps left them behind (DuckDB re-aggregates a
    # month's rows here, not at every step: store/duckdb/months.py); run where derivation runs. Returns how many
    # (project, month)s it refreshed; 0 where the backend keeps them current at every step.
    def refresh_months(self) -> int: ...

    # retention
    # With `sessions_apart`, the session-level rows of sessions last seen before `raw_before` may be left for
    # `purge_sessions` (DuckDB leaves them: each costs microseconds at COMMIT for its session_id index).
    def purge(self, raw_before: date, daily_before: date, monthly_before: date,
              minutes_before_ms: int | None = None, alerts_before_ms: int | None = None,
              sessions_apart: bool = False) -> dict[str, int]: ...
    # the session-level rows of at most `limit` sessions last seen before `before` (after `purge(...,
    # sessions_apart=True)`); how many sessions went (fewer than `limit`: none is left)
    def purge_sessions(self, before: date, limit: int) -> int: ...
    # the dedup keys of events dated before `before`, at most `limit` of them (after `purge`); how many went
    def purge_keys(self, before: date, limit: int) -> int: ...
