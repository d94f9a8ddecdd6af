"""The reads of `project { live }` in ClickHouse SQL: the same functions and rows as store/duckdb/live.py
(which explains "open now"). Differences: the minutes of the window come as an array parameter; samples
of publishers and of subscribers are joined to their connection in two arms of a UNION ALL (ClickHouse
joins on keys, not on a condition about one side); outer joins run with join_use_nulls."""

from __future__ import annotations

from typing import Any

from videoinsights.derive.intervals import MINUTE_MS
from videoinsights.store.clickhouse.reads import JOIN_NULLS, Cursor, Row, _dimension_sql, _summed, rows_of

FRESH_MS = 10 * MINUTE_MS
_ATTEMPTS = ("connect", "publish", "subscribe")
_VIDEO_TYPES = ("camera", "screen", "custom")
_P = "{p:String}"
_NOW = "{now:Int64}"


def _filter_sql(filters: tuple[tuple[str, tuple[str, ...]], ...], params: dict[str, Any]) -> str:
    """`AND ...` clauses over the reported (mapped) dimension values."""
    clauses = []
    for i, (column, values) in enumerate(filters):
        names = []
        for j, value in enumerate(values):
            params[f"f{i}_{j}"] = value
            names.append(f"{{f{i}_{j}:String}}")
        clauses.append(f"{column} IN ({', '.join(names)})" if names else "0")
    return "".join(f" AND {c}" for c in clauses)


def _connections_sql(filters: tuple[tuple[str, tuple[str, ...]], ...], params: dict[str, Any]) -> str:
    """Connections of the project's sessions that may overlap the window, with their effective end."""
    # Only the dimensions filtered on are mapped: the country list alone costs chdb milliseconds to plan, and
    # the CTE is planned wherever it is named.
    used = dict.fromkeys(c for c, _ in filters)
    mapped = "".join(f"{_dimension_sql(d, f'c.{d}')} AS {d}, " for d in used)

    def candidate(t: str) -> str:
        return (f"{t}project_id = {_P} AND {t}created_at <= {_NOW} "
                f"AND coalesce({t}destroyed_at, {t}ended_at, 0) >= {{since:Int64}} - {FRESH_MS}")

    # The sessions joined (the join's build side) are only those of candidate connections, picked through the
    # sort key: all the project's sessions made the read grow with the sessions stored (at 10x: 47 -> 27 ms).
    return (f"SELECT * FROM (SELECT c.session_id AS session_id, c.connection_id AS connection_id, "
            f"c.created_at AS created_at, c.destroyed_at AS destroyed_at, {mapped}"
            f"coalesce(c.destroyed_at, if(s.last_seen_at >= {{fresh:Int64}}, {_NOW} + 1, c.ended_at)) AS end_at "
            f"FROM connections c JOIN (SELECT session_id, last_seen_at FROM sessions WHERE project_id = {_P} "
            f"AND session_id IN (SELECT session_id FROM connections WHERE {candidate('')})) s "
            f"ON s.session_id = c.session_id WHERE {candidate('c.')}) "
            f"WHERE end_at > created_at{_filter_sql(filters, params)}")


def _params(project_id: str, now_ms: int, since_ms: int) -> dict[str, Any]:
    return {"p": project_id, "now": now_ms, "since": since_ms, "fresh": now_ms - FRESH_MS}


_ALIVE = f"created_at <= {_NOW} AND end_at > {_NOW}"


def _open_entities() -> str:
    """The publishers (with their video type) and subscribers open now, one row each, whatever their connection."""
    is_open = f"project_id = {_P} AND created_at <= {_NOW} AND coalesce(destroyed_at, {_NOW} + 1) > {_NOW}"
    return (f"SELECT session_id, connection_id, true AS pub, lower(video_type) AS video_type FROM publishers "
            f"WHERE {is_open} UNION ALL "
            f"SELECT session_id, connection_id, false AS pub, NULL AS video_type FROM subscribers WHERE {is_open}")


_ENTITY_COUNTS = ("publishers", "subscribers", *_VIDEO_TYPES, "other")


