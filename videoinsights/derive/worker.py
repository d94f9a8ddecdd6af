"""The derivation loop, apart from ingest: it re-derives dirty sessions on its own thread.

Ingest only appends raw events; which sessions need deriving is recorded in the store
(commits above `derived_seq`, then `dirty_sessions`), never in this process's memory. So this
loop can run beside the writer thread (DuckDB: its own connection, SQL outside the interpreter
lock) or, on a store that allows it, in processes of its own. `lock` is shared with whatever
else writes derived tables (admin calls, retention purges): one holder at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from videoinsights.derive.engine import derive_pending
from videoinsights.derive.quality import QualityThresholds
from videoinsights.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class DeriveStats:
    """Derivation counters exported at /metrics."""

    sessions_derived: int = 0
    derive_failures: int = 0
    derive_seconds: float = 0.0
    derive_cycles: int = 0


class DeriveWorker:
    """Derive `batch` dirty sessions per cycle until none is left, then wait for new commits
    (`wake`) or `interval` seconds, whichever comes first. With `processes` > 0 the pure derivation
    runs in that many worker processes (started with `spawn`: never fork a process running DuckDB)."""

    def __init__(self, store: Store, stats: DeriveStats, lock: threading.Lock, batch: int, interval: float,
                 processes: int = 0, quality: QualityThresholds | None = None) -> None:
        self.store, self.stats, self.lock = store, stats, lock
        self.quality = quality  # issue thresholds (settings quality_*, docs/quality.md)
        self.batch, self.interval = batch, interval
        self.pool = (ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
                     if processes > 0 else None)
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="videoinsights-derive", daemon=True)

    def start(self) -> None:
        if self.pool is not None:
            self.pool.submit(int)  # start the workers now, not in the first cycle (spawn imports take a while)
        self._thread.start()

    def wake(self) -> None:
        """New commits are there: derive them now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the loop, then derive whatever is still dirty (a graceful stop leaves nothing behind)."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        while self.cycle():
            pass
        if self.pool is not None:
            self.pool.shutdown()

    def cycle(self) -> int:
        """One derive cycle; returns how many sessions it handled (derived or failed)."""
        started = time.monotonic()
        try:
            with self.lock:
                derived, failed = derive_pending(self.store, self.batch, self.pool, self.quality)
        except Exception:
            log.exception("derivation cycle failed")
            derived, failed = 0, 0
        self.stats.sessions_derived += derived
        self.stats.derive_failures += failed
        self.stats.derive_seconds += time.monotonic() - started
        self.stats.derive_cycles += 1
        return derived + failed

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            if self.cycle() == 0:
                self._wake.wait(self.interval)
