"""When the derive thread may wait: commits of stats samples for sessions it has derived lately.

Each commit wakes the derive thread, and under a stream of stats samples each cycle re-derived the few
sessions of one or two commits, paying a cycle's fixed cost (absorbing, ~40 statements, a commit) again
and again (docs/benchmarks.md, "Stats-only ingest"). Stats still must be derived (they move the ends of
open streams and subscribers, derive/lifetimes.py), but they can be gathered: a commit holding only
stats samples of sessions derived before starts the next cycle at most `window_s` after it, so one cycle
takes a window's worth of them. A commit with a lifecycle event, or with a session not derived lately
(maybe never: a new session must show at once), wakes the thread at once, as does any backlog.

The set of sessions derived lately is this process's memory, bounded: a session it forgot only wakes
the thread at once, as before. Nothing here decides *what* is derived, only *when* a cycle starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from videoinsights.domain.events import STATS_TYPES
from videoinsights.store.base import SessionKey

# Sessions remembered as derived lately (the oldest forgotten first): ~100 bytes each.
REMEMBERED = 50_000


class StatsSettle:
    """Tells whether a commit must wake the derive thread now, and until when it may otherwise wait."""

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s  # 0: every commit wakes the thread at once
        self._clock = clock
        self._derived: dict[SessionKey, None] = {}  # insertion-ordered: the oldest first
        self._lock = threading.Lock()
        self._pending_since: float | None = None  # the first commit that did not wake the thread

    def urgent(self, batches: Iterable[Mapping[str, Sequence[Any]]]) -> bool:
        """Must these committed batches be derived now? Yes unless every event is a stats sample of a session
        derived lately. (Each batch is one request's: one project.)"""
        if self.window_s <= 0:
            return True
        with self._lock:
            for columns in batches:
                if not columns["event_id"]:
                    continue
                if not STATS_TYPES.issuperset(columns["type"]):
                    return True
                project_id = columns["project_id"][0]
                if any((project_id, s) not in self._derived for s in set(columns["session_id"])):
                    return True
        return False

    def defer(self) -> None:
        """A commit that did not wake the thread: the next cycle starts `window_s` after the first such."""
        with self._lock:
            if self._pending_since is None:
                self._pending_since = self._clock()

    def cycle_starts(self) -> None:
        """A cycle absorbs every commit made before it starts: nothing deferred is pending any more."""
        with self._lock:
            self._pending_since = None

    def derived(self, keys: Iterable[SessionKey]) -> None:
        """Remember these sessions as derived now (forgetting the oldest beyond REMEMBERED)."""
        with self._lock:
            for key in keys:
                self._derived.pop(key, None)
                self._derived[key] = None
            while len(self._derived) > REMEMBERED:
                del self._derived[next(iter(self._derived))]

    def due_in(self) -> float | None:
        """Seconds until deferred commits are due (0: now), None when none is pending."""
        with self._lock:
            if self._pending_since is None:
                return None
            return max(0.0, self._pending_since + self.window_s - self._clock())