def live_now(cur: Cursor, project_id: str, now_ms: int, since_ms: int,
             filters: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[Row, list[Row]]:
    """Counts of what is open at now_ms, and the live sessions (most participants first, at most 100)."""
    params = _params(project_id, now_ms, since_ms)
    conns = _connections_sql(filters, params)
    # One statement, the live connections named once (ClickHouse inlines a CTE wherever it is named, and
    # planning costs chdb more than running): each live connection with its open publishers and subscribers
    # (the connections are the join's build side, so none is read when nothing is live), per connection (a
    # connection id is one row of a session), per session, then the totals as windows over the sessions.
    kinds = "".join(f"countIf(x.pub AND x.video_type = '{k}') AS {k}, " for k in _VIDEO_TYPES)
    per_connection = (f"SELECT c.session_id AS session_id, any(c.created_at) AS created_at, "
                      f"countIf(x.pub) AS publishers, {kinds}"
                      f"countIf(x.pub AND (x.video_type IS NULL OR x.video_type NOT IN {_VIDEO_TYPES})) AS other, "
                      f"countIf(NOT x.pub) AS subscribers "
                      f"FROM ({_open_entities()}) x RIGHT JOIN (SELECT * FROM ({conns}) WHERE {_ALIVE}) c "
                      f"ON x.session_id = c.session_id AND x.connection_id = c.connection_id "
                      f"GROUP BY c.session_id, c.connection_id")
    per_session = "".join(f", sum({k}) AS {k}" for k in _ENTITY_COUNTS)
    totals = "".join(f", sum({k}) OVER () AS _{k}" for k in ("participants", *_ENTITY_COUNTS))
    sql = (f"SELECT *, count() OVER () AS _sessions{totals} FROM ("
           f"SELECT session_id, min(created_at) AS created_at, count() AS participants{per_session} "
           f"FROM ({per_connection}) GROUP BY session_id) "
           f"ORDER BY participants DESC, session_id LIMIT 100{JOIN_NULLS}")
    rows = rows_of(cur, sql, params)
    names = ("participants", *_ENTITY_COUNTS)
    counts = {"sessions": rows[0]["_sessions"] if rows else 0, **{k: rows[0][f"_{k}"] if rows else 0 for k in names}}
    sessions = [{k: r[k] for k in ("session_id", "created_at", "participants", "publishers")} for r in rows]
    return counts, sessions


def live_minutes(cur: Cursor, project_id: str, now_ms: int, since_ms: int,
                 filters: tuple[tuple[str, tuple[str, ...]], ...]) -> list[Row]:
    """One row per minute from since_ms (a minute start) through the minute of now_ms, oldest first."""
    params = _params(project_id, now_ms, since_ms)
    params["minutes"] = list(range(since_ms, now_ms - now_ms % MINUTE_MS + 1, MINUTE_MS))
    conns = _connections_sql(filters, params)
    flt = _filter_sql(filters, params)
    attempts = " + ".join(f"{k}_attempts" for k in _ATTEMPTS)
    failures = " + ".join(f"{k}_failures" for k in _ATTEMPTS)
    lat = "coalesce(t.video_latency_ms, t.audio_latency_ms)"
    in_window = f"t.project_id = {_P} AND t.ts BETWEEN {{since:Int64}} AND {_NOW}"
    if filters:  # samples follow the dims of the publishing / subscribing connection
        arms = []
        for kind, table, key in (("publisherStats", "publishers", "stream_id"),
                                 ("subscriberStats", "subscribers", "subscriber_id")):
            arms.append(f"SELECT t.ts AS ts, t.video_bitrate_kbps AS video_bitrate_kbps, {lat} AS lat "
                        f"FROM stats_samples t JOIN (SELECT session_id, {key}, connection_id FROM {table} "
                        f"WHERE project_id = {_P}) e ON e.session_id = t.session_id AND e.{key} = t.{key} "
                        f"JOIN ({conns}) c ON c.session_id = t.session_id AND c.connection_id = e.connection_id "
                        f"WHERE {in_window} AND t.type = '{kind}'")
        samples = " UNION ALL ".join(arms)
    else:
        samples = (f"SELECT t.ts AS ts, t.video_bitrate_kbps AS video_bitrate_kbps, {lat} AS lat "
                   f"FROM stats_samples t WHERE {in_window}")
    # The minute rollup's stored sums, only the measures and dimensions used (as reads.py's reports)
    measures = ("published_minutes", "subscribed_minutes", *(f"{k}_{n}" for k in _ATTEMPTS for n in ("attempts",
                                                                                                      "failures")))
    used = tuple(dict.fromkeys(c for c, _ in filters))
    minutes = _summed("rollup_endpoint_minutely_sums", "bucket", "bucket",
                      f"project_id = {_P} AND bucket BETWEEN {{since:Int64}} AND {_NOW}", used, measures)
    sql = (f"WITH m AS (SELECT arrayJoin({{minutes:Array(Int64)}}) AS minute), "
           f"r AS (SELECT bucket, sum(published_minutes + subscribed_minutes) AS minutes, "
           f"sum({attempts}) AS attempts, sum({failures}) AS failures FROM ({minutes}) WHERE 1{flt} GROUP BY bucket), "
           f"c AS ({conns}), "
           f"q AS (SELECT ts - ts % {MINUTE_MS} AS bucket, avg(video_bitrate_kbps) AS br, avg(lat) AS lat "
           f"FROM ({samples}) GROUP BY bucket), "
           f"p AS (SELECT m.minute AS minute, countIf(c.created_at < m.minute + {MINUTE_MS} AND c.end_at > m.minute) "
           f"AS participants FROM m CROSS JOIN c GROUP BY m.minute) "
           f"SELECT m.minute AS minute, coalesce(r.minutes, 0) AS minutes, coalesce(r.attempts, 0) AS attempts, "
           f"coalesce(r.failures, 0) AS failures, q.br AS video_bitrate_kbps_avg, q.lat AS latency_ms_avg, "
           f"coalesce(p.participants, 0) AS participants FROM m LEFT JOIN p ON p.minute = m.minute "
           f"LEFT JOIN r ON r.bucket = m.minute "
           f"LEFT JOIN q ON q.bucket = m.minute ORDER BY m.minute{JOIN_NULLS}")
    return rows_of(cur, sql, params)
