"""One row of a DuckDB result, fetched whole.

A DuckDB 2.0 connection (or cursor) refuses register() and sql() while a result of its execute() is unfinished, and
fetchone() leaves a one-row result so (its end not yet fetched): the next such call on that cursor raised
ResourceInUseException (a session's stats read after the watermark lookup, or on the thread whose cursor had just
answered /metrics' derive lag). Results here are read with fetchall(), through `first_row` where a row may be missing.
"""

from __future__ import annotations

from typing import Any

import duckdb


def first_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed statement's result (None without one), the result read to its end."""
    rows = result.fetchall()
    return rows[0] if rows else None
