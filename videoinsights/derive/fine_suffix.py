"""A live session's hour and minute rows written from the first bucket that changed, not all of them again.

A session is derived again whole at each change (derive/engine.py), and its minute rows grow with its age: at ten
minutes of bench_load's traffic a derive step's minute rows were more than half of the rows it wrote, and their
deletes, inserts and minute rollups about a fifth of its write (docs/benchmarks.md, "Minute rows written from the
first that changed"). Yet a live session's new events change its last minute or two.

So the derive loop keeps, per session, a digest of the hour and minute rows its last committed write stored: per
bucket, a 64-bit hash of the bucket's rows (`FineDigest`, a few bytes per bucket; `FineMemory`, in the derive loop's
process, bounded in bytes). The next derivation of the session, wherever it runs (a worker process or the loop's own
thread), compares the digests of its new rows with it (`suffixes`): the rows from the first bucket whose digest
differs (a row changed, came or went) are written, the store deleting the session's rows from that bucket on and no
earlier ones (`Store.replace_derived`'s `fine_from`); the rollups of only those buckets are re-aggregated.

The digest stands for the stored rows only while nothing else writes them: a failed write keeps the old one (nothing
was written), a session that failed or had no inputs is forgotten (the store cleared its rows), and the memory is
emptied whenever the store says its rows changed otherwise (`Store.derived_generation`: a purge, a rebuild). A session
without a digest (new, evicted, after a restart) is written whole, as before.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from hashlib import blake2b
from operator import attrgetter
from typing import Any, NamedTuple

from videoinsights.derive.fine import EndpointBucketRow
from videoinsights.derive.model import DIMENSIONS, SessionDerivation
from videoinsights.store.base import SessionKey

UNCHANGED = 2**62  # a from-bucket past every row: none of the kind is written again
MEMORY_BYTES = 64 * 2**20  # the digests kept, at most (a minute bucket costs 16 bytes: a day-long session ~23 KB)
_dims = attrgetter(*DIMENSIONS)


class FineDigest(NamedTuple):
    """The digests of one session's stored hour and minute rows: (bucket, hash of its rows) pairs in bucket order,
    packed as signed 64-bit integers."""

    hours: bytes
    minutes: bytes


class FineFrom(NamedTuple):
    """Where a session's written hour and minute rows begin (epoch ms): the store keeps its rows before them."""

    hour: int
    minute: int


def digest(rows: Sequence[EndpointBucketRow]) -> bytes:
    """The (bucket, hash) pairs of these rows (hashlib: the same in every process, unlike hash() of a str)."""
    by_bucket: dict[int, list[str]] = {}
    for row in rows:
        by_bucket.setdefault(row.bucket, []).append(repr((_dims(row), tuple(row.measures.values()))))
    pairs = array("q")
    for bucket in sorted(by_bucket):
        text = "\n".join(sorted(by_bucket[bucket])).encode()
        pairs.extend((bucket, int.from_bytes(blake2b(text, digest_size=8).digest(), "little", signed=True)))
    return pairs.tobytes()


def first_change(before: bytes, after: bytes) -> int:
    """The first bucket whose rows differ between two digests (one side has it, or their hashes differ); UNCHANGED
    when none does."""
    if before == after:
        return UNCHANGED
    old, new = array("q", before), array("q", after)
    common = min(len(old), len(new))
    for i in range(0, common, 2):
        if old[i] != new[i] or old[i + 1] != new[i + 1]:
            return min(old[i], new[i])
    return (old if len(old) > common else new)[common]


def suffixes(derivation: SessionDerivation, before: FineDigest | None) -> tuple[FineDigest, FineFrom | None]:
    """The digest of a derivation's hour and minute rows, and, given the digest of the stored ones, where its rows
    to write begin; the derivation keeps only those (None: no digest, all are written)."""
    after = FineDigest(digest(derivation.endpoint_hours), digest(derivation.endpoint_minutes))
    if before is None:
        return after, None
    start = FineFrom(first_change(before.hours, after.hours), first_change(before.minutes, after.minutes))
    derivation.endpoint_hours = [r for r in derivation.endpoint_hours if r.bucket >= start.hour]
    derivation.endpoint_minutes = [r for r in derivation.endpoint_minutes if r.bucket >= start.minute]
    return after, start


class FineMemory:
    """Per session, the digest of the hour and minute rows its last committed write stored, the least recently
    written dropped first beyond `max_bytes`. Used by the derive loop's thread only."""

    def __init__(self, max_bytes: int = MEMORY_BYTES) -> None:
        self.max_bytes = max_bytes
        self._digests: OrderedDict[SessionKey, FineDigest] = OrderedDict()
        self._bytes = 0
        self._generation: Any = None
        self.suffix_writes = 0  # sessions written from their first changed bucket, in all (/metrics)

    def __len__(self) -> int:
        return len(self._digests)

    def before(self, keys: Iterable[SessionKey], generation: Any) -> dict[SessionKey, FineDigest]:
        """The digests kept of these sessions; all are forgotten first when the store's `generation` moved (its
        derived rows changed other than by a derive write)."""
        if generation != self._generation:
            self._digests.clear()
            self._bytes = 0
            self._generation = generation
        return {k: d for k in keys if (d := self._digests.get(k)) is not None}

    def committed(self, keys: Iterable[SessionKey], digests: Mapping[SessionKey, FineDigest],
                  from_later: int = 0) -> None:
        """These sessions' write committed, `from_later` of them from a later bucket: their digests now (forgotten
        for a key without one: it failed or had no rows, and the store cleared them)."""
        self.suffix_writes += from_later
        for key in keys:
            old = self._digests.pop(key, None)
            if old is not None:
                self._bytes -= _size(old)
            new = digests.get(key)
            if new is not None:
                self._digests[key] = new
                self._bytes += _size(new)
        while self._bytes > self.max_bytes and self._digests:
            _, dropped = self._digests.popitem(last=False)
            self._bytes -= _size(dropped)


def _size(d: FineDigest) -> int:
    return len(d.hours) + len(d.minutes)
