"""The reads of `project { live }` (query/live.py): what is open now and what happened per minute.

"Open now": created at or before now, and destroyed after now, or not destroyed in a session that
had an event within FRESH_MS (a client that vanished without a destroy stops counting then).
"""

from __future__ import annotations

from typing import Any

from videoinsights.derive.intervals import MINUTE_MS
from videoinsights.store.duckdb.reads import Cursor, Row, _dicts, _dimension_sql

FRESH_MS = 10 * MINUTE_MS
_DIMS = ("sdk_type", "sdk_version", "country", "region", "browser", "browser_version")
_ATTEMPTS = ("connect", "publish", "subscribe")


def _filter_sql(filters: tuple[tuple[str, tuple[str, ...]], ...], params: dict[str, Any]) -> str:
    """`AND ...` clauses over the reported (mapped) dimension values."""
    clauses = []
    for i, (column, values) in enumerate(filters):
        names = []
        for j, value in enumerate(values):
            params[f"f{i}_{j}"] = value
            names.append(f"$f{i}_{j}")
        clauses.append(f"{column} IN ({', '.join(names)})" if names else "FALSE")
    return "".join(f" AND {c}" for c in clauses)


def _connections_sql(filters: tuple[tuple[str, tuple[str, ...]], ...], params: dict[str, Any]) -> str:
    """Connections of the project's sessions that may overlap the window, with their effective end."""
    mapped = ", ".join(f"{_dimension_sql(d)} AS {d}" for d in _DIMS)
    return (f"SELECT * FROM (SELECT c.session_id, c.connection_id, c.created_at, c.destroyed_at, {mapped}, "
            f"coalesce(c.destroyed_at, CASE WHEN s.last_seen_at >= $fresh THEN $now + 1 ELSE c.ended_at END) AS end_at "
            f"FROM connections c JOIN sessions s ON s.project_id = c.project_id AND s.session_id = c.session_id "
            f"WHERE c.project_id = $p AND c.created_at <= $now "
            f"AND coalesce(c.destroyed_at, c.ended_at, 0) >= $since - {FRESH_MS}) "
            f"WHERE end_at > created_at{_filter_sql(filters, params)}")


