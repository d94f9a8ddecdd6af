"""Writes to the metadata tables (ReplacingMergeTree(version, is_deleted), store/clickhouse/schema.py):
an insert, an update and a delete are all one inserted row, the newest version of its key winning;
reads use FINAL, which also drops deleted keys.

Versions are nanoseconds, strictly increasing within the process. Two processes writing the same key
in the same nanosecond is the one case where the winner is arbitrary; metadata writes are rare and
come from people (CLI, dashboard), so that is accepted.
"""

from __future__ import annotations

import re
import threading
import time
from functools import cache
from typing import Any

from videoinsights.store.clickhouse.schema import Column, _duck

_lock = threading.Lock()
_last = 0


def next_version() -> int:
    global _last
    with _lock:
        _last = max(_last + 1, time.time_ns())
        return _last


@cache
def columns(table: str) -> dict[str, Column]:
    return {c.name: c for c in _duck(table)}


def _param_type(column: Column) -> str:
    return re.sub(r"^LowCardinality\((.*)\)$", r"\1", column.ch_type)


def put(cur: Any, table: str, row: dict[str, Any], *, deleted: bool = False) -> None:
    """Insert `row` (all columns, or only the key's for a delete) as the newest version of its key."""
    cols = columns(table)
    names = list(row)
    values = ", ".join(f"{{c{i}:{_param_type(cols[n])}}}" for i, n in enumerate(names))
    params = {f"c{i}": row[n] for i, n in enumerate(names)}
    params.update(v=next_version(), d=int(deleted))
    cur.command(f"INSERT INTO {table} ({', '.join(names)}, version, is_deleted) "
                f"SELECT {values}, {{v:Int64}}, {{d:UInt8}}", params)
