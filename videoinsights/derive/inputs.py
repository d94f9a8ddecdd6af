"""Derivation inputs as the store hands them over: Arrow tables, turned into Python objects here.

The store returns two columnar tables for a batch of sessions (their raw lifecycle events, their
`stats_daily` rows) instead of Python objects: fetching them costs the store little, the tables
travel to a worker process as buffers, and building the millions of small Python objects happens
in whichever process derives, not in the one that serves requests.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from videoinsights.derive.model import StatsAggregate
from videoinsights.domain.quality import BITRATE_BOUNDS, LATENCY_BOUNDS, STATS_EXTRA_COLUMNS
from videoinsights.store.base import SessionKey

# Columns of the stats table, in the order the store selects them (`stats_daily`'s names).
LATENCY_COUNT_COLUMNS = tuple(f"lat_{i}" for i in range(len(LATENCY_BOUNDS) + 1))
BITRATE_COUNT_COLUMNS = tuple(f"br_{i}" for i in range(len(BITRATE_BOUNDS) + 1))
STATS_COLUMNS: tuple[str, ...] = (
    "project_id", "session_id", "side", "entity_id", "day", "samples", "first_ts", "last_ts",
    *LATENCY_COUNT_COLUMNS, *BITRATE_COUNT_COLUMNS, "lat_sum", "lat_count", "br_sum", "br_count",
    *STATS_EXTRA_COLUMNS,
)


# Project ids are ours (digits or UUIDs): joined to a session id by this separator, no two keys give the same string.
_KEY_SEPARATOR = "\x1f"


def key_strings(table: pa.Table) -> pa.ChunkedArray:
    """Each row's session key (project_id, session_id) as one string, to compare and sort keys in Arrow."""
    return pc.binary_join_element_wise(table["project_id"], table["session_id"], _KEY_SEPARATOR)


def split_key_string(value: str) -> SessionKey:
    project_id, session_id = value.split(_KEY_SEPARATOR, 1)
    return project_id, session_id


def rows_apart(table: pa.Table, keys: list[SessionKey]) -> tuple[pa.Table, pa.Table]:
    """(rows of these sessions, rows of the others)."""
    wanted = pa.array([f"{p}{_KEY_SEPARATOR}{s}" for p, s in keys], pa.string())
    mask = pc.is_in(key_strings(table), value_set=wanted)
    return table.filter(mask), table.filter(pc.invert(mask))


def events_by_session(table: pa.Table, keys: list[SessionKey]) -> dict[SessionKey, list[dict[str, Any]]]:
    """One dict per event (column name -> value), grouped by session. Columns null in every row of the
    table (most of the stats columns, for lifecycle events) are left out of the dicts: derivation reads
    optional fields with `.get`, and a key that is None in every copy of an event cannot change which
    copy canonical_events keeps. Building the dicts is most of this function's cost."""
    out: dict[SessionKey, list[dict[str, Any]]] = {k: [] for k in keys}
    rows = table.num_rows
    names = [n for n in table.column_names if table.column(n).null_count < rows]
    for row in zip(*(table.column(n).to_pylist() for n in names), strict=True):
        event = dict(zip(names, row, strict=True))
        out[(event["project_id"], event["session_id"])].append(event)
    return out


def stats_by_session(table: pa.Table, keys: list[SessionKey]) -> dict[SessionKey, list[StatsAggregate]]:
    """The StatsAggregate rows of each session."""
    out: dict[SessionKey, list[StatsAggregate]] = {k: [] for k in keys}
    n_lat, n_br = len(LATENCY_COUNT_COLUMNS), len(BITRATE_COUNT_COLUMNS)
    for row in zip(*(table.column(n).to_pylist() for n in STATS_COLUMNS), strict=True):
        project_id, session_id, side, entity_id, day, samples, first, last = row[:8]
        lat, br = row[8 : 8 + n_lat], row[8 + n_lat : 8 + n_lat + n_br]
        ls, lc, bs, bc = row[8 + n_lat + n_br : 12 + n_lat + n_br]
        extras = tuple(row[12 + n_lat + n_br :])
        out[(project_id, session_id)].append(
            StatsAggregate(side, entity_id, day, samples, first, last, tuple(lat), tuple(br), ls, lc, bs, bc, extras)
        )
    return out
