"""Previews: new sessions shown by `sessionData` while a derive step runs, ahead of their first derivation.

Under load a derive step's write or fold takes seconds, and a session whose first events arrive meanwhile waits for
it before it is absorbed, derived and written (docs/benchmarks.md: the new sessions' slowest seconds, longer as
batches grow). While a step runs, this runs beside it on a thread of its own: every `period_s` it takes the sessions
first seen in commits no absorb has taken yet, derives them from their lifecycle events (no stats samples are folded
for them yet; no quality), and writes their rows in a transaction of its own (Store.preview_inputs, write_preview;
store/duckdb/preview.py says why the two transactions cannot collide). The session's derivation, a step or two
later, replaces those rows and adds it to the rollups. Stores without previews (ClickHouse) have none to take.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from videoinsights.derive.engine import derive_tables
from videoinsights.store.base import Store

if TYPE_CHECKING:
    from videoinsights.derive.worker import DeriveStats

log = logging.getLogger(__name__)

# Sessions per preview: bench_load's warming platform starts ~45 a second (engine's EXPRESS_SESSIONS).
PREVIEW_SESSIONS = 256


class Previewer:
    """Previews of new sessions every `period_s` while a block runs (`alongside`); none with `period_s` 0. Counted in
    `stats` (sessions_previewed, preview_failures: /metrics)."""

    def __init__(self, store: Store, period_s: float, stats: DeriveStats) -> None:
        self.store, self.period_s, self.stats = store, period_s, stats

    @contextmanager
    def alongside(self) -> Iterator[None]:
        """Preview every `period_s` while the block runs (a derive step's write or fold); the block's end waits for the
        preview under way, so none overlaps what the derive thread does next (its next transaction then sees every
        preview's rows). A block shorter than `period_s` previews nothing."""
        if self.period_s <= 0:
            yield
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(stop,), name="videoinsights-preview", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.period_s):
            self.preview_once()

    def preview_once(self) -> int:
        """One preview: the new sessions waiting, derived and written; how many (0 when it failed: logged)."""
        try:
            preview = self.store.preview_inputs(PREVIEW_SESSIONS)
            if preview is None:
                return 0
            tables, _, _ = derive_tables(preview.keys, preview.events, preview.stats, None)
            self.store.write_preview(preview, {name: [rows] for name, rows in tables.items()})
        except Exception:
            self.stats.preview_failures += 1
            log.exception("previewing new sessions failed (their derivation shows them a step later)")
            return 0
        self.stats.sessions_previewed += len(preview.keys)
        return len(preview.keys)
