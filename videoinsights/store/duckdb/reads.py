"""Every read statement of the Insights API, in DuckDB SQL.

The query layer (videoinsights/query/) decides *what* to read; this module
is the only place that knows *how*. Each function runs a bounded number of
statements whatever the number of parents: children of many parents are read
in one statement, paged per parent with window functions.

Rows come back as dicts keyed by column name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from videoinsights.domain.quality import SCORE_BOUNDS
from videoinsights.domain.tiers import TIER_COLUMNS
from videoinsights.query.report import KNOWN_VALUES, ReportQuery
from videoinsights.store.duckdb.compaction import KEYS_PER_SCAN
from videoinsights.store.duckdb.fetch import first_row
from videoinsights.store.duckdb.folding import FOLDED_SQL
from videoinsights.store.duckdb.totals import TOTALS
from videoinsights.store.portable import selected_columns, single_bucket_rows, string_list

Row = dict[str, Any]
Cursor = Any  # a DuckDB connection/cursor (or a wrapper with .execute)

# -- projectData ------------------------------------------------------------


def _dimension_sql(column: str) -> str:
    """The dimension as reported: values the API cannot name become OTHER or NULL."""
    known = KNOWN_VALUES.get(column)
    if known is None:
        return column
    values, fallback = known
    listed = ", ".join(f"'{v}'" for v in values)
    other = f"'{fallback}'" if fallback else "NULL"
    return f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} IN ({listed}) THEN {column} ELSE {other} END"


_BUCKETS = {
    "DAILY": "day",
    "WEEKLY": "CAST(date_trunc('week', day) AS DATE)",
    "MONTHLY": "CAST(date_trunc('month', day) AS DATE)",
    None: "DATE '1970-01-01'",
}


def _range_sql(q: ReportQuery, params: dict[str, Any]) -> tuple[str, str]:
    """WHERE clauses for the daily and the monthly part of a report."""
    daily = ["project_id = $project_id", "day <= $last_day"]
    monthly = ["project_id = $project_id", "month < $monthly_before", "month <= $last_day"]
    params["project_id"] = q.project_id
    params["last_day"] = q.last_day
    daily_from: date | None = q.first_day
    if q.uses_monthly:
        params["monthly_before"] = q.monthly_before
        daily_from = max(q.first_day or q.monthly_before, q.monthly_before)
        if q.first_day is not None:
            monthly.append("month >= date_trunc('month', $first_day)")
            params["first_day"] = q.first_day
    if daily_from is not None:
        daily.append("day >= $daily_from")
        params["daily_from"] = daily_from
    return " AND ".join(daily), " AND ".join(monthly)


def _daily_rollup(kind: str, dims: Sequence[str], filters: str) -> str:
    """The daily rollup a report side reads: the endpoint side without groups or filters reads one row per day
    (store/duckdb/totals.py) instead of one per combination of dimensions."""
    if kind == "endpoint" and not dims and not filters:
        return TOTALS
    return f"rollup_{kind}_daily"


def _part(q: ReportQuery, kind: str, columns: Sequence[str], dims: Sequence[str], params: dict[str, Any],
          filters: str) -> str:
    """One aggregated CTE body (endpoint or project rollups) with bucket, first_day, dims, sums."""
    daily_where, monthly_where = _range_sql(q, params)
    inner_cols = ", ".join([*(f"{_dimension_sql(d)} AS {d}" for d in dims), *columns])
    inner_cols = f", {inner_cols}" if inner_cols else ""
    source = f"SELECT day{inner_cols} FROM {_daily_rollup(kind, dims, filters)} WHERE {daily_where}"
    if q.uses_monthly:
        source += f" UNION ALL SELECT month AS day{inner_cols} FROM rollup_{kind}_monthly WHERE {monthly_where}"
    groups = "".join(f", {d}" for d in q.group_by) if kind == "endpoint" else ""
    sums = "".join(f", coalesce(sum({c}), 0) AS {c}" for c in columns)
    where = f" WHERE {filters}" if filters else ""
    return (f"SELECT {_BUCKETS[q.interval]} AS bucket, min(day) AS first_day{groups}{sums} "
            f"FROM ({source}) src{where} GROUP BY ALL HAVING count(*) > 0")  # no row for an empty range


def _filters_sql(q: ReportQuery, params: dict[str, Any]) -> str:
    clauses = []
    for i, (column, values) in enumerate(q.filters):
        names = []
        for j, value in enumerate(values):
            params[f"f{i}_{j}"] = value
            names.append(f"$f{i}_{j}")
        clauses.append(f"{column} IN ({', '.join(names)})" if names else "FALSE")
    return " AND ".join(clauses)


def _fine_part(q: ReportQuery, kind: str, dims: Sequence[str], params: dict[str, Any], filters: str) -> str:
    """The endpoint CTE body of an HOURLY or MINUTE report: the buckets (epoch ms) from the one holding
    q.start_ms up to q.end_ms, exclusive (an end at a bucket's start does not open that bucket)."""
    width = 60_000 if kind == "minute" else 3_600_000
    where = ["project_id = $project_id", "bucket < $bucket_to", "bucket >= $bucket_from"]
    params["project_id"] = q.project_id
    params["bucket_to"] = q.end_ms
    params["bucket_from"] = q.start_ms - q.start_ms % width
    inner_cols = "".join(f", {c}" for c in [*(f"{_dimension_sql(d)} AS {d}" for d in dims), *q.endpoint_columns])
    source = f"SELECT bucket{inner_cols} FROM rollup_endpoint_{kind}ly WHERE {' AND '.join(where)}"
    groups = "".join(f", {d}" for d in q.group_by)
    sums = "".join(f", coalesce(sum({c}), 0) AS {c}" for c in q.endpoint_columns)
    where_f = f" WHERE {filters}" if filters else ""
    return (f"SELECT bucket, NULL::DATE AS first_day{groups}{sums} FROM ({source}) src{where_f} "
            f"GROUP BY ALL HAVING count(*) > 0")


def report_sql(q: ReportQuery, params: dict[str, Any]) -> str:
    """The report statement (rows ordered by bucket then group, paged by $limit/$offset), filling `params`."""
    dims = tuple(dict.fromkeys([*q.group_by, *(c for c, _ in q.filters)]))
    filters = _filters_sql(q, params)
    if q.fine_kind is not None:
        ep = _fine_part(q, q.fine_kind, dims, params, filters)
    else:
        ep = _part(q, "endpoint", q.endpoint_columns, dims, params, filters)
    order = ", ".join(["bucket", *(f"{d} NULLS LAST" for d in q.group_by)])
    if q.include_project:
        pr = _part(q, "project", q.project_columns, (), params, "")
        cols = "".join(f", ep.{c}" for c in q.endpoint_columns) + "".join(f", pr.{c}" for c in q.project_columns)
        body = (f"WITH ep AS ({ep}), pr AS ({pr}) SELECT coalesce(ep.bucket, pr.bucket) AS bucket, "
                f"least(ep.first_day, pr.first_day) AS first_day{cols} "
                f"FROM ep FULL OUTER JOIN pr ON ep.bucket = pr.bucket")
    else:
        body = ep
    return (f"SELECT *, count(*) OVER () AS _total, min(first_day) OVER () AS min_day FROM ({body}) r "
            f"ORDER BY {order} LIMIT $limit OFFSET $offset")


def _single_bucket_sql(q: ReportQuery, params: dict[str, Any]) -> str:
    """A report of one bucket and no groups as two ungrouped aggregates side by side, with their row
    counts: report_sql's full outer join, windows and ordering of at most one row cost DuckDB more to
    plan than to run (about 1.5 ms more CPU per request), the largest part of a small projectData."""
    endpoint = _bucket_side_sql(q, "endpoint", params)
    if not q.include_project:
        return endpoint
    return f"SELECT * FROM ({endpoint}) ep, ({_bucket_side_sql(q, 'project', params)}) pr"


def _bucket_side_sql(q: ReportQuery, kind: str, params: dict[str, Any]) -> str:
    """One side of _single_bucket_sql: its row count `_<kind>_n`, earliest day `_<kind>_first` and sums."""
    if kind == "endpoint":
        columns, dims, side_filters = q.endpoint_columns, tuple(c for c, _ in q.filters), _filters_sql(q, params)
    else:
        columns, dims, side_filters = q.project_columns, (), ""
    daily_where, monthly_where = _range_sql(q, params)
    sums = "".join(f", coalesce(sum({c}), 0) AS {c}" for c in columns)
    head = f"SELECT count(*) AS _{kind}_n, min(day) AS _{kind}_first{sums}"
    daily = _daily_rollup(kind, dims, side_filters)
    if not q.uses_monthly and not side_filters:  # the rollup alone: a subquery costs ~0.15 ms more to plan
        return f"{head} FROM {daily} WHERE {daily_where}"
    inner = "".join(f", {c}" for c in [*(f"{_dimension_sql(d)} AS {d}" for d in dims), *columns])
    source = f"SELECT day{inner} FROM {daily} WHERE {daily_where}"
    if q.uses_monthly:
        source += f" UNION ALL SELECT month AS day{inner} FROM rollup_{kind}_monthly WHERE {monthly_where}"
    where = f" WHERE {side_filters}" if side_filters else ""
    return f"{head} FROM ({source}) src{where}"


def _endpoint_side(cur: Cursor, q: ReportQuery) -> Row:
    """_bucket_side_sql's endpoint row. Without filters or months its days are read from the totals and added up
    here, in the order DuckDB's sum takes them: a row per day at most, and setting up DuckDB's aggregate costs more
    than the sums (~0.2 ms of CPU of a small projectData's ~1.4: docs/benchmarks.md, "Report totals by day")."""
    params: dict[str, Any] = {}
    if q.filters or q.uses_monthly:
        return _dicts(cur.execute(_bucket_side_sql(q, "endpoint", params), params))[0]
    daily_where, _ = _range_sql(q, params)
    days = cur.execute(f"SELECT day{''.join(f', {c}' for c in q.endpoint_columns)} FROM {TOTALS} "
                       f"WHERE {daily_where}", params).fetchall()
    found: Row = {"_endpoint_n": len(days), "_endpoint_first": min((d[0] for d in days), default=None)}
    for i, column in enumerate(q.endpoint_columns, 1):
        found[column] = sum((d[i] for d in days), 0.0)  # coalesce(sum(x), 0)
    return found


def _single_bucket_rows(cur: Cursor, q: ReportQuery) -> list[Row]:
    """The row (or none) report_sql gives for one bucket and no groups, with the same keys and values."""
    params: dict[str, Any] = {}
    if q.include_project and not q.project_columns and not q.uses_monthly and q.first_day is not None:
        # The project side adds no column, only whether the row exists and its first day; an endpoint row on the
        # range's first day settles both (the project rows lie in the range too), and its scan is skipped: about
        # a third of the statement's CPU (0.45-0.6 ms of 1.6-1.7 for a small project's week).
        found = _endpoint_side(cur, q)
        if found["_endpoint_n"] and found["_endpoint_first"] == q.first_day:
            return single_bucket_rows({**found, "_project_n": 0, "_project_first": None}, q)
        params = {}
        found.update(_dicts(cur.execute(_bucket_side_sql(q, "project", params), params))[0])
        return single_bucket_rows(found, q)
    return single_bucket_rows(_dicts(cur.execute(_single_bucket_sql(q, params), params))[0], q)


def project_report(cur: Cursor, q: ReportQuery) -> tuple[list[Row], int]:
    """One page of report rows and the total number of rows.

    Each row: bucket (DATE), first_day (earliest day with data in the row),
    min_day (earliest over all rows), the grouped dimensions and the sums."""
    if q.interval is None and not q.group_by:  # one bucket, no groups: at most one row
        everything = _single_bucket_rows(cur, q)
        page = everything[q.offset:q.offset + q.limit]
        return (page, len(everything)) if page or q.offset else ([], 0)
    params: dict[str, Any] = {"limit": q.limit, "offset": q.offset}
    sql = report_sql(q, params)
    rows = _dicts(cur.execute(sql, params))
    if rows:
        return rows, int(rows[0]["_total"])
    if q.offset == 0:
        return [], 0
    # A page past the end still reports the total.
    params["limit"], params["offset"] = 1, 0
    first = _dicts(cur.execute(sql, params))
    return [], int(first[0]["_total"]) if first else 0


# -- sessions ---------------------------------------------------------------

SESSION_COLUMNS = ("session_id", "media_mode", "created_at", "last_seen_at", "meeting_count",
                   "publisher_minutes", "subscriber_minutes", *TIER_COLUMNS)
MEETING_COLUMNS = ("session_id", "meeting_index", "meeting_id", "created_at", "destroyed_at",
                   "publisher_minutes", "subscriber_minutes", "max_concurrent_connections",
                   "max_concurrent_streams", "max_concurrent_subscribers", "total_connections",
                   "total_streams", "total_subscribers", *TIER_COLUMNS)
CONNECTION_COLUMNS = ("session_id", "meeting_index", "connection_id", "created_at", "destroyed_at", "guid",
                      "country", "region", "city", "browser", "browser_version", "device_model", "user_agent",
                      "sdk_type", "sdk_version")
PUBLISHER_COLUMNS = ("session_id", "meeting_index", "stream_id", "connection_id", "created_at", "destroyed_at",
                     "ended_at", "video_type", "has_audio", "has_video")
SUBSCRIBER_COLUMNS = ("session_id", "meeting_index", "subscriber_id", "stream_id", "connection_id", "created_at",
                      "destroyed_at", "ended_at")
STATS_COLUMNS = ("ts", "has_audio", "has_video", "audio_codec", "video_codec", "audio_latency_ms",
                 "video_latency_ms", "audio_bitrate_kbps", "video_bitrate_kbps", "audio_packet_loss",
                 "video_packet_loss", "video_resolution", "subscribe_to_audio", "subscribe_to_video",
                 "jitter_ms", "round_trip_ms", "frame_rate", "freeze_count", "quality_limitation_reason",
                 "available_outgoing_bitrate_kbps")
# Publisher attributes a subscriber's Stream shows.
_STREAM_OF_SUBSCRIBER = ("video_type", "has_audio", "has_video")
_SUBSCRIBER_SELECT = (*SUBSCRIBER_COLUMNS, *(f"s.{c}" for c in _STREAM_OF_SUBSCRIBER))


def _dicts(result: Any) -> list[Row]:
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


@contextlib.contextmanager
def _session_rows(cur: Cursor, tables: dict[str, tuple[str, str]], session_ids: Sequence[str]) -> Iterator[None]:
    """Register, as each alias, the rows of (table, columns) that belong to these sessions.

    DuckDB uses a table's ART index on session_id only for a lone `session_id IN (...)`
    predicate; with any other filter (project, type, a join) it scans the whole table. So the
    rows are fetched first with that predicate alone, and the real query runs over them. (The raw
    tables have no index, schema.RAW_TABLES: for stats_samples this is one scan.)"""
    ids = sorted(set(session_ids))
    try:
        for alias, (table, columns) in tables.items():
            sql = f"SELECT {columns} FROM {table} WHERE session_id IN (SELECT unnest($ids::VARCHAR[]))"
            cur.register(alias, cur.sql(sql, params={"ids": ids}).to_arrow_table())
        yield
    finally:
        for alias in tables:
            cur.unregister(alias)


def _fetched(columns: Sequence[str]) -> str:
    """The columns a session-rows fetch reads: those the statement over it uses, not `*` (every column
    costs a row-by-row fetch through the session_id index)."""
    return ", ".join(dict.fromkeys(("project_id", "session_id", *columns)))


def _select(columns: Sequence[str], alias: str = "t") -> str:
    """Columns of `alias`; already qualified ones ("s.video_type") are kept as they are."""
    return ", ".join(c if "." in c else f"{alias}.{c}" for c in columns)


def sessions_by_ids(cur: Cursor, project_id: str, session_ids: Sequence[str]) -> list[Row]:
    with _session_rows(cur, {"cand_sessions": ("sessions", _fetched(SESSION_COLUMNS))}, session_ids):
        sql = f"SELECT {_select(SESSION_COLUMNS)} FROM cand_sessions t WHERE t.project_id = $p"
        return _dicts(cur.execute(sql, {"p": project_id}))


def session_summaries(cur: Cursor, project_id: str, start_ms: int, end_ms: int, offset: int,
                      limit: int, *, worst_first: bool = False, issue_type: str | None = None,
                      min_score: float | None = None, max_score: float | None = None) -> tuple[list[Row], int]:
    """Sessions with a meeting created in [start_ms, end_ms], oldest session first.

    Quality options (docs/quality.md): `worst_first` orders by the session score, lowest first (unscored
    sessions last); `issue_type` keeps sessions with such an issue; min/max bound the session score
    (unscored sessions then drop out)."""
    params: dict[str, Any] = {"p": project_id, "start": start_ms, "end": end_ms, "limit": limit, "offset": offset}
    where = ""
    if issue_type is not None:
        where += (" AND t.session_id IN (SELECT session_id FROM quality_issues "
                  "WHERE project_id = $p AND issue_type = $issue)")
        params["issue"] = issue_type
    if min_score is not None:
        where += " AND q.score >= $min_score"
        params["min_score"] = min_score
    if max_score is not None:
        where += " AND q.score <= $max_score"
        params["max_score"] = max_score
    order = "q.score ASC NULLS LAST, t.created_at, t.session_id" if worst_first else "t.created_at, t.session_id"
    sql = (f"WITH hit AS (SELECT DISTINCT session_id FROM meetings "
           f"WHERE project_id = $p AND created_at BETWEEN $start AND $end) "
           f"SELECT {_select(SESSION_COLUMNS)}, count(*) OVER () AS _total "
           f"FROM sessions t JOIN hit USING (session_id) "
           f"LEFT JOIN quality_scores q ON q.project_id = t.project_id AND q.session_id = t.session_id "
           f"AND q.level = 'session' "
           f"WHERE t.project_id = $p{where} "
           f"ORDER BY {order} LIMIT $limit OFFSET $offset")
    rows = _dicts(cur.execute(sql, params))
    if rows or offset == 0:
        return rows, int(rows[0]["_total"]) if rows else 0
    params.update(limit=1, offset=0)
    first = _dicts(cur.execute(sql, params))
    return [], int(first[0]["_total"]) if first else 0


def _children(cur: Cursor, *, source: str, columns: Sequence[str], keys: Sequence[str],
              parents: Sequence[tuple[Any, ...]], order: str, offset: int, limit: int,
              params: dict[str, Any], where: str = "", max_rows: int | None = None,
              tables: dict[str, tuple[str, str]] | None = None) -> tuple[list[Row], dict]:
    """Page `offset`..`offset+limit` of the children of every parent, in one query.

    `source` must expose the table as `t` with the key columns; `parents`
    are tuples of key values, the first being the session id. `tables` maps
    the aliases `source` reads to tables fetched first by session (_session_rows).
    Returns (page rows, {parent key: total})."""
    if not parents:
        return [], {}
    with _session_rows(cur, tables or {}, [p[0] for p in parents]):
        return _children_page(cur, source, columns, keys, parents, order, offset, limit, params, where, max_rows)


def _children_page(cur: Cursor, source: str, columns: Sequence[str], keys: Sequence[str],
                   parents: Sequence[tuple[Any, ...]], order: str, offset: int, limit: int,
                   params: dict[str, Any], where: str, max_rows: int | None) -> tuple[list[Row], dict]:
    k_cols = ", ".join(f"unnest($k{i}) AS k{i}" for i in range(len(keys)))
    join = " AND ".join(f"t.{c} = k.k{i}" for i, c in enumerate(keys))
    part = ", ".join(f"t.{c}" for c in keys)
    for i in range(len(keys)):
        params[f"k{i}"] = [p[i] for p in parents]
    params.update(lo=offset, hi=offset + limit)
    extra = f" AND {where}" if where else ""
    cap = " LIMIT $max_rows" if max_rows is not None else ""
    if max_rows is not None:
        params["max_rows"] = max_rows
    # Row 1 of every parent is kept even off-page: it carries the parent's total.
    sql = (f"WITH k AS (SELECT {k_cols}) SELECT * FROM ("
           f"SELECT {_select(columns)}, row_number() OVER w AS _rn, count(*) OVER (PARTITION BY {part}) AS _total "
           f"FROM {source} JOIN k ON {join} WHERE t.project_id = $p{extra} "
           f"WINDOW w AS (PARTITION BY {part} ORDER BY {order})) "
           f"WHERE (_rn > $lo AND _rn <= $hi) OR _rn = 1 ORDER BY {', '.join(keys)}, _rn{cap}")
    rows: list[Row] = []
    totals: dict[tuple[Any, ...], int] = {}
    for row in _dicts(cur.execute(sql, params)):
        key = tuple(row[c] for c in keys)
        totals[key] = row["_total"]
        if offset < row["_rn"] <= offset + limit:
            rows.append(row)
    return rows, totals


def meetings_of_sessions(cur: Cursor, project_id: str, session_ids: Sequence[str], offset: int, limit: int, *,
                         start_ms: int | None = None, end_ms: int | None = None, meeting_id: str | None = None,
                         max_rows: int | None = None) -> tuple[list[Row], dict]:
    params: dict[str, Any] = {"p": project_id}
    where = []
    if start_ms is not None:
        where.append("t.created_at >= $start")
        params["start"] = start_ms
    if end_ms is not None:
        where.append("t.created_at <= $end")
        params["end"] = end_ms
    if meeting_id is not None:
        where.append("t.meeting_id = $meeting_id")
        params["meeting_id"] = meeting_id
    return _children(cur, source="cand_meetings t", columns=MEETING_COLUMNS, keys=("session_id",),
                     parents=[(s,) for s in session_ids], order="t.meeting_index", offset=offset, limit=limit,
                     params=params, where=" AND ".join(where), max_rows=max_rows,
                     tables={"cand_meetings": ("meetings", _fetched(MEETING_COLUMNS))})


def _entities(cur: Cursor, project_id: str, table: str, keys: tuple[str, str], parents: Sequence[tuple[Any, ...]],
              offset: int, limit: int, max_rows: int | None) -> tuple[list[Row], dict]:
    """Connections, publishers or subscribers of many parents, by creation time."""
    if table == "subscribers":
        # Subscribers come with the attributes of the stream they receive.
        attrs = ", ".join(f"any_value({c}) AS {c}" for c in _STREAM_OF_SUBSCRIBER)
        source = (f"cand_subscribers t LEFT JOIN (SELECT session_id, stream_id, {attrs} FROM cand_publishers "
                  f"WHERE project_id = $p GROUP BY ALL) s "
                  f"ON s.session_id = t.session_id AND s.stream_id = t.stream_id")
        tables = {"cand_subscribers": ("subscribers", _fetched(SUBSCRIBER_COLUMNS)),
                  "cand_publishers": ("publishers", _fetched(("stream_id", *_STREAM_OF_SUBSCRIBER)))}
    else:
        source = f"cand_{table} t"
        tables = {f"cand_{table}": (table, _fetched(_ENTITY[table][0]))}
    columns, id_column = _ENTITY[table]
    return _children(cur, source=source, columns=columns, keys=keys, parents=parents,
                     order=f"t.created_at, t.{id_column}", offset=offset, limit=limit,
                     params={"p": project_id}, max_rows=max_rows, tables=tables)


_NARROW_STATS_SPAN_MS = 6 * 3_600_000

_ENTITY: dict[str, tuple[tuple[str, ...], str]] = {
    "connections": (CONNECTION_COLUMNS, "connection_id"),
    "publishers": (PUBLISHER_COLUMNS, "stream_id"),
    "subscribers": (_SUBSCRIBER_SELECT, "subscriber_id"),
}
_MEETING_KEY = ("session_id", "meeting_index")
_CONNECTION_KEY = ("session_id", "connection_id")


def connections_of_meetings(cur: Cursor, project_id: str, meetings: Sequence[tuple[str, int]], offset: int,
                            limit: int, *, max_rows: int | None = None) -> tuple[list[Row], dict]:
    return _entities(cur, project_id, "connections", _MEETING_KEY, meetings, offset, limit, max_rows)


def publishers_of_meetings(cur: Cursor, project_id: str, meetings: Sequence[tuple[str, int]], offset: int,
                           limit: int, *, max_rows: int | None = None) -> tuple[list[Row], dict]:
    return _entities(cur, project_id, "publishers", _MEETING_KEY, meetings, offset, limit, max_rows)


def publishers_of_connections(cur: Cursor, project_id: str, connections: Sequence[tuple[str, str]], offset: int,
                              limit: int, *, max_rows: int | None = None) -> tuple[list[Row], dict]:
    return _entities(cur, project_id, "publishers", _CONNECTION_KEY, connections, offset, limit, max_rows)


def subscribers_of_meetings(cur: Cursor, project_id: str, meetings: Sequence[tuple[str, int]], offset: int,
                            limit: int, *, max_rows: int | None = None) -> tuple[list[Row], dict]:
    return _entities(cur, project_id, "subscribers", _MEETING_KEY, meetings, offset, limit, max_rows)


def subscribers_of_connections(cur: Cursor, project_id: str, connections: Sequence[tuple[str, str]], offset: int,
                               limit: int, *, max_rows: int | None = None) -> tuple[list[Row], dict]:
    return _entities(cur, project_id, "subscribers", _CONNECTION_KEY, connections, offset, limit, max_rows)


def subscribers_of_streams(cur: Cursor, project_id: str, streams: Sequence[tuple[str, str]], offset: int,
                           limit: int, *, max_rows: int | None = None) -> tuple[list[Row], dict]:
    return _entities(cur, project_id, "subscribers", ("session_id", "stream_id"), streams, offset, limit, max_rows)


def _windowed_stats_sql(cur: Cursor, project_id: str, session_ids: Sequence[str], ts_range: tuple[int, int],
                        columns: str, max_windows: int) -> tuple[str, dict[str, Any]] | None:
    """The samples of these sessions: those moved into session order (store/duckdb/compaction.py) by their key, the
    others as one ts-bounded scan per session (its bounds in session_bounds, within ts_range), so zone maps skip all
    but a row group or two each (a third less CPU than fetching scattered rows one by one through the session_id
    index the samples had until schema 17), and the moved sessions' keys a few times less again. None when more than
    `max_windows` sessions need a ts-bounded scan (one scan of every sample answers sooner then).

    session_bounds covers only the samples folded in up to meta folded_seq (store/duckdb/folding.py), read in the same
    statement as the bounds; newer rows (seq above it) are read apart, from the newest row groups, and
    so are all the rows of a session without bounds (rows inserted around the store, as tests do). A moved session's
    rows committed after its pass (seq above compacted_seq) were not moved: its ts window reads those."""
    ids = sorted(set(session_ids))
    rows = cur.execute(  # by id alone, as a literal list: through the session_id index (with the project
        # as well, session_bounds was read whole: 21.8 ms of CPU for 50 sessions at 223,000, now 4.8)
        "SELECT b.project_id, b.session_id, b.first_ts, b.last_ts, b.skey, b.compacted_seq, b.last_seq, "
        f"{FOLDED_SQL} FROM session_bounds b WHERE b.session_id IN ({string_list(ids)})"
    ).fetchall()
    found = [row[1:] for row in rows if row[0] == project_id]
    watermark = found[0][-1] if found and found[0][-1] is not None else None
    if watermark is None:
        stored = first_row(cur.execute(f"SELECT {FOLDED_SQL}"))
        watermark = stored[0] if stored and stored[0] is not None else 0
    bounded = sorted(row[0] for row in found)
    unbounded = sorted(set(ids) - set(bounded))  # no bounds (written around the store): all their rows
    params: dict[str, Any] = {k: v for k, v in (("bounded", bounded), ("unbounded", unbounded)) if v}
    parts = []
    if bounded:
        parts.append(f"SELECT {columns} FROM stats_samples WHERE seq > {int(watermark):d} "
                     f"AND session_id IN (SELECT unnest($bounded::VARCHAR[]))")
    if unbounded:
        parts.append(f"SELECT {columns} FROM stats_samples WHERE session_id IN (SELECT unnest($unbounded::VARCHAR[]))")
    keys, windows = [], 0
    for i, (session_id, first_ts, last_ts, skey, compacted_seq, last_seq, _) in enumerate(found):
        after = ""  # the window's rows: all of them, or those committed after the session's samples were moved
        if skey:
            keys.append(int(skey))
            if last_seq is None or last_seq <= compacted_seq:
                continue
            after = f"AND seq > {int(compacted_seq):d} "
        lo, hi = max(first_ts, ts_range[0]), min(last_ts, ts_range[1])
        if lo <= hi:  # literal bounds: zone maps only prune on constants
            windows += 1
            if windows > max_windows:
                return None
            parts.append(f"SELECT {columns} FROM stats_samples WHERE ts BETWEEN {int(lo):d} AND {int(hi):d} "
                         f"{after}AND seq <= {int(watermark):d} AND session_id = $s{i}")
            params[f"s{i}"] = session_id
    keys.sort()
    for at in range(0, len(keys), KEYS_PER_SCAN):  # a join on few keys: DuckDB turns them into a zone-map filter
        listed = ", ".join(str(k) for k in keys[at:at + KEYS_PER_SCAN])
        parts.append(f"SELECT {columns} FROM stats_samples WHERE skey IN (SELECT unnest([{listed}]))")
    return " UNION ALL ".join(parts), params


# Each session read by its ts window (not yet moved into session order, or with samples since) adds a scan to plan and
# run, so past some count one scan of all the samples wins; a moved session's key costs little. On bench_api's store
# (34.6 million samples), a read of N far-apart sessions' publisher stats, windows / one scan: samples as appended,
# CPU (wall) 250: 1.09 (0.93) / 2.36 (1.22) s, 400: 1.79 (1.53) / 2.45 (1.28) s; moved (by key) 250: 0.18 / 2.3 s of
# CPU, 1,000: 0.66 / 2.6 s (docs/benchmarks.md, "Far-apart sessions' stats"). The scan grows with the store, the
# windows with the sessions.
_STATS_MAX_WINDOWS = 300


def _stats(cur: Cursor, project_id: str, kind: str, id_column: str, parents: Sequence[tuple[str, str]],
           ts_range: tuple[int, int], offset: int, limit: int, max_rows: int | None,
           columns: Sequence[str] | None) -> tuple[list[Row], dict]:
    params: dict[str, Any] = {"p": project_id, "type": kind, "ts_from": ts_range[0], "ts_to": ts_range[1]}
    # Parents close in time: the ts bounds let zone maps skip most of the table. Far apart: the moved sessions by key
    # and a ts-bounded scan per other session (up to _STATS_MAX_WINDOWS of those), or one scan for the samples of all
    # their sessions (the samples have no index: schema.RAW_TABLES; DuckDB did not use the one they had until
    # version 17 here either).
    narrow = ts_range[1] - ts_range[0] <= _NARROW_STATS_SPAN_MS
    wanted = selected_columns(columns, STATS_COLUMNS)
    needed = _fetched(("type", "ts", "event_id", id_column, *wanted))
    sessions = {p[0] for p in parents}
    windowed = None
    if parents and not narrow:
        windowed = _windowed_stats_sql(cur, project_id, list(sessions), ts_range, needed, _STATS_MAX_WINDOWS)
    if windowed is not None:
        sql, window_params = windowed
        cur.register("cand_stats", cur.sql(sql, params=window_params).to_arrow_table())
        try:
            return _children_page(cur, "cand_stats t", (*wanted, "session_id", id_column),
                                  ("session_id", id_column), parents, "t.ts, t.event_id", offset, limit, params,
                                  "t.type = $type AND t.ts BETWEEN $ts_from AND $ts_to", max_rows)
        finally:
            cur.unregister("cand_stats")
    return _children(cur, source="stats_samples t" if narrow else "cand_stats t",
                     columns=(*wanted, "session_id", id_column),
                     keys=("session_id", id_column), parents=parents, order="t.ts, t.event_id",
                     offset=offset, limit=limit, params=params,
                     where="t.type = $type AND t.ts BETWEEN $ts_from AND $ts_to", max_rows=max_rows,
                     tables=None if narrow else {"cand_stats": ("stats_samples", needed)})


def publisher_stats(cur: Cursor, project_id: str, streams: Sequence[tuple[str, str]], ts_range: tuple[int, int],
                    offset: int, limit: int, *, max_rows: int | None = None,
                    columns: Sequence[str] | None = None) -> tuple[list[Row], dict]:
    """publisherStats samples of streams (session_id, stream_id) taken within ts_range; each row holds
    session_id, stream_id and the STATS_COLUMNS in `columns` (all when None)."""
    return _stats(cur, project_id, "publisherStats", "stream_id", streams, ts_range, offset, limit, max_rows,
                  columns)


def subscriber_stats(cur: Cursor, project_id: str, subscribers: Sequence[tuple[str, str]],
                     ts_range: tuple[int, int], offset: int, limit: int, *,
                     max_rows: int | None = None, columns: Sequence[str] | None = None) -> tuple[list[Row], dict]:
    """subscriberStats samples of subscribers (session_id, subscriber_id) taken within ts_range; rows as
    publisher_stats's."""
    return _stats(cur, project_id, "subscriberStats", "subscriber_id", subscribers, ts_range, offset, limit,
                  max_rows, columns)


# -- quality (docs/quality.md) --------------------------------------------------

def quality_scores(cur: Cursor, project_id: str, level: str, session_ids: Sequence[str]) -> list[Row]:
    """Score rows of one level for these sessions (one statement for a whole GraphQL level)."""
    if not session_ids:
        return []
    return _dicts(cur.execute(
        "SELECT session_id, entity_id, samples, scored_ms, score, score_p10 FROM quality_scores "
        "WHERE project_id = $p AND level = $level AND session_id IN (SELECT unnest($s))",
        {"p": project_id, "level": level, "s": list(dict.fromkeys(session_ids))}))


# named, not `*`: the table also has write_seq (derivation's), which a file not yet migrated lacks
_ISSUE_COLUMNS = ("project_id, session_id, meeting_index, issue_type, entity_kind, entity_id, connection_id, start_ts, "
                  "end_ts, metric, value, threshold, samples")


def quality_issues(cur: Cursor, project_id: str, session_ids: Sequence[str]) -> list[Row]:
    """Every issue of these sessions, by start time."""
    if not session_ids:
        return []
    return _dicts(cur.execute(
        f"SELECT {_ISSUE_COLUMNS} FROM quality_issues WHERE project_id = $p AND session_id IN (SELECT unnest($s)) "
        "ORDER BY session_id, start_ts, issue_type, entity_id",
        {"p": project_id, "s": list(dict.fromkeys(session_ids))}))


def score_distribution(cur: Cursor, project_id: str, ranges: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Scored sessions per score bucket, for each [lo, hi) range of `last_seen_at` (epoch ms), in one statement.

    Returns one list of len(SCORE_BOUNDS) counts per range, in the order of `ranges` (buckets as in
    domain/quality.py: above the previous bound, at most the bound)."""
    if not ranges:
        return []
    cases = " ".join(f"WHEN q.score <= {bound} THEN {i}" for i, bound in enumerate(SCORE_BOUNDS[:-1]))
    last = len(SCORE_BOUNDS) - 1
    sql = ("WITH r AS (SELECT unnest($lo) AS lo, unnest($hi) AS hi, unnest($idx) AS idx) "
           f"SELECT r.idx, CASE {cases} ELSE {last} END AS bucket, count(*) AS sessions "
           "FROM quality_scores q JOIN sessions s ON s.project_id = q.project_id AND s.session_id = q.session_id "
           "JOIN r ON s.last_seen_at >= r.lo AND s.last_seen_at < r.hi "
           "WHERE q.project_id = $p AND q.level = 'session' AND s.project_id = $p GROUP BY ALL")
    params = {"p": project_id, "lo": [lo for lo, _ in ranges], "hi": [hi for _, hi in ranges],
              "idx": list(range(len(ranges)))}
    counts = [[0] * len(SCORE_BOUNDS) for _ in ranges]
    for idx, bucket, sessions in cur.execute(sql, params).fetchall():
        counts[idx][bucket] = int(sessions)
    return counts
