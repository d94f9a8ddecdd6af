"""The derivation loop, apart from ingest: it re-derives dirty sessions on its own thread.

Ingest only appends raw events; which sessions need deriving is recorded in the store
(commits above `derived_seq`, then `dirty_sessions`), never in this process's memory. So this
loop can run beside the writer thread (DuckDB: its own connection, SQL outside the interpreter
lock) or, on a store that allows it, in processes of its own. `lock` is shared with whatever
else writes derived tables (admin calls, retention purges): one holder at a time.

With worker processes the loop is a pipeline: while the workers derive batch N+1, this thread
writes batch N (and then reads the inputs of N+2), so the store's statements and the pure
derivation overlap instead of taking turns. New sessions skip the queue (the express lane): derived
here as N+1 is read, and written with N.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from videoinsights.derive.engine import Batch, finish_batch, score_owed, start_batch, start_lane
from videoinsights.derive.preview import Previewer
from videoinsights.derive.quality import QualityThresholds
from videoinsights.derive.trace import Trace, lap
from videoinsights.derive.wanted import WantedSessions
from videoinsights.parent_watch import exit_with_parent
from videoinsights.settings import Settings
from videoinsights.store.base import Store

log = logging.getLogger(__name__)

# After n failed cycles in a row, the loop waits interval * 2**n seconds, at most this long.
MAX_BACKOFF_S = 30.0
# While at least a batch more waits, a batch grows up to this many times `derive_batch_sessions` (each batch's
# statements cost about the same whatever its size: larger batches spend less per session), as long as one
# pipeline step stays within the step bound (setting derive_step_ms): a new session's derivation (its rollups) and a
# change to a session someone looks at wait for the step running when they were committed, then one more (the
# express lane below); a new session is shown before that by a preview (derive/preview.py). Twice, not four times:
# with base 250, once the steps scored no session (quality passes), batches of 1,000 came often, and the workers' ~4 s
# for one held the next write; at 500, the new sessions' p99 over three minutes fell from 4.9-6.7 s to 3.9-4.5 s
# (docs/benchmarks.md; before previews).
BATCH_GROWTH = 2
BATCH_STEP_S = Settings.derive_step_ms / 1000  # the setting's default, for callers without settings
# Up to this many never-derived sessions per step skip the pipeline: handed to the workers ahead of their batch and
# written with the batch before (engine.start_batch's `express`), one step (seconds under load) sooner. bench_load's
# warming platform starts ~45 sessions a second (100-200 a step of 1.5-4 s): with 32 most new sessions missed the
# lane (steps of 1.5 s then), with 128 a few
# (docs/benchmarks.md, "Where a marker's seconds go"); the workers derive 256 in ~0.1-0.4 s.
EXPRESS_SESSIONS = 256
# Stats compaction (store/duckdb/compaction.py): a pass at most this often while none is full, and after a failure;
# while passes are full (a store catching up), the next waits this many times as long as the last took, so that
# passes take at most a fifth of the derive thread and most new commits meet none (docs/benchmarks.md).
COMPACTION_INTERVAL_S = 10.0
COMPACTION_RETRY_S = 60.0
COMPACTION_REST = 4.0
# The monthly rollups (Store.refresh_months): refreshed when nothing waits, at most this often, and when the loop stops.
MONTHS_REFRESH_S = 60.0


def next_batch_size(current: int, base: int, backlog: bool, step_s: float, bound_s: float = BATCH_STEP_S) -> int:
    """The next batch's size: doubled (up to BATCH_GROWTH x base) when another batch as large waited and the
    step took less than `bound_s`, halved (down to base) after a step of more than twice that, back to base once
    the backlog is smaller than that."""
    if not backlog:
        return base
    if step_s < bound_s:
        return min(current * 2, base * BATCH_GROWTH)
    if step_s > 2 * bound_s:
        return max(current // 2, base)
    return current


class HandoffLock:
    """The derivation lock: a plain lock that also tells its holder whether another thread waits for it, so
    that the derive loop ends its run (and the writer thread, which then waits, is not held up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = threading.Lock()
        self._waiting = 0

    def __enter__(self) -> HandoffLock:
        with self._count:
            self._waiting += 1
        self._lock.acquire()
        with self._count:
            self._waiting -= 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @property
    def wanted(self) -> bool:
        """Another thread waits for the lock."""
        return self._waiting > 0


@dataclass
class DeriveStats:
    """Derivation counters exported at /metrics."""

    sessions_derived: int = 0
    derive_failures: int = 0
    derive_seconds: float = 0.0
    derive_cycles: int = 0
    derive_cycle_failures: int = 0  # cycles that raised (nothing of them written; their sessions stay dirty)
    derive_pool_restarts: int = 0  # worker pools replaced after one of their processes died
    stats_samples_compacted: int = 0  # moved into session order (store/duckdb/compaction.py)
    sessions_wanted_ahead: int = 0  # taken ahead of the backlog: a sessionData query asked for them (derive/wanted.py)
    sessions_previewed: int = 0  # new sessions' rows written while a step ran, ahead of their derivation (preview.py)
    preview_failures: int = 0  # previews that raised (logged)


class DeriveWorker:
    """Derive `batch` dirty sessions per cycle until none is left, then wait for new commits
    (`wake`) or `interval` seconds, whichever comes first. With `processes` > 0 the pure derivation
    runs in that many worker processes (started with `spawn`: never fork a process running DuckDB).

    A cycle that fails for a reason outside one session (a worker killed, the store refusing the
    write) is logged and counted, and the loop backs off (`interval` doubled per failure in a row,
    up to MAX_BACKOFF_S) instead of re-picking the same sessions at once; a broken pool is replaced."""

    def __init__(self, store: Store, stats: DeriveStats, lock: HandoffLock, batch: int, interval: float,
                 processes: int = 0, quality: QualityThresholds | None = None, step_s: float = BATCH_STEP_S,
                 trace: Trace | None = None, compaction_settle_s: float = 0, checkpoint_s: float = 0,
                 checkpoint_bytes: int = 0, scoring: bool = True, wanted: WantedSessions | None = None,
                 preview_s: float = 0) -> None:
        self.store, self.stats, self.lock = store, stats, lock
        # new sessions' rows written every preview_s while a step's write or fold runs (derive/preview.py; 0: never)
        self.preview = Previewer(store, preview_s if processes > 0 else 0, stats)
        # sessions sessionData asked for: in the express lane when dirty (derive/wanted.py); none asks without a server
        self.wanted = wanted if wanted is not None else WantedSessions()
        self.trace = trace  # a record per step and cycle (derive/trace.py), None: off
        self.quality = quality  # issue thresholds (settings quality_*, docs/quality.md)
        self.scoring = scoring  # off (setting quality_scoring): no quality scores or issues at all
        self.batch, self.interval = batch, interval
        self.step_s = step_s  # the step bound under which batches grow (next_batch_size)
        self.batch_now = batch  # the adaptive size (next_batch_size)
        self.processes = processes
        self.pool = self._new_pool()
        self.failures_in_a_row = 0
        # sessions quiet this long get their stats samples moved into session order when nothing waits (0: never)
        self.compaction_settle_s = compaction_settle_s
        self._next_compaction = 0.0  # monotonic time of the next pass
        self._next_months = time.monotonic() + MONTHS_REFRESH_S  # of the next idle refresh of the monthly rollups
        # the store's checkpoint of the derived rows every this many seconds, under load too (0: DuckDB's own only)
        self.checkpoint_s = checkpoint_s
        self._next_checkpoint = time.monotonic() + checkpoint_s
        # and whenever the main file's WAL passes this size (0: DuckDB's automatic checkpoint only)
        self.checkpoint_bytes = checkpoint_bytes
        self._clock = time.monotonic()  # derive_seconds counted up to here
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="videoinsights-derive", daemon=True)

    def _new_pool(self) -> ProcessPoolExecutor | None:
        if self.processes <= 0:
            return None
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=exit_with_parent, initargs=(os.getpid(),))
        pool.submit(int)  # start the workers now, not in the first cycle (spawn imports take a while)
        return pool

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New commits are there: derive them now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the loop, then derive whatever is still dirty (a graceful stop leaves nothing behind)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        while self.cycle():
            pass
        self.refresh_months(due=True)
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def cycle(self) -> int:
        """One run of batches (until the lock is wanted or none waits), pipelined over the workers; returns how many
        sessions it handled (derived or failed), 0 when it failed."""
        self._clock = time.monotonic()
        handled = 0
        t0 = time.time()
        locked = t0
        try:
            with self.lock:
                locked = time.time()
                handled = self._pipeline()
            self.failures_in_a_row = 0
        except Exception as exc:
            self.failures_in_a_row += 1
            self.stats.derive_cycle_failures += 1
            log.exception("derivation cycle failed (%d in a row)", self.failures_in_a_row)
            if isinstance(exc, BrokenProcessPool):
                self._replace_pool()
            handled = 0
        self._count_time()
        self.stats.derive_cycles += 1
        if self.trace is not None and handled:
            self.trace.write("cycle", t0=t0, locked=locked, t1=time.time(), handled=handled)
        return handled

    def _pipeline(self) -> int:
        """Start batch N+1 (its inputs go to the workers), then write batch N while they derive it; at the
        end write the last one, so that nothing is away when the lock is released. The run goes on while
        sessions wait, until another thread wants the lock (a purge, an admin call) or the loop stops: each end costs
        the new sessions of that moment a step (the last write picks nothing). A checkpoint due is taken between two
        steps, with the batch started in the first still away, without ending the run. When the stats samples are due to
        be folded on the timer, or a quality pass is due, they run apart, the new sessions waiting written alone before
        and after them (`_lanes_around`)."""
        handled = 0
        away: Batch | None = None
        try:
            while True:
                began = time.monotonic()  # (a step's length, for the next batch's size, counts the lanes, fold, pass)
                handled += self._lanes_around(away)
                t0 = time.time()
                timings = self._timings()
                limit = self.batch_now
                following = start_batch(self.store, limit, self.pool, self.quality, self.scoring,
                                        busy=away.keys if away is not None else (), express=EXPRESS_SESSIONS,
                                        timings=timings, wanted=self.wanted.keys())
                done, away = away, following
                along = following.express if following is not None else None
                self._taken(along)
                if done is None and along is not None:  # a run's first step: its new sessions alone
                    handled += sum(self._write(along, None, timings))
                elif done is not None:  # one pipeline step: start a batch, write the one before (and the new sessions)
                    handled += sum(self._write(done, along, timings))
                    backlog = following is not None and following.backlog
                    self.batch_now = next_batch_size(limit, self.batch, backlog, time.monotonic() - began,
                                                    self.step_s)
                self._trace_step(t0, limit, timings, following, done, along)
                if away is None or self.pool is None or self._stop.is_set() or self.lock.wanted:
                    break
                self._checkpoint_held()
            done, away = away, None
            if done is not None:
                t0, timings = time.time(), self._timings()
                handled += sum(self._write(done, None, timings))
                self._trace_step(t0, 0, timings, None, done, None)
            if not self.lock.wanted:  # nothing else to do: the quality left to a pass, now
                handled += self._quality_pass(idle=True)
        finally:
            if self.trace is not None and hasattr(self.store, "timings"):
                self.store.timings = None
            if away is not None:  # a failure: the batch still away is dropped, its sessions stay dirty
                for part in away.parts:
                    part.cancel()
        return handled

    def _lanes_around(self, away: Batch | None) -> int:
        """When the next absorb folds the stats samples (every `stats_fold_s` under load: store/duckdb/folding.py), or
        a quality pass is due (every `quality_pass_s`), write the never-derived sessions waiting alone, before and
        again after, and fold (and pass) on their own in between: the fold and the write after it take 3-5 s under
        load, which a new session absorbed at that step's start waited for, and one committed during the lane or the
        fold waited for the write of the batch away (bench_load's slowest markers, docs/benchmarks.md); a pass
        takes ~0.2-0.5 s. The sessions of the batch `away` are left out. The lanes only in the pipelined loop
        (worker processes), where a step is long. Returns how many sessions it handled."""
        fold = self.pool is not None and self.store.fold_due()
        quality_pass = self.store.quality_pass_due()
        if not fold and not quality_pass:
            return 0
        lanes = self.pool is not None
        handled = self._lane(away) if lanes else 0
        if fold:
            t0, timings, began = time.time(), self._timings(), time.perf_counter()
            with self.preview.alongside():  # new sessions previewed meanwhile
                self.store.absorb_new_events()
            lap(timings, "absorb", began)
            self._trace_step(t0, 0, timings, None, None, None)
        if quality_pass:
            handled += self._quality_pass()
        return handled + (self._lane(away) if lanes else 0)

    def _quality_pass(self, idle: bool = False) -> int:
        """The store's quality pass when one is due (store/duckdb/quality_pass.py), traced as a step of its own: every
        `quality_pass_s` under load, at once when `idle`. Returns how many sessions it scored."""
        if not self.store.quality_pass_due(idle):
            return 0
        t0, timings = time.time(), self._timings()
        scored = score_owed(self.store, self.quality, self.scoring)
        self._trace_step(t0, 0, timings, None, None, None)
        return scored

    def _lane(self, away: Batch | None) -> int:
        """The never-derived sessions waiting (not those of `away`), their lifecycle events absorbed, derived here and
        written alone (engine.start_lane); how many it handled."""
        t0, timings = time.time(), self._timings()
        lane = start_lane(self.store, EXPRESS_SESSIONS, self.quality, self.scoring,
                          busy=away.keys if away is not None else (), timings=timings, wanted=self.wanted.keys())
        if lane is None:
            return 0
        self._taken(lane)
        handled = sum(self._write(lane, None, timings))
        self._trace_step(t0, 0, timings, None, None, lane)
        return handled

    def _taken(self, express: Batch | None) -> None:
        """The sessions of an express lane were taken ahead: the wanted ones among them wait a while for the next
        time (derive/wanted.py)."""
        if express is not None:
            self.stats.sessions_wanted_ahead += self.wanted.taken(express.keys)

    def _timings(self) -> dict[str, float] | None:
        """A fresh dict for one step's phase seconds when tracing (the DuckDB store adds replace_derived's parts)."""
        if self.trace is None:
            return None
        timings: dict[str, float] = {}
        if hasattr(self.store, "timings"):
            self.store.timings = timings
        return timings

    def _trace_step(self, t0: float, limit: int, timings: dict[str, float] | None, started: Batch | None,
                    written: Batch | None, along: Batch | None) -> None:
        if self.trace is None:
            return
        self.trace.write(
            "step", t0=t0, t1=time.time(), limit=limit, phases=timings,
            picked=[k[1] for k in started.keys] if started is not None else [],
            express=[k[1] for k in along.keys] if along is not None else [],
            wrote=[k[1] for b in (written, along) if b is not None for k in b.keys],  # `along`: written whenever given
            backlog=bool(started is not None and started.backlog))

    def _write(self, batch: Batch, along: Batch | None = None,
               timings: dict[str, float] | None = None) -> tuple[int, int]:
        with self.preview.alongside():  # new sessions previewed meanwhile
            derived, failed = finish_batch(self.store, batch, along, timings)
        self.stats.sessions_derived += derived
        self.stats.derive_failures += failed
        self._count_time()
        return derived, failed

    def _count_time(self) -> None:
        """Add the time since the last count to derive_seconds (after each batch: /metrics stays current)."""
        now = time.monotonic()
        self.stats.derive_seconds += now - self._clock
        self._clock = now

    def _replace_pool(self) -> None:
        """A worker process died (killed, out of memory): its pool is broken for good, start another. If that
        fails too (no process can start now), the broken pool stays: the next cycle fails and retries this."""
        broken = self.pool
        try:
            self.pool = self._new_pool()
        except Exception:
            log.exception("starting a new derive worker pool failed (retried after the next failed cycle)")
            return
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        self.stats.derive_pool_restarts += 1
        log.warning("derive worker pool replaced (%d so far)", self.stats.derive_pool_restarts)

    def backoff(self) -> float:
        """Seconds to wait before the next cycle after failures in a row (0: none failed)."""
        if not self.failures_in_a_row:
            return 0.0
        return min(self.interval * 2**self.failures_in_a_row, MAX_BACKOFF_S)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.checkpoint()
            if self.cycle():
                continue
            if self.failures_in_a_row:  # new commits don't cut a backoff short: they come all the time
                self._stop.wait(self.backoff())
            elif not self.refresh_months() and not self.compact():
                self._wake.wait(self.interval)

    def checkpoint(self) -> None:
        """The store's checkpoint of what derivation writes (Store.checkpoint) when `checkpoint_s` have passed or its
        WAL has reached `checkpoint_bytes`, between cycles (and between a run's steps: _pipeline): until then DuckDB
        keeps the written rows in memory (the writer checkpoints the raw rows). Between steps, a checkpoint holds up no
        step's commit, as DuckDB's own does in the commit it expects to take the WAL past its threshold
        (docs/benchmarks.md)."""
        if not self._checkpoint_due():
            return
        t0 = time.time()
        with self.lock:
            self._checkpoint_held(t0)

    def _checkpoint_held(self, t0: float | None = None) -> None:
        """The checkpoint, if due, by a caller holding the derive lock (`t0`: when it asked for the lock)."""
        if not self._checkpoint_due():
            return
        self._next_checkpoint = time.monotonic() + self.checkpoint_s
        locked = time.time()
        try:
            self.store.checkpoint()
        except Exception:
            log.exception("checkpoint of the derived rows failed (retried when next due)")
            return
        if self.trace is not None:
            self.trace.write("checkpoint", t0=locked if t0 is None else t0, locked=locked, t1=time.time(), file="main")

    def _checkpoint_due(self) -> bool:
        if self.checkpoint_s > 0 and time.monotonic() >= self._next_checkpoint:
            return True
        return self.checkpoint_bytes > 0 and self.store.wal_bytes()[1] >= self.checkpoint_bytes

    def refresh_months(self, due: bool = False) -> bool:
        """Bring the monthly rollups up to the daily ones (Store.refresh_months) when MONTHS_REFRESH_S have passed
        since the last time, or now if `due`; True when it refreshed a month. Called when nothing waits to be
        derived: it holds the derive lock while it runs."""
        if not due and time.monotonic() < self._next_months:
            return False
        self._next_months = time.monotonic() + MONTHS_REFRESH_S
        try:
            with self.lock:
                return self.store.refresh_months() > 0
        except Exception:
            log.exception("refreshing the monthly rollups failed (retried in %d s)", MONTHS_REFRESH_S)
            return False

    def compact(self) -> bool:
        """One pass of stats compaction (Store.compact_stats) when one is due; True when one ran. Called only when
        nothing waits to be derived: a pass holds the derive lock (a few tenths of a second), during which new
        commits wait (docs/architecture.md)."""
        if self.compaction_settle_s <= 0 or time.monotonic() < self._next_compaction:
            return False
        started = time.monotonic()
        try:
            with self.lock:
                samples, more = self.store.compact_stats(int((time.time() - self.compaction_settle_s) * 1000))
        except Exception:
            log.exception("stats compaction failed (retried in %d s)", COMPACTION_RETRY_S)
            self._next_compaction = time.monotonic() + COMPACTION_RETRY_S
            return False
        self.stats.stats_samples_compacted += samples
        took = time.monotonic() - started
        self._next_compaction = time.monotonic() + (COMPACTION_REST * took if more else COMPACTION_INTERVAL_S)
        return True
