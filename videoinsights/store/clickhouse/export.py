"""Read statements of exports in ClickHouse SQL: the same functions and rows as store/duckdb/export.py.

Session data is read in the same time windows (an hour of stats, a day of anything else), one statement
each, so a batch never holds more than a window's rows; a window's Arrow result is handed out
`batch_rows` rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from videoinsights.query.report import ReportQuery
from videoinsights.store.clickhouse.reads import (
    CONNECTION_COLUMNS,
    JOIN_NULLS,
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
WINDOW_MS = {"stats": 3_600_000}
DEFAULT_WINDOW_MS = 86_400_000
_P = "{p:String}"
_RANGE = "{start:Int64} AND t.created_at < {end:Int64}"


def _batches(cur: Cursor, sql: str, params: dict[str, Any], batch_rows: int) -> Iterator[list[Row]]:
    for batch in cur.query_arrow(sql, params).to_batches(batch_rows):
        if batch.num_rows:
            yield batch.to_pylist()


def project_report_batches(cur: Cursor, q: ReportQuery, batch_rows: int = 10_000) -> Iterator[list[Row]]:
    """Every row of a report (the same rows as reads.project_report, unpaged)."""
    params: dict[str, Any] = {"limit": _NO_LIMIT, "offset": 0}
    yield from _batches(cur, report_sql(q, params), params, batch_rows)


def _cols(columns: tuple[str, ...], alias: str = "t") -> str:
    return ", ".join(f"{alias}.{c} AS {c}" for c in columns)


def _session_sql(kind: str) -> str:
    in_range = f"t.project_id = {_P} AND t.created_at >= {_RANGE}"
    meeting = (f"LEFT JOIN (SELECT session_id, meeting_index, meeting_id FROM meetings WHERE project_id = {_P}) m "
               "ON m.session_id = t.session_id AND m.meeting_index = t.meeting_index")
    if kind == "sessions":  # sessions with a meeting created in the range, as sessionSummaries
        return (f"SELECT {_cols(SESSION_COLUMNS)} FROM sessions t WHERE t.project_id = {_P} AND t.session_id IN "
                f"(SELECT session_id FROM meetings WHERE project_id = {_P} AND created_at >= {{start:Int64}} "
                f"AND created_at < {{end:Int64}}) ORDER BY t.created_at, t.session_id")
    if kind == "meetings":
        return (f"SELECT {_cols(MEETING_COLUMNS)} FROM meetings t WHERE {in_range} "
                f"ORDER BY t.created_at, t.session_id, t.meeting_index")
    if kind == "connections":
        return (f"SELECT {_cols(CONNECTION_COLUMNS)}, m.meeting_id AS meeting_id FROM connections t {meeting} "
                f"WHERE {in_range} ORDER BY t.created_at, t.session_id, t.connection_id{JOIN_NULLS}")
    if kind == "publishers":
        return (f"SELECT {_cols(PUBLISHER_COLUMNS)}, m.meeting_id AS meeting_id FROM publishers t {meeting} "
                f"WHERE {in_range} ORDER BY t.created_at, t.session_id, t.stream_id{JOIN_NULLS}")
    if kind == "subscribers":  # with the attributes of the stream received, as reads._entities
        attrs = ", ".join(f"any({c}) AS {c}" for c in _STREAM_ATTRS)
        return (f"SELECT {_cols(SUBSCRIBER_COLUMNS)}, {_cols(_STREAM_ATTRS, 's')}, m.meeting_id AS meeting_id "
                f"FROM subscribers t {meeting} LEFT JOIN (SELECT session_id, stream_id, {attrs} FROM publishers "
                f"WHERE project_id = {_P} GROUP BY session_id, stream_id) s "
                f"ON s.session_id = t.session_id AND s.stream_id = t.stream_id "
                f"WHERE {in_range} ORDER BY t.created_at, t.session_id, t.subscriber_id{JOIN_NULLS}")
    if kind == "stats":  # raw samples, each event once (see reads.py)
        return (f"SELECT {_cols(STATS_COLUMNS)}, t.session_id AS session_id, t.stream_id AS stream_id, "
                f"t.subscriber_id AS subscriber_id FROM (SELECT * FROM stats_samples WHERE project_id = {_P} "
                f"AND type IN ('publisherStats', 'subscriberStats') AND ts >= {{start:Int64}} AND ts < {{end:Int64}} "
                f"LIMIT 1 BY event_id) t ORDER BY t.ts, t.event_id")
    raise ValueError(f"unknown session data kind {kind!r}")


def session_data_batches(cur: Cursor, kind: str, project_id: str, start_ms: int, end_ms: int,
                         batch_rows: int = 10_000) -> Iterator[list[Row]]:
    """Session data of one kind created (stats: sampled) within [start_ms, end_ms], oldest first."""
    sql = _session_sql(kind)
    if kind == "sessions":
        yield from _batches(cur, sql, {"p": project_id, "start": start_ms, "end": end_ms + 1}, batch_rows)
        return
    step = WINDOW_MS.get(kind, DEFAULT_WINDOW_MS)
    table, column = ("stats_samples", "ts") if kind == "stats" else (kind, "created_at")
    first, last, n = cur.query_rows(f"SELECT min({column}), max({column}), count() FROM {table} "
                                    f"WHERE project_id = {_P} AND {column} BETWEEN {{start:Int64}} AND {{end:Int64}}",
                                    {"p": project_id, "start": start_ms, "end": end_ms})[0]
    if not n:  # nothing in the range (min() of no rows is 0 here, not NULL)
        return
    for lo in range(first, last + 1, step):
        params = {"p": project_id, "start": lo, "end": min(lo + step, last + 1)}
        yield from _batches(cur, sql, params, batch_rows)
