"""Read statements of exports (query/export.py): whole result sets, handed out in batches.

Each function runs one statement and yields its rows `batch_rows` at a time (dicts keyed by
column name, with the same column names as reads.py, so the query layer's row builders apply),
so an export of months of stats never holds more than a batch in Python. DuckDB streams an
unordered result but sorts an ordered one whole, so session data is read in time windows (an hour
of stats, a day of anything else), each sorted on its own: the sort never holds more than a window.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from videoinsights.query.report import ReportQuery
from videoinsights.store.duckdb.reads import (
    CONNECTION_COLUMNS,
    MEETING_COLUMNS,
    PUBLISHER_COLUMNS,
    SESSION_COLUMNS,
    STATS_COLUMNS,
    SUBSCRIBER_COLUMNS,
    Cursor,
    Row,
    report_sql,
)

_NO_LIMIT = 2**62
SESSION_KINDS = ("sessions", "meetings", "connections", "publishers", "subscribers", "stats")
_STREAM_ATTRS = ("video_type", "has_audio", "has_video")


def _batches(cur: Cursor, sql: str, params: dict[str, Any], batch_rows: int) -> Iterator[list[Row]]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    while True:
        rows = result.fetchmany(batch_rows)
        if not rows:
            return
        yield [dict(zip(names, row, strict=True)) for row in rows]


def project_report_batches(cur: Cursor, q: ReportQuery, batch_rows: int = 10_000) -> Iterator[list[Row]]:
    """Every row of a report (the same rows as reads.project_report, unpaged)."""
    params: dict[str, Any] = {"limit": _NO_LIMIT, "offset": 0}
    yield from _batches(cur, report_sql(q, params), params, batch_rows)


def _cols(columns: tuple[str, ...], alias: str = "t") -> str:
    return ", ".join(f"{alias}.{c}" for c in columns)


# Rows per time window, by kind: stats are most of the volume.
WINDOW_MS = {"stats": 3_600_000}
DEFAULT_WINDOW_MS = 86_400_000


def _session_sql(kind: str) -> str:
    in_range = "t.project_id = $p AND t.created_at >= $start AND t.created_at < $end"
    meeting = ("LEFT JOIN meetings m ON m.project_id = t.project_id AND m.session_id = t.session_id "
               "AND m.meeting_index = t.meeting_index")
    if kind == "sessions":  # sessions with a meeting created in the range, as sessionSummaries
        return (f"WITH hit AS (SELECT DISTINCT session_id FROM meetings WHERE project_id = $p "
                f"AND created_at >= $start AND created_at < $end) SELECT {_cols(SESSION_COLUMNS)} FROM sessions t "
                f"JOIN hit USING (session_id) WHERE t.project_id = $p ORDER BY t.created_at, t.session_id")
    if kind == "meetings":
        return (f"SELECT {_cols(MEETING_COLUMNS)} FROM meetings t WHERE {in_range} "
                f"ORDER BY t.created_at, t.session_id, t.meeting_index")
    if kind == "connections":
        return (f"SELECT {_cols(CONNECTION_COLUMNS)}, m.meeting_id FROM connections t {meeting} WHERE {in_range} "
                f"ORDER BY t.created_at, t.session_id, t.connection_id")
    if kind == "publishers":
        return (f"SELECT {_cols(PUBLISHER_COLUMNS)}, m.meeting_id FROM publishers t {meeting} WHERE {in_range} "
                f"ORDER BY t.created_at, t.session_id, t.stream_id")
    if kind == "subscribers":  # with the attributes of the stream received, as reads._entities
        attrs = ", ".join(f"any_value({c}) AS {c}" for c in _STREAM_ATTRS)
        return (f"SELECT {_cols(SUBSCRIBER_COLUMNS)}, {_cols(_STREAM_ATTRS, 's')}, m.meeting_id "
                f"FROM subscribers t {meeting} LEFT JOIN (SELECT session_id, stream_id, {attrs} FROM publishers "
                f"WHERE project_id = $p GROUP BY ALL) s ON s.session_id = t.session_id AND s.stream_id = t.stream_id "
                f"WHERE {in_range} ORDER BY t.created_at, t.session_id, t.subscriber_id")
    if kind == "stats":
        return (f"SELECT {_cols(STATS_COLUMNS)}, t.session_id, t.stream_id, t.subscriber_id FROM stats_samples t "
                f"WHERE t.project_id = $p AND t.type IN ('publisherStats', 'subscriberStats') "
                f"AND t.ts >= $start AND t.ts < $end ORDER BY t.ts, t.event_id")
    raise ValueError(f"unknown session data kind {kind!r}")


def session_data_batches(cur: Cursor, kind: str, project_id: str, start_ms: int, end_ms: int,
                         batch_rows: int = 10_000) -> Iterator[list[Row]]:
    """Session data of one kind created (stats: sampled) within [start_ms, end_ms], oldest first.
    Sessions (those with a meeting created in the range) are few: they are read in one statement."""
    sql = _session_sql(kind)
    if kind == "sessions":
        yield from _batches(cur, sql, {"p": project_id, "start": start_ms, "end": end_ms + 1}, batch_rows)
        return
    step = WINDOW_MS.get(kind, DEFAULT_WINDOW_MS)
    table, column = ("stats_samples", "ts") if kind == "stats" else (kind, "created_at")
    first, last = cur.execute(f"SELECT min({column}), max({column}) FROM {table} WHERE project_id = $p "
                              f"AND {column} BETWEEN $start AND $end",
                              {"p": project_id, "start": start_ms, "end": end_ms}).fetchall()[0]
    if first is None:  # nothing in the range (and `start: 0` must not mean windows since 1970)
        return
    end_ms = last
    for lo in range(first, end_ms + 1, step):
        params = {"p": project_id, "start": lo, "end": min(lo + step, end_ms + 1)}
        yield from _batches(cur, sql, params, batch_rows)
