"""What both backends (store/duckdb/, store/clickhouse/) share: columns of appended batches, and SQL
fragments that read the same in DuckDB's and ClickHouse's dialects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def batch_column(batches: Sequence[dict[str, list[Any]]], column: str) -> list[Any]:
    """One column across batches; a batch without the column contributes NULLs."""
    if len(batches) == 1 and column in batches[0]:
        return batches[0][column]
    out: list[Any] = []
    for b in batches:
        out.extend(b.get(column) or [None] * len(b["event_id"]))
    return out


def bucket_case(expr: str, bounds: tuple[int, ...]) -> str:
    """SQL CASE giving the histogram bucket index of expr: (b[i-1], b[i]] -> i (NULL stays NULL)."""
    whens = " ".join(f"WHEN {expr} <= {b} THEN {i}" for i, b in enumerate(bounds))
    return f"CASE WHEN {expr} IS NULL THEN NULL {whens} ELSE {len(bounds)} END"


def selected_columns(columns: Sequence[str] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    """The `allowed` columns a read was asked for (all when None), in `allowed`'s order. They are written
    into the SQL, so any other name is refused."""
    if columns is None:
        return tuple(allowed)
    unknown = set(columns) - set(allowed)
    if unknown:
        raise ValueError(f"not readable columns: {sorted(unknown)}")
    return tuple(c for c in allowed if c in columns)
