"""Stats samples folded in apart from lifecycle events, at most every `stats_fold_s` while sessions wait.

Each absorb folded every new commit in: session bounds and dirty marks, then the stats samples into `stats_daily` and
their quality (store/duckdb/quality.py). The samples' part is most of it (~0.33 of ~0.45 s of CPU per 10,000 events
on bench_load's dense day), and much of that is paid per absorb, not per sample (finding the stored rows the new ones
add to): folded every 50 commits instead of every 10, the same samples cost 0.45x (docs/benchmarks.md, "Stats
samples folded every few seconds"). And a stats sample dirties its session: under load every live session was derived
again for each new sample, one session in five for a lifecycle event.

So the commits are two streams with a watermark each: lifecycle events (`events`) up to `derived_seq`, absorbed at
every absorb as before (a new session is derived at once), and stats samples (`stats_samples`) up to `folded_seq`
(meta), folded with their bounds and dirty marks when the fold is due (`FoldClock`): at every absorb when
`stats_fold_s` is 0 (the default of a store opened without settings: tests, the CLI), else when no session waits to
be derived, when no new commit came (idle), or once `stats_fold_s` has passed since the last fold. Under load a live
session is then derived for its samples at most about once per fold, with all of them.

A derivation reads the samples folded when it read its inputs (`StatsReads`); a fold landing while it is away makes
its sessions dirty again (store.py's `_redirtied`), as new lifecycle events do. `folded_seq <= derived_seq` always
(a fold takes the commits up to the absorb's own watermark), and the lag metrics count from the oldest unfolded
commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from videoinsights.store.base import SessionKey

FOLDED_KEY = "folded_seq"  # meta: the last commit whose stats samples were folded in
# It, as a statement reads it: a file from before it (no key) folded everything it absorbed (derived_seq).
FOLDED_SQL = (f"(SELECT coalesce(max(TRY_CAST(value AS BIGINT)) FILTER (WHERE key = '{FOLDED_KEY}'), "
              f"max(TRY_CAST(value AS BIGINT)) FILTER (WHERE key = 'derived_seq')) FROM meta "
              f"WHERE key IN ('{FOLDED_KEY}', 'derived_seq'))")

# A commit's rows for bounds and dirty marks: lifecycle events of (lo, hi], stats samples of (flo, fhi] (an empty
# range when the absorb does not fold); `stats` tells them apart (store.py's _redirtied).
ROWS = """(SELECT project_id, session_id, ts, seq, false AS stats FROM events WHERE seq > $lo AND seq <= $hi
           UNION ALL
           SELECT project_id, session_id, ts, seq, true FROM stats_samples WHERE seq > $flo AND seq <= $fhi)"""


class FoldClock:
    """Whether an absorb folds the stats samples in (this process's memory: a restart folds at its first absorb)."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s  # 0: at every absorb
        self._clock = clock
        self._folded_at = float("-inf")
        self.deferred = 0  # absorbs that left the samples for a later fold (tests, benchmarks)

    def due(self, idle: bool, waiting: Callable[[], bool]) -> bool:
        """Fold now? idle: no new commit; waiting(): does a session wait to be derived (asked only if needed)."""
        if self.every_s <= 0 or idle or self.timed_out() or not waiting():
            return True
        self.deferred += 1
        return False

    def folded(self) -> None:
        self._folded_at = self._clock()

    def timed_out(self) -> bool:
        """A timed fold is due: `every_s` (> 0) has passed since the last one (`due` is then True whatever waits)."""
        return self.every_s > 0 and self._clock() - self._folded_at >= self.every_s


class StatsReads:
    """The fold watermark each session's stats were read at (load_stats_table), until its derivation is written."""

    def __init__(self) -> None:
        self._at: dict[SessionKey, int] = {}

    def read(self, keys: Iterable[SessionKey], folded_seq: int) -> None:
        self._at.update((k, folded_seq) for k in keys)

    def written(self, keys: Sequence[SessionKey], defaults: Sequence[int]) -> list[int]:
        """The watermarks of these keys (forgotten now); for a key never read (written without a read), its default:
        the lifecycle watermark it was loaded at, which is what it was when every absorb folded."""
        return [self._at.pop(k, d) for k, d in zip(keys, defaults, strict=True)]
