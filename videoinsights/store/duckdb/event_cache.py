"""Live sessions' lifecycle events, kept between derive steps.

A dirty session is re-derived from all of its lifecycle events. `events` is stored in commit order, not by
session, so reading a batch's events scans everything stored since the batch's oldest session began: with one
session that began an hour ago, an hour of every session's events at every step (~300 ms of CPU at 10,000
events/s, docs/benchmarks.md "Sessions that began an hour ago"). A live session is derived again every few
seconds; kept here with the commit they were read up to (`upto`), its events are completed by reading only the
later commits, which zone maps on `seq` find among the newest row groups.

Its budget is in bytes (Arrow's, ~470 a row: `events` has 56 columns). Over it, sessions not read for
`STALE_S` go first (ended ones: a live session is dirtied by its stats at least every 30 s), then the sessions
that began last: they are the cheapest to read again (the read of the others is bounded by the oldest one's first
event), where dropping the least recently read would, with a backlog of more live sessions than fit, drop each
one just before its next step. A purge (which deletes events) empties it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.store.base import SessionKey

# Project ids are ours (digits or UUIDs): joined by this separator, no two keys give the same string.
_SEP = "\x1f"
EVENT_CACHE_MB = 128  # the default budget (setting derive_event_cache_mb)
STALE_S = 120.0


class Entry(NamedTuple):
    events: pa.Table  # its own buffers (not a slice of a larger read, which would keep all of it alive)
    upto: int  # the commit they were read up to
    first_ts: int  # the session's first event (an old session is the dear one to read again)
    read_at: float  # time.monotonic() of the last read


class Kept(NamedTuple):
    entries: dict[SessionKey, Entry]
    epoch: int


class SessionEventCache:
    """Each kept session's lifecycle events and the commit they were read up to, least recently read first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes  # 0: nothing is kept
        self._entries: OrderedDict[SessionKey, Entry] = OrderedDict()
        self._bytes = 0
        self._epoch = 0  # bumped by clear(): what a read began before must not be kept
        self._lock = threading.Lock()  # clear() comes from the writer's thread (purge)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, keys: Sequence[SessionKey]) -> Kept:
        """What is kept of these keys, to read the rest of and hand back to `complete`."""
        with self._lock:
            return Kept({k: self._entries[k] for k in keys if k in self._entries}, self._epoch)

    def complete(self, keys: Sequence[SessionKey], kept: Kept, fresh: pa.Table, upto: int,
                 first_ts: Mapping[SessionKey, int]) -> pa.Table:
        """All events of `keys`: those `kept` had with `fresh` added (read after each kept key's upto, whole for
        the others, up to commit `upto`). The keys are kept with `upto`, unless clear() ran since `lookup`."""
        groups = _by_session(fresh)
        empty = fresh.schema.empty_table()
        out = []
        for key in keys:
            old = kept.entries.get(key)
            new = groups.get(key, empty)
            out.append(new if old is None else _joined(old.events, new))
        with self._lock:
            if self.max_bytes > 0 and kept.epoch == self._epoch:
                now = time.monotonic()
                for key, table in zip(keys, out, strict=True):
                    self._drop(key)
                    self._entries[key] = Entry(table, upto, first_ts.get(key, 0), now)
                    self._bytes += table.nbytes
                self._shrink(now)
        return pa.concat_tables(out).combine_chunks() if out else empty

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._epoch += 1

    def _drop(self, key: SessionKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.events.nbytes

    def _shrink(self, now: float) -> None:
        while self._bytes > self.max_bytes and self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.read_at < STALE_S:
                break
            self._drop(key)
        if self._bytes > self.max_bytes:
            for key in sorted(self._entries, key=lambda k: self._entries[k].first_ts, reverse=True):
                self._drop(key)
                if self._bytes <= self.max_bytes:
                    break


def _joined(old: pa.Table, new: pa.Table) -> pa.Table:
    if new.num_rows == 0:
        return old
    return pa.concat_tables([old, new.cast(old.schema)]).combine_chunks()


def _by_session(table: pa.Table) -> Mapping[SessionKey, pa.Table]:
    """The rows of each session, each a copy (not a slice that would keep the whole read's buffers alive)."""
    if table.num_rows == 0:
        return {}
    joined = pc.binary_join_element_wise(table["project_id"], table["session_id"], _SEP)
    order = pc.sort_indices(joined)
    counts = pc.value_counts(joined.take(order))  # in order of first appearance: the sorted order
    out: dict[SessionKey, pa.Table] = {}
    start = 0
    for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True):
        project_id, session_id = value.split(_SEP, 1)
        out[(project_id, session_id)] = table.take(order.slice(start, n))
        start += n
    return out
