"""Sort DuckDB and Arrow failures into what the caller must be told: the batch's own data
cannot be stored (the sender's fault), the disk is full, or the store failed."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from videoinsights.store.base import RejectedBatch, StorageFull

# Raised while building or inserting rows whose values the columns can't take (an integer past
# BIGINT, a NULL in a NOT NULL column, mixed types in one column): retrying won't help.
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    OverflowError,
    UnicodeEncodeError,
)
# How the operating system says that no more can be written (ENOSPC, EDQUOT, EFBIG).
_FULL_MARKERS = ("No space left on device", "Disk quota exceeded", "File too large")


def invalidated(exc: BaseException) -> bool:
    """DuckDB gave up on a database (a checkpoint or commit that failed to write): it refuses everything until the
    store reopens it. The main file says so with a FatalException; an attached one (the raw file) with an error whose
    text says so."""
    return isinstance(exc, duckdb.FatalException) or (
        isinstance(exc, duckdb.Error) and "has been invalidated" in str(exc))


def classify(exc: BaseException) -> BaseException:
    """The exception to raise instead of exc: RejectedBatch, StorageFull, or exc itself."""
    text = str(exc)
    if any(marker in text for marker in _FULL_MARKERS):
        return StorageFull("the server's storage is full")
    if isinstance(exc, _DATA_ERRORS):
        first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return RejectedBatch(first_line[:300])
    return exc
