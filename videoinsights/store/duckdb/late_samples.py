"""Stats samples that arrive late: scored, parked in `quality_late`, and absorbed together about once a minute.

Absorbing a sample links it to its entity's previous one, re-weighs its bands and finds its runs again from the
entity's stored samples around it (store/duckdb/quality.py, quality_runs.py). `quality_samples` is appended in
arrival order, so those statements bound their scans by the absorb's earliest new sample, and zone maps skip what
arrived before. One sample minutes late (bench_load delivers 1% of the events 1-15 minutes late, as clients that
reconnect and flush do) pulled that bound back for all of an absorb's samples: every absorb scanned every sample
that arrived in those minutes (+0.11 s of CPU, +30%, for 10 commits with 600,000 events stored; docs/benchmarks.md
"Late samples absorbed together"). Here a sample older than the newest one already absorbed by more than
LATE_AFTER_MS is parked instead, and the parked ones are absorbed with the commits of the first absorb after
LATE_EVERY_S, or as soon as an absorb finds no new commit (idle): that scan once a minute, not at every absorb.

The order samples are absorbed in does not change the stored result (quality.py), so parking only delays it. A
parked sample's session may be derived meanwhile without it: absorbing the parked samples marks their sessions
dirty. Only quality waits: the stats rollups, bounds and dirty sessions take a late sample at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb

LATE_AFTER_MS = 120_000  # samples arrive up to ~30 s apart and commits seconds late: later than this is late
LATE_EVERY_S = 60.0

# (q_new: the absorb's new samples, scored, with their project and session; quality.py)
_PARK = ("INSERT INTO quality_late SELECT * FROM q_new WHERE ts < $cut", "DELETE FROM q_new WHERE ts < $cut")
_TAKE = (
    "INSERT INTO q_new SELECT * FROM quality_late",
    # (never_derived false: a session never derived is dirty already, and keeps its flag)
    """INSERT OR IGNORE INTO dirty_sessions (project_id, session_id, dirtied_seq, never_derived)
       SELECT DISTINCT project_id, session_id, $seq, false FROM quality_late""",
    "DELETE FROM quality_late",
)


class LateSamples:
    """Whether samples may be parked, and when they were last absorbed (this process's memory: after a restart the
    first idle absorb takes whatever a file holds)."""

    def __init__(self, every_s: float = LATE_EVERY_S, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.every_s = every_s
        self._clock = clock
        self._wall = wall
        self.newest: int | None = None  # the newest sample absorbed, of its ts (None: none yet in this process)
        self.waiting = True  # (a file may hold parked samples from before: the first idle absorb takes them)
        self.parked_total = 0  # samples parked by this process (/metrics)
        self._taken_at = clock()

    def due(self, idle: bool) -> bool:
        """Are the parked samples to be absorbed now (idle: the absorb has no new commit)?"""
        return self.waiting and (idle or self._clock() - self._taken_at >= self.every_s)

    def park_before(self) -> int | None:
        """Samples older than this are late (None: nothing absorbed yet to compare with)."""
        return None if self.newest is None else self.newest - LATE_AFTER_MS

    def committed(self, newest: int | None, parked: int, taken: bool) -> None:
        """An absorb committed: its newest sample's ts, how many samples it parked, and whether it took the parked."""
        if newest is not None:
            # never past now: a client whose clock runs ahead (up to max_future_skew_s, 5 minutes) would make every
            # other sample late
            newest = min(newest, int(self._wall() * 1000))
            self.newest = newest if self.newest is None else max(self.newest, newest)
        if taken:
            self.waiting = False
            self._taken_at = self._clock()
        self.waiting = self.waiting or parked > 0
        self.parked_total += parked

    def forget(self) -> None:
        """Nothing is parked (the scored samples were cleared and scored again, parked ones included)."""
        self.waiting = False
        self.newest = None


def park(con: duckdb.DuckDBPyConnection, cut: int) -> int:
    """Move the new samples older than `cut` from q_new to quality_late; how many?"""
    oldest = con.execute("SELECT min(ts) FROM q_new").fetchall()[0][0]  # (an aggregate: one row, NULL when empty)
    if oldest is None or oldest >= cut:
        return 0
    parked = int(con.execute(_PARK[0], {"cut": cut}).fetchall()[0][0])
    con.execute(_PARK[1], {"cut": cut})
    return parked


def take(con: duckdb.DuckDBPyConnection, seq: int) -> None:
    """Add the parked samples to q_new and mark their sessions dirty (first dirtied at commit `seq`)."""
    con.execute(_TAKE[0])
    con.execute(_TAKE[1], {"seq": seq})
    con.execute(_TAKE[2])


def parked_sessions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The session ids of the parked samples (the absorb's bound on the bands they add to)."""
    return [r[0] for r in con.execute("SELECT DISTINCT session_id FROM quality_late").fetchall()]
