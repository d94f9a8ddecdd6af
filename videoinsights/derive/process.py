"""`videoinsights derive`: derivation as a process of its own, beside stateless servers (`serve --no-derive`)
on a ClickHouse store. With `--shard K/N`, this process derives only the sessions whose
cityHash64(project_id, session_id) % N is K, so N processes share the work without coordinating.
Shard 0 (or the only derive process) also runs the retention purge when it starts and every
`purge_interval_s`, which the servers then don't: one process purges."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from videoinsights.derive.quality import QualityThresholds
from videoinsights.derive.worker import DeriveStats, DeriveWorker, HandoffLock
from videoinsights.settings import Settings, SettingsError
from videoinsights.store.base import Retention
from videoinsights.store.open import open_store, parse_store_url
from videoinsights.store.writer import purge_expired

log = logging.getLogger(__name__)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'K/N' -> (K, N), with 0 <= K < N."""
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise SettingsError(f"--shard takes K/N (this process's shard K of N, from 0), got {text!r}") from None
    if not 0 <= k < n:
        raise SettingsError(f"--shard {text}: K must be in 0..N-1")
    return k, n


def run_derive(settings: Settings, shard: tuple[int, int] | None, once: bool = False,
               stop: threading.Event | None = None) -> int:
    """Derive dirty sessions until stopped (SIGTERM / SIGINT), or with `once` until none is left."""
    if parse_store_url(settings.store_url).scheme == "duckdb":
        raise SettingsError("a DuckDB file is derived by the server that owns it: `videoinsights derive` needs a "
                            "ClickHouse store (--store chdb:///dir or clickhouse://...)")
    store: Any = open_store(settings.store_url, retention=Retention.of(settings))  # a new database gets its minute TTLs
    store.shard = shard
    stats = DeriveStats()
    worker = DeriveWorker(store, stats, HandoffLock(), settings.derive_batch_sessions,
                          settings.derive_interval_ms / 1000, 0 if once else settings.derive_processes,
                          QualityThresholds.from_settings(settings), settings.derive_step_ms / 1000,
                          scoring=settings.quality_scoring)
    name = f"shard {shard[0]}/{shard[1]}" if shard else "all sessions"
    try:
        if once:
            while worker.cycle():
                pass
        else:
            stop = stop or threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            worker.start()
            log.info("deriving %s of %s", name, parse_store_url(settings.store_url).redacted())
            last = time.monotonic()
            last_purge = float("-inf")  # the first purge at start, as the server's writer does (store/writer.py)
            purges = shard is None or shard[0] == 0  # one process applies the retention windows
            while not stop.wait(1.0):
                now = time.monotonic()
                if purges and now - last_purge >= settings.purge_interval_s:
                    last_purge = now
                    try:
                        with worker.lock:
                            log.info("retention purge: %s", purge_expired(store, settings))
                    except Exception:
                        log.exception("retention purge failed")
                if now - last >= 60:
                    last = now
                    log.info("%s: %d sessions derived, %d failed", name, stats.sessions_derived, stats.derive_failures)
            worker.stop()  # finishes what is dirty now
    finally:
        store.close()
    print(f"{name}: derived {stats.sessions_derived} sessions ({stats.derive_failures} failed)", flush=True)
    return 0
