"""When a live session's sample quality is re-scored (setting quality_refresh_s).

Under load every live session is dirty again before its derivation is written (bench_load: ~1.4 events a second
per session, ~1.5 s per pipeline step), and re-scoring its samples (store/duckdb/quality.py's
derive_sample_quality) was about a sixth of a derive step. A session's scores change with its samples, every
30 s per stream; so a derivation written while newer commits of its session wait re-scores it only when its
scores are older than the refresh interval. The derivation after its last events has nothing newer waiting: it
always re-scores, so a session that stops receiving ends exactly where a rebuild does.

The times are this process's memory: after a restart every session is re-scored at its first derivation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from videoinsights.store.base import SessionKey


class RescoreClock:
    """The time each session's samples were last scored, to tell which may wait."""

    def __init__(self, refresh_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh_s = refresh_s  # 0: never wait
        self._clock = clock
        self._scored: dict[SessionKey, float] = {}
        self._pruned_at = 0  # the map's size after the last prune
        self.waited = 0  # sessions written with their quality kept, in all (tests, benchmarks)

    def waiting(self, redirtied: Iterable[SessionKey]) -> set[SessionKey]:
        """Of the sessions dirty again already, those scored less than refresh_s ago."""
        if self.refresh_s <= 0:
            return set()
        since = self._clock() - self.refresh_s
        return {k for k in redirtied if self._scored.get(k, since) > since}

    def written(self, scored: Iterable[SessionKey], kept: int) -> None:
        """A step committed: these sessions' samples were scored now, `kept` others kept their quality."""
        self.waited += kept
        if self.refresh_s <= 0:
            return
        now = self._clock()
        self._scored.update((k, now) for k in scored)
        if len(self._scored) > 2 * self._pruned_at + 1024:  # ended sessions: forgotten once they could not wait
            since = now - self.refresh_s
            self._scored = {k: t for k, t in self._scored.items() if t > since}
            self._pruned_at = len(self._scored)

    def forget(self) -> None:
        """Every session is re-scored at its next derivation (the derived rows were cleared)."""
        self._scored.clear()