def live_now(cur: Cursor, project_id: str, now_ms: int, since_ms: int,
             filters: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[Row, list[Row]]:
    """Counts of what is open at now_ms, and the live sessions (most participants first, at most 100)."""
    params: dict[str, Any] = {"p": project_id, "now": now_ms, "since": since_ms, "fresh": now_ms - FRESH_MS}
    conns = _connections_sql(filters, params)
    alive = "created_at <= $now AND end_at > $now"
    live_entity = "t.created_at <= $now AND coalesce(t.destroyed_at, $now + 1) > $now"
    sql = (f"WITH c AS MATERIALIZED (SELECT * FROM ({conns}) WHERE {alive}), "
           f"pub AS MATERIALIZED (SELECT t.session_id, lower(t.video_type) AS video_type FROM publishers t "
           f"JOIN c ON c.session_id = t.session_id AND c.connection_id = t.connection_id "
           f"WHERE t.project_id = $p AND {live_entity}), "
           f"sub AS (SELECT t.session_id FROM subscribers t "
           f"JOIN c ON c.session_id = t.session_id AND c.connection_id = t.connection_id "
           f"WHERE t.project_id = $p AND {live_entity}) "
           f"SELECT (SELECT count(DISTINCT session_id) FROM c) AS sessions, (SELECT count(*) FROM c) AS participants, "
           f"(SELECT count(*) FROM pub) AS publishers, (SELECT count(*) FROM sub) AS subscribers, "
           f"(SELECT count(*) FROM pub WHERE video_type = 'camera') AS camera, "
           f"(SELECT count(*) FROM pub WHERE video_type = 'screen') AS screen, "
           f"(SELECT count(*) FROM pub WHERE video_type = 'custom') AS custom, "
           f"(SELECT count(*) FROM pub WHERE video_type IS NULL OR video_type NOT IN ('camera', 'screen', 'custom')) "
           f"AS other")
    counts = _dicts(cur.execute(sql, params))[0]
    sessions_sql = (f"WITH c AS (SELECT * FROM ({conns}) WHERE {alive}), "
                    f"pub AS (SELECT t.session_id, count(*) AS n FROM publishers t "
                    f"JOIN c ON c.session_id = t.session_id AND c.connection_id = t.connection_id "
                    f"WHERE t.project_id = $p AND {live_entity} GROUP BY t.session_id) "
                    f"SELECT c.session_id, min(c.created_at) AS created_at, count(*) AS participants, "
                    f"coalesce(any_value(pub.n), 0) AS publishers FROM c LEFT JOIN pub USING (session_id) "
                    f"GROUP BY c.session_id ORDER BY participants DESC, c.session_id LIMIT 100")
    return counts, _dicts(cur.execute(sessions_sql, params))


def live_minutes(cur: Cursor, project_id: str, now_ms: int, since_ms: int,
                 filters: tuple[tuple[str, tuple[str, ...]], ...]) -> list[Row]:
    """One row per minute from since_ms (a minute start) through the minute of now_ms, oldest first."""
    params: dict[str, Any] = {"p": project_id, "now": now_ms, "since": since_ms, "fresh": now_ms - FRESH_MS}
    conns = _connections_sql(filters, params)
    mapped = ", ".join(f"{_dimension_sql(d)} AS {d}" for d in _DIMS)
    flt = _filter_sql(filters, params)
    attempts = " + ".join(f"{k}_attempts" for k in _ATTEMPTS)
    failures = " + ".join(f"{k}_failures" for k in _ATTEMPTS)
    lat = "coalesce(t.video_latency_ms, t.audio_latency_ms)"
    if filters:  # samples follow the dims of the publishing / subscribing connection
        samples = (f"SELECT t.ts, t.video_bitrate_kbps, {lat} AS lat FROM stats_samples t "
                   f"LEFT JOIN publishers p ON t.type = 'publisherStats' AND p.project_id = $p "
                   f"AND p.session_id = t.session_id AND p.stream_id = t.stream_id "
                   f"LEFT JOIN subscribers s ON t.type = 'subscriberStats' AND s.project_id = $p "
                   f"AND s.session_id = t.session_id AND s.subscriber_id = t.subscriber_id "
                   f"JOIN ({conns}) c ON c.session_id = t.session_id "
                   f"AND c.connection_id = coalesce(p.connection_id, s.connection_id) "
                   f"WHERE t.project_id = $p AND t.ts BETWEEN $since AND $now")
    else:
        samples = (f"SELECT t.ts, t.video_bitrate_kbps, {lat} AS lat FROM stats_samples t "
                   f"WHERE t.project_id = $p AND t.ts BETWEEN $since AND $now")
    sql = (f"WITH m AS (SELECT unnest(range($since, $now - $now % {MINUTE_MS} + 1, {MINUTE_MS})) AS minute), "
           f"r AS (SELECT bucket, sum(published_minutes + subscribed_minutes) AS minutes, "
           f"sum({attempts}) AS attempts, sum({failures}) AS failures FROM (SELECT bucket, published_minutes, "
           f"subscribed_minutes, {', '.join(f'{k}_attempts, {k}_failures' for k in _ATTEMPTS)}, {mapped} "
           f"FROM rollup_endpoint_minutely WHERE project_id = $p AND bucket BETWEEN $since AND $now) "
           f"WHERE TRUE{flt} GROUP BY bucket), "
           f"c AS MATERIALIZED ({conns}), "
           f"q AS (SELECT ts - ts % {MINUTE_MS} AS bucket, avg(video_bitrate_kbps) AS br, avg(lat) AS lat "
           f"FROM ({samples}) GROUP BY ALL), "
           f"p AS (SELECT m.minute, count(c.connection_id) AS participants FROM m LEFT JOIN c "
           f"ON c.created_at < m.minute + {MINUTE_MS} AND c.end_at > m.minute GROUP BY m.minute) "
           f"SELECT m.minute, coalesce(r.minutes, 0) AS minutes, coalesce(r.attempts, 0) AS attempts, "
           f"coalesce(r.failures, 0) AS failures, q.br AS video_bitrate_kbps_avg, q.lat AS latency_ms_avg, "
           f"p.participants FROM m JOIN p USING (minute) LEFT JOIN r ON r.bucket = m.minute "
           f"LEFT JOIN q ON q.bucket = m.minute ORDER BY m.minute")
    return _dicts(cur.execute(sql, params))
