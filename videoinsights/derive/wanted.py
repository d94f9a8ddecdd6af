"""Sessions someone is looking at: derived ahead of the backlog while they are dirty.

Under dense traffic every live session is dirty again long before its turn comes round (docs/benchmarks.md, "What a
bounded backlog asks for"): a live session's change waits for a pass over all the dirty sessions before `sessionData`
shows it, over 30 s in most cases within three minutes of bench_load at 10,000 events/s. A `sessionData` query names the
sessions it reads; the derive loop then takes those that are dirty in its express lane, after the never-derived ones
(derive/engine.py), a step or two away instead of a backlog away. A session is wanted for `ttl_s` after it was last
asked for, so that a dashboard polling one live session sees its changes within seconds.

A hint, kept in this process's memory: lost on a restart (the session is then derived in its turn, as without it),
and only seen by a derive loop in the same process (`serve` with the embedded store, or one ClickHouse server that
derives itself; not `serve --workers`, whose derivation runs in a process of its own). It must not let a caller push
the backlog aside: at most `capacity` sessions are wanted (the oldest asked for dropped first), and each is taken
ahead at most once every `every_s` (`taken`), so all of them together cost at most capacity / every_s derivations
a second (~13: under a tenth of what two cores derive under load, docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

from videoinsights.store.base import SessionKey

WANTED_TTL_S = 30.0  # a dashboard that polls a session every few seconds keeps it wanted
WANTED_EVERY_S = 5.0  # a wanted session is taken ahead at most this often
WANTED_CAPACITY = 64


class WantedSessions:
    """The sessions asked for lately (thread-safe: API threads add, the derive thread reads)."""

    def __init__(self, ttl_s: float = WANTED_TTL_S, capacity: int = WANTED_CAPACITY, every_s: float = WANTED_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.capacity, self.every_s = ttl_s, capacity, every_s
        self._clock = clock
        # key -> [wanted until, last taken ahead], the oldest asked for first
        self._wanted: OrderedDict[SessionKey, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def want(self, project_id: str, session_ids: Iterable[str]) -> None:
        """These sessions were just asked for: wanted for another `ttl_s`."""
        until = self._clock() + self.ttl_s
        with self._lock:
            for session_id in session_ids:
                key = (project_id, session_id)
                _, taken = self._wanted.pop(key, (0.0, float("-inf")))
                self._wanted[key] = [until, taken]
            while len(self._wanted) > self.capacity:
                self._wanted.popitem(last=False)

    def keys(self) -> list[SessionKey]:
        """The sessions wanted now, the most recently asked for first: not expired, not taken ahead in the last
        `every_s` (the expired ones forgotten)."""
        now = self._clock()
        with self._lock:
            while self._wanted and next(iter(self._wanted.values()))[0] <= now:
                self._wanted.popitem(last=False)
            return [k for k, (_, taken) in reversed(self._wanted.items()) if now - taken >= self.every_s]

    def taken(self, keys: Iterable[SessionKey]) -> int:
        """These sessions were taken ahead (the wanted ones among them wait `every_s` before they are again); how many
        of them were wanted."""
        now = self._clock()
        wanted = 0
        with self._lock:
            for key in keys:
                if key in self._wanted:
                    self._wanted[key][1] = now
                    wanted += 1
        return wanted
