"""The writers: one thread appends raw events, another derives.

Ingest requests queue their validated batches here; consecutive batches are
committed together (group commit), then each request learns which of its
events were new, and the derive thread (derive/worker.py) is woken. Admin
calls and, on timers, retention purges and checkpoints run on the ingest
thread while holding the derivation lock, so they never interleave with a
derive cycle. Readers never wait for either.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from videoinsights.derive.quality import QualityThresholds
from videoinsights.derive.trace import open_trace
from videoinsights.derive.wanted import WantedSessions
from videoinsights.derive.worker import DeriveStats, DeriveWorker, HandoffLock
from videoinsights.domain.days import la_day
from videoinsights.settings import Settings
from videoinsights.store.base import RejectedBatch, StorageFull, Store

log = logging.getLogger(__name__)

MAX_GROUP_ROWS = 50_000
MIB = 2**20
# Dedup keys forgotten per piece after a retention purge (~3 us each: ~0.15 s), a piece a second at most, between
# ingest commits: a day's keys at once held ingest for 5.5 s at 1.6 million (bench_api's store), and would for most
# of an hour at 10,000 events/s (864 million a day); in pieces they take up to ~15% of the writer's time meanwhile.
KEYS_PURGE_PIECE = 50_000
PURGE_PIECE_EVERY_S = 1.0
# Expired sessions' rows the same way, before the keys (DuckDB: ~7 us a row at COMMIT for the session_id indexes, ~17
# rows a session: a day of bench_api's 10,000 sessions held the purge's lock 1.2 s, and would ~40 s at 10,000
# events/s); ~0.1 s a piece.
SESSIONS_PURGE_PIECE = 1_000


@dataclass
class _Append:
    columns: dict[str, list[Any]]
    future: Future[list[bool]] = field(default_factory=Future)


@dataclass
class _Call:
    fn: Callable[[Store], Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass
class WriterStats(DeriveStats):
    """Counters exported at /metrics (the derivation ones are kept by the derive thread)."""

    events_inserted: int = 0
    duplicates: int = 0
    commits: int = 0


class Writer:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.stats = WriterStats()
        self._queue: queue.Queue[_Append | _Call | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="videoinsights-writer", daemon=True)
        self._stopping = False
        # never: the first purge runs at start (0.0 would wait until the machine had been up an hour: monotonic
        # time counts from boot)
        self._last_purge = float("-inf")
        # What the last purge left to delete a piece at a time between commits, in order: (what, the store's call,
        # its cutoff, its piece size); the call returns how many went, fewer than the piece size when done.
        self._pieces: list[tuple[str, Callable[[date, int], int], date, int]] = []
        self._last_piece = float("-inf")
        self._last_checkpoint = time.monotonic()
        # Held by a derive cycle, and here around admin calls, purges and checkpoints (waiting here ends the
        # derive thread's run of batches: derive/worker.py).
        self.derive_lock = HandoffLock()
        self.trace = open_trace(settings.derive_trace_path)  # benchmarks only (derive/trace.py)
        # the sessions sessionData asked for lately, derived ahead of the backlog when dirty (derive/wanted.py)
        self.wanted = WantedSessions()
        self.deriver = DeriveWorker(store, self.stats, self.derive_lock, settings.derive_batch_sessions,
                                    settings.derive_interval_ms / 1000, settings.derive_processes,
                                    QualityThresholds.from_settings(settings), settings.derive_step_ms / 1000,
                                    self.trace, settings.stats_compaction_settle_s, settings.checkpoint_interval_s,
                                    settings.derived_wal_checkpoint_mb * MIB, settings.quality_scoring,
                                    wanted=self.wanted, preview_s=settings.derive_preview_ms / 1000)

    # -- API used by other threads ----------------------------------------
    def start(self) -> None:
        self._thread.start()
        if self.settings.derive_in_server:  # off: separate `videoinsights derive` processes derive (ClickHouse)
            self.deriver.start()

    def stop(self) -> None:
        """Commit what is queued, then derive what is dirty."""
        self._stopping = True
        self._queue.put(None)
        self._thread.join()
        if self.settings.derive_in_server:
            self.deriver.stop()
        if self.trace is not None:
            self.trace.close()

    def append(self, columns: dict[str, list[Any]]) -> Future[list[bool]]:
        """Queue a validated batch; the future gives, per event, True if it was new."""
        job = _Append(columns)
        self._queue.put(job)
        return job.future

    def queued(self) -> int:
        """Jobs waiting for the writer thread (approximate, for /metrics)."""
        return self._queue.qsize()

    def call(self, fn: Callable[[Store], Any]) -> Future[Any]:
        """Run fn(store) on the writer thread (admin commands, rebuilds)."""
        job = _Call(fn)
        self._queue.put(job)
        return job.future

    # -- the writer thread -------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._execute(self._next_jobs(1.0))
            self._housekeeping()

    def _next_jobs(self, timeout: float) -> list[_Append | _Call]:
        """Wait for a job, then take whatever else is queued (up to MAX_GROUP_ROWS rows) for one commit."""
        jobs: list[_Append | _Call] = []
        rows = 0
        try:
            job = self._queue.get(timeout=timeout)
        except queue.Empty:
            return jobs
        while job is not None:
            jobs.append(job)
            if isinstance(job, _Append):
                rows += len(job.columns["event_id"])
            if rows >= MAX_GROUP_ROWS:
                return jobs
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return jobs
        self._stopping = True
        return jobs

    def _execute(self, jobs: list[_Append | _Call]) -> None:
        appends: list[_Append] = []
        for job in jobs:
            if isinstance(job, _Append):
                appends.append(job)
                continue
            self._flush(appends)
            appends = []
            try:
                with self.derive_lock:
                    result = job.fn(self.store)
                job.future.set_result(result)
            except Exception as exc:
                job.future.set_exception(exc)
        self._flush(appends)

    def _flush(self, appends: list[_Append]) -> None:
        if not appends:
            return
        t0 = time.time()
        try:
            result = self.store.append_events([a.columns for a in appends])
        except Exception as exc:
            if len(appends) > 1 and not isinstance(exc, StorageFull):
                # One request's batch must not fail the others' (nothing was written): commit each
                # alone, so that only the offending one is refused.
                log.warning("group commit of %d batches failed (%s); committing each alone", len(appends), exc)
                for a in appends:
                    self._flush([a])
                return
            if isinstance(exc, RejectedBatch):
                log.warning("batch of %d events refused: %s", len(appends[0].columns["event_id"]), exc)
            else:
                log.exception("append failed; %d batches refused", len(appends))
            for a in appends:
                a.future.set_exception(exc)
            return
        self.stats.commits += 1
        if self.trace is not None:
            self.trace.write("commit", t0=t0, t1=time.time(), batches=len(appends),
                             rows=sum(len(a.columns["event_id"]) for a in appends))
        self.deriver.wake()
        for a, flags in zip(appends, result.inserted, strict=True):
            new = sum(flags)
            self.stats.events_inserted += new
            self.stats.duplicates += len(flags) - new
            a.future.set_result(flags)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        # Without the derive thread (serve --no-derive, ClickHouse), `videoinsights derive` purges: one process.
        if self.settings.derive_in_server and now - self._last_purge >= self.settings.purge_interval_s:
            self._last_purge = now
            try:
                cutoffs = retention_cutoffs(self.settings)
                with self.derive_lock:
                    self.store.purge(**cutoffs, sessions_apart=True)
                before = cutoffs["raw_before"]
                # no lock for these: store.purge_sessions says why; the keys are the writer's own
                self._pieces = [("deleting expired sessions", self.store.purge_sessions, before, SESSIONS_PURGE_PIECE),
                                ("forgetting expired dedup keys", self.store.purge_keys, before, KEYS_PURGE_PIECE)]
            except Exception:
                log.exception("retention purge failed")
        elif self._pieces and now - self._last_piece >= PURGE_PIECE_EVERY_S:
            self._last_piece = now
            what, purge_piece, before, size = self._pieces[0]
            try:
                if purge_piece(before, size) < size:
                    self._pieces.pop(0)
            except Exception:
                log.exception("%s failed (retried after the next purge)", what)
                self._pieces.pop(0)
        # On a timer even under load: until a checkpoint, appended rows stay in DuckDB's memory (the soak
        # in docs/benchmarks.md grew ~1.3 GiB/hour when this waited for an empty queue); and when the raw file's WAL
        # passes wal_autocheckpoint_mb (DuckDB's own threshold is derived_wal_checkpoint_mb's, if larger). The raw
        # rows' file only, here without the derive lock; the derive thread checkpoints what it writes
        # (derive/worker.py).
        if (now - self._last_checkpoint >= self.settings.checkpoint_interval_s
                or self.store.wal_bytes()[0] >= self.settings.wal_autocheckpoint_mb * MIB):
            self._last_checkpoint = now
            t0 = time.time()
            try:
                self.store.checkpoint_raw()
                if self.trace is not None:
                    self.trace.write("checkpoint", t0=t0, locked=t0, t1=time.time(), file="raw")
            except Exception:
                log.exception("checkpoint of the raw rows failed")


def retention_cutoffs(settings: Settings, now_ms: int | None = None) -> dict[str, Any]:
    """First day (or month) still kept for raw, daily and monthly data."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    today = la_day(now)
    month = today.replace(day=1)
    for _ in range(settings.monthly_retention_months - 1):
        month = (month - timedelta(days=1)).replace(day=1)
    return {
        "raw_before": today - timedelta(days=settings.raw_retention_days),
        "daily_before": today - timedelta(days=settings.daily_retention_days),
        "monthly_before": month,
        "minutes_before_ms": now - settings.minute_retention_hours * 3_600_000,
        "alerts_before_ms": now - max(settings.alert_delivery_retention_days, 1) * 86_400_000,
    }


def purge_expired(store: Store, settings: Settings) -> dict[str, int]:
    """The retention purge in one go, expired sessions and dedup keys included (the CLI's and `videoinsights
    derive`'s; the server's writer deletes those two in pieces between commits, Writer._housekeeping)."""
    cutoffs = retention_cutoffs(settings)
    counts = store.purge(**cutoffs)
    forgotten = 0
    while True:
        forgotten += (n := store.purge_keys(cutoffs["raw_before"], KEYS_PURGE_PIECE))
        if n < KEYS_PURGE_PIECE:
            break
    counts["event_ids"] = forgotten
    return counts
