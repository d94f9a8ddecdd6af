"""What both backends (store/duckdb/, store/clickhouse/) share: columns of appended batches, SQL
fragments that read the same in DuckDB's and ClickHouse's dialects, and the row of a one-bucket report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from videoinsights.query.report import ReportQuery


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


def string_list(values: Sequence[str]) -> str:
    """SQL string literals, comma-separated (quotes doubled), for an `IN (...)` that DuckDB answers through a
    column's ART index: it always did for a literal list, not always for a list parameter (a 3-million-row
    table was scanned whole: 160-180 ms against 9 ms). NULL for no values: `IN (NULL)` matches no row."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


def single_bucket_rows(found: dict[str, Any], q: ReportQuery) -> list[dict[str, Any]]:
    """The row (or none) the general report statement gives for one bucket and no groups, from the one row
    of the one-bucket statement (both backends' reads.py): per side (`endpoint`, and `project` when included)
    its row count `_<side>_n`, earliest day `_<side>_first` and sums."""
    parts = [("endpoint", q.endpoint_columns)] + ([("project", q.project_columns)] if q.include_project else [])
    present = [kind for kind, _ in parts if found[f"_{kind}_n"] > 0]  # HAVING count(*) > 0
    if not present:
        return []
    firsts = [found[f"_{kind}_first"] for kind in present if found[f"_{kind}_first"] is not None]
    first_day = min(firsts) if firsts else None  # least() skips NULLs
    row: dict[str, Any] = {"bucket": date(1970, 1, 1), "first_day": first_day}
    for kind, columns in parts:  # a side without rows is NULL in the full outer join
        for c in columns:
            row[c] = found[c] if found[f"_{kind}_n"] > 0 else None
    row["_total"] = 1
    row["min_day"] = first_day
    return [row]


def selected_columns(columns: Sequence[str] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    """The `allowed` columns a read was asked for (all when None), in `allowed`'s order. They are written
    into the SQL, so any other name is refused."""
    if columns is None:
        return tuple(allowed)
    unknown = set(columns) - set(allowed)
    if unknown:
        raise ValueError(f"not readable columns: {sorted(unknown)}")
    return tuple(c for c in allowed if c in columns)
