"""Live sessions' lifecycle events, kept between derive steps.

A dirty session is re-derived from all of its lifecycle events. `events` is stored in commit order, not by
session, so reading a batch's events scans everything stored since the batch's oldest session began: with one
session that began an hour ago, an hour of every session's events at every step (~300 ms of CPU at 10,000
events/s, docs/benchmarks.md "Sessions that began an hour ago"). A live session is derived again every few
seconds; kept here with the commit they were read up to (`upto`), its events are completed by reading only the
later commits, which zone maps on `seq` find among the newest row groups.

Only sessions that began over `KEEP_AFTER_MS` before the batch's latest event are kept: the others are read whole,
which stays cheap while the older ones are kept (the read is bounded by the first event of the oldest session not
kept), and keeping them would cost more Python than it saves. Sessions not read for `STALE_S` go (ended ones: a
live session is dirtied by its stats at least every 30 s). The budget is in bytes (Arrow's, ~370 an event); over
it, the sessions that began last go first: they are the cheapest to read again, where dropping the least recently
read would, with more live sessions than fit, drop each one just before its next step. A purge (which deletes
events), a reopen and a rebuild empty it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.derive.inputs import key_strings, rows_apart, split_key_string
from videoinsights.store.base import SessionKey

EVENT_CACHE_MB = 128  # the default budget (setting derive_event_cache_mb)
STALE_S = 120.0
# Sessions that began this long before the batch's latest event are kept; younger ones are read whole: the read
# then covers the last 10 minutes of traffic (~40 ms of CPU at 10,000 events/s), and keeping them too cost more
# Python than it saved while a platform warms up (bench_load: young sessions, many setup events each step).
KEEP_AFTER_MS = 10 * 60_000


# A session's events are kept as the pieces successive reads added (no copy per step); past this many, joined.
MAX_PIECES = 8


class Entry(NamedTuple):
    pieces: tuple[pa.Table, ...]  # each with its own buffers (a copy, not a slice keeping a whole read alive)
    size: int  # their bytes
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
                 first_ts: Mapping[SessionKey, int], keep_before: int) -> pa.Table:
        """All events of `keys`: those `kept` had with `fresh` added (read after each kept key's upto, whole for
        the others, up to commit `upto`). The keys whose first event is older than `keep_before` (ms) are kept
        with `upto`, unless clear() ran since `lookup`: the others are young, and cheap to read whole."""
        now = time.monotonic()
        keep = [k for k in keys if k in kept.entries or first_ts.get(k, 0) < keep_before]
        if not keep:
            return fresh  # none kept, none to keep: as read
        fresh, young = rows_apart(fresh, keep)
        groups = _by_session(fresh)
        row_bytes = fresh.nbytes / max(1, fresh.num_rows)  # once: Table.nbytes costs ~0.1 ms a call
        entries = {}
        for key in keep:
            old = kept.entries.get(key)
            pieces, size = ((), 0) if old is None else (old.pieces, old.size)
            new = groups.get(key)
            if new is not None:
                pieces, size = (*pieces, new), size + round(new.num_rows * row_bytes)
                if len(pieces) > MAX_PIECES:
                    pieces = (pa.concat_tables(pieces).combine_chunks(),)
            entries[key] = Entry(pieces, size, upto, first_ts.get(key, 0), now)
        with self._lock:
            if self.max_bytes > 0 and kept.epoch == self._epoch:
                for key, entry in entries.items():
                    self._drop(key)
                    self._entries[key] = entry
                    self._bytes += entry.size
                self._shrink(now)
        tables = [piece for entry in entries.values() for piece in entry.pieces]
        return pa.concat_tables([*tables, young]).combine_chunks()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._epoch += 1

    def _drop(self, key: SessionKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def _shrink(self, now: float) -> None:
        """Sessions not read for STALE_S go (ended ones hold memory); over budget, then those that began last."""
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if now - entry.read_at < STALE_S:
                break
            self._drop(key)
        if self._bytes > self.max_bytes:
            for key in sorted(self._entries, key=lambda k: self._entries[k].first_ts, reverse=True):
                self._drop(key)
                if self._bytes <= self.max_bytes:
                    break


def _by_session(table: pa.Table) -> Mapping[SessionKey, pa.Table]:
    """The rows of each session, each a copy (not a slice that would keep the whole read's buffers alive).
    The read comes in several chunks (DuckDB's batches, the kept and missing parts): Arrow's take on chunked
    columns joins every column's chunks at each call, so they are joined once here (4x less for 300 sessions)."""
    if table.num_rows == 0:
        return {}
    table = table.combine_chunks()
    joined = key_strings(table)
    order = pc.sort_indices(joined)
    counts = pc.value_counts(joined.take(order))  # in order of first appearance: the sorted order
    out: dict[SessionKey, pa.Table] = {}
    start = 0
    for value, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True):
        out[split_key_string(value)] = table.take(order.slice(start, n))
        start += n
    return out
