"""The stores a store-level test runs on: DuckDB (a file per test) and ClickHouse's engine in-process
(`chdb://`). chdb opens one directory per process, so each pytest process has one directory and each
test a fresh database in it."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from typing import Any

from videoinsights.store.open import open_store, parse_store_url

BACKENDS = ("duckdb", "chdb")
_chdb_dir: str | None = None
_numbers = itertools.count(1)


def chdb_dir() -> str:
    """This pytest process's chdb directory (removed when the process exits)."""
    global _chdb_dir
    if _chdb_dir is None:
        _chdb_dir = tempfile.mkdtemp(prefix="videoinsights-chdb-")
        atexit.register(shutil.rmtree, _chdb_dir, True)
    return _chdb_dir


def new_store_url(backend: str, tmp_path: Any) -> str:
    """A store URL no other test uses."""
    if backend == "duckdb":
        return f"duckdb://{tmp_path}/vi-{next(_numbers)}.duckdb"
    return f"chdb://{chdb_dir()}?database=t_{next(_numbers)}"


def drop(url: str) -> None:
    """Forget a test's ClickHouse database (DuckDB files go with tmp_path)."""
    parsed = parse_store_url(url)
    if parsed.scheme == "chdb":
        from videoinsights.store.clickhouse.client import ChdbClient

        ChdbClient.drop_database(parsed.path, parsed.database)


def rows(store: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a SELECT written in the SQL both engines accept (positional `?` parameters: quoted literals
    for ClickHouse, which only takes named ones)."""
    if hasattr(store, "client"):
        for value in params or []:
            literal = f"'{value}'" if isinstance(value, str) else (f"toDate('{value}')" if hasattr(value, "isoformat")
                                                                   else str(value))
            sql = sql.replace("?", literal, 1)
        return [tuple(r) for r in store.client.query_rows(sql)]
    return [tuple(r) for r in store.reader().execute(sql, params or []).fetchall()]


__all__ = ["BACKENDS", "drop", "new_store_url", "open_store", "rows"]
