"""The digests of a session's hour and minute rows, where two of them first differ, and the memory the derive loop
keeps of them (derive/fine_suffix.py). By hand: rows in the minutes 0, 1 and 2 of an hour."""

from __future__ import annotations

from videoinsights.derive.fine import FINE_MEASURES, EndpointBucketRow
from videoinsights.derive.fine_suffix import UNCHANGED, FineDigest, FineFrom, FineMemory, digest, first_change, suffixes
from videoinsights.derive.model import SessionDerivation

M = 60_000


def row(bucket: int, published: float = 1.0, browser: str | None = "Chrome") -> EndpointBucketRow:
    measures = dict.fromkeys(FINE_MEASURES, 0.0)
    measures["published_minutes"] = published
    return EndpointBucketRow("1", "s", bucket, "js", "2.27", "US", None, browser, None, measures=measures)


THREE = [row(0), row(M), row(2 * M, 0.5)]


def test_the_same_rows_have_the_same_digest_in_any_order() -> None:
    assert digest(THREE) == digest(list(reversed(THREE)))
    assert len(digest(THREE)) == 3 * 16  # a (bucket, hash) pair of 64-bit integers per bucket
    assert first_change(digest(THREE), digest(list(reversed(THREE)))) == UNCHANGED


def test_the_first_change_is_the_least_bucket_whose_rows_differ() -> None:
    before = digest(THREE)
    assert first_change(before, digest([row(0), row(M, 0.5), row(2 * M, 0.5)])) == M  # a measure
    assert first_change(before, digest([row(0), row(M), row(M, browser="Firefox"), row(2 * M, 0.5)])) == M  # a row
    assert first_change(before, digest([row(0), row(M), row(2 * M), row(3 * M, 0.25)])) == 2 * M
    assert first_change(before, digest([*THREE, row(3 * M)])) == 3 * M  # a minute more
    assert first_change(before, digest([row(0), row(2 * M, 0.5)])) == M  # a minute gone
    assert first_change(before, digest([row(0), row(M)])) == 2 * M  # the last one gone
    assert first_change(before, digest([])) == 0
    assert first_change(digest([]), before) == 0


def derivation(minutes: list[EndpointBucketRow]) -> SessionDerivation:
    return SessionDerivation(session=None, meetings=[], connections=[], publishers=[], subscribers=[],
                             endpoint_days=[], project_days=[], endpoint_hours=[row(0, 2.5)], endpoint_minutes=minutes)


def test_a_derivation_keeps_its_rows_from_the_first_change_on() -> None:
    first = derivation(list(THREE))
    kept, start = suffixes(first, None)
    assert start is None and first.endpoint_minutes == THREE  # no digest: every row is written
    later = derivation([row(0), row(M), row(2 * M), row(3 * M, 0.5)])
    _, start = suffixes(later, kept)
    assert start == FineFrom(UNCHANGED, 2 * M)  # the hour's row is as it was; minutes from the third on
    assert [r.bucket for r in later.endpoint_minutes] == [2 * M, 3 * M] and later.endpoint_hours == []


def test_the_memory_keeps_committed_digests_and_forgets_failed_sessions() -> None:
    memory = FineMemory()
    memory.before([], generation=0)  # (the derive loop asks before each write)
    a, b = ("1", "a"), ("1", "b")
    d = FineDigest(digest([row(0)]), digest(THREE))
    memory.committed([a, b], {a: d, b: d}, from_later=1)
    assert memory.before([a, b, ("1", "c")], generation=0) == {a: d, b: d}
    memory.committed([a], {})  # a failed, or had no inputs: the store cleared its rows
    assert memory.before([a, b], generation=0) == {b: d}
    assert memory.suffix_writes == 1


def test_the_memory_is_emptied_when_the_stores_rows_changed_otherwise() -> None:
    memory = FineMemory()
    key = ("1", "a")
    memory.before([], generation=3)
    memory.committed([key], {key: FineDigest(b"", digest(THREE))})
    assert memory.before([key], generation=3) != {}
    assert memory.before([key], generation=4) == {}  # a purge or a rebuild came between
    assert len(memory) == 0


def test_the_memory_drops_the_least_recently_written_beyond_its_bytes() -> None:
    d = FineDigest(digest([row(0)]), digest(THREE))  # 16 + 48 bytes
    memory = FineMemory(max_bytes=2 * 64)
    memory.before([], generation=0)
    keys = [("1", str(i)) for i in range(3)]
    for key in keys:
        memory.committed([key], {key: d})
    assert set(memory.before(keys, generation=0)) == {keys[1], keys[2]}
