"""Every read statement of the Insights API, in ClickHouse SQL: the same functions, arguments and rows as
store/duckdb/reads.py (the query layer cannot tell the backends apart; tests/query/test_backends_equal.py
compares them answer by answer).

What differs from DuckDB, and why:
- Parameters are ClickHouse's `{name:Type}`; children of many parents are picked with
  `(key...) IN {keys:Array(Tuple(...))}` instead of a joined list of keys.
- Outer joins run with `join_use_nulls = 1`: a missing side is NULL, as in SQL (ClickHouse's default
  fills it with the type's default value).
- Rows of a session are read with `project_id` and `session_id` in the WHERE clause: that is the sort key
  of every per-session table, so ClickHouse reads only those granules (DuckDB needs its ART index trick).
- Raw stats samples are read `LIMIT 1 BY event_id`: two processes racing to insert the same new event
  can both store it (store/clickhouse/store.py), and the API must still show it once.
- Reports read the rollups' stored sums (store/clickhouse/schema.py) rather than their views: only the
  columns asked for, grouped by the dimensions used (`_live`). The views list every measure, and
  planning a statement with a hundred sums costs chdb more CPU than running it on a day's rows.

Rows come back as dicts keyed by column name, with DuckDB's Python types (a count is an int either way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from videoinsights.domain.quality import SCORE_BOUNDS
from videoinsights.query.report import KNOWN_VALUES, ReportQuery
from videoinsights.store.duckdb.reads import (  # the column lists are the API's, not DuckDB's
    CONNECTION_COLUMNS,
    MEETING_COLUMNS,
    PUBLISHER_COLUMNS,
    SESSION_COLUMNS,
    STATS_COLUMNS,
    SUBSCRIBER_COLUMNS,
)
from videoinsights.store.portable import selected_columns, single_bucket_rows

Row = dict[str, Any]
Cursor = Any  # a store/clickhouse/client.py Client
JOIN_NULLS = " SETTINGS join_use_nulls = 1"
# Parameter types of the key columns children are picked by.
_KEY_TYPES = {"session_id": "String", "meeting_index": "Int32", "connection_id": "String", "stream_id": "String",
              "subscriber_id": "String"}
_STREAM_OF_SUBSCRIBER = ("video_type", "has_audio", "has_video")
_SUBSCRIBER_SELECT = (*SUBSCRIBER_COLUMNS, *(f"s.{c}" for c in _STREAM_OF_SUBSCRIBER))

__all__ = ["CONNECTION_COLUMNS", "MEETING_COLUMNS", "PUBLISHER_COLUMNS", "SESSION_COLUMNS", "STATS_COLUMNS",
           "SUBSCRIBER_COLUMNS"]


def rows_of(cur: Cursor, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
    return cur.query_arrow(sql, params).to_pylist()  # type: ignore[no-any-return]


# -- projectData ------------------------------------------------------------

def _dimension_sql(column: str, stored: str | None = None) -> str:
    """The dimension as reported: values the API cannot name become OTHER or NULL. `stored` is the SQL of its
    stored value when that is not the column's bare name."""
    stored = stored or column
    known = KNOWN_VALUES.get(column)
    if known is None:
        return stored
    values, fallback = known
    listed = ", ".join(f"'{v}'" for v in values)
    other = f"'{fallback}'" if fallback else "NULL"
    return f"CASE WHEN {stored} IS NULL THEN NULL WHEN {stored} IN ({listed}) THEN {stored} ELSE {other} END"


_BUCKETS = {
    "DAILY": "day",
    "WEEKLY": "toMonday(day)",
    "MONTHLY": "toStartOfMonth(day)",
    None: "toDate('1970-01-01')",
}


def _range_sql(q: ReportQuery, params: dict[str, Any]) -> tuple[str, str]:
    """WHERE clauses for the daily and the monthly part of a report."""
    daily = ["project_id = {project_id:String}", "day <= {last_day:Date}"]
    monthly = ["project_id = {project_id:String}", "month < {monthly_before:Date}", "month <= {last_day:Date}"]
    params["project_id"] = q.project_id
    params["last_day"] = q.last_day
    daily_from = q.first_day
    if q.uses_monthly:
        params["monthly_before"] = q.monthly_before
        daily_from = max(q.first_day or q.monthly_before, q.monthly_before)
        if q.first_day is not None:
            monthly.append("month >= toStartOfMonth({first_day:Date})")
            params["first_day"] = q.first_day
    if daily_from is not None:
        daily.append("day >= {daily_from:Date}")
        params["daily_from"] = daily_from
    return " AND ".join(daily), " AND ".join(monthly)


def _live(sums: str, time: str, alias: str, where: str, dims: Sequence[str], columns: Sequence[str], *,
          raw: bool = False) -> str:
    """The rows of a rollup's sums table (not yet merged: several per key) summed by time and the dimensions
    used, keeping the groups with a live contribution (sum(contributions) > 0: a group whose contributions
    were all retracted has none), as a SELECT of `<time> AS alias, dims..., measures...` (the dimensions
    named `_raw(d)` with `raw`)."""
    keys = ", ".join([time, *dims])
    named = "".join(f", {d} AS {_raw(d)}" if raw else f", {d}" for d in dims)
    sums_sql = "".join(f", sum({c}) AS {c}" for c in columns)
    return (f"SELECT {time} AS {alias}{named}{sums_sql} FROM {sums} WHERE {where} "
            f"GROUP BY {keys} HAVING sum(contributions) > 0")


def _raw(column: str) -> str:
    """A dimension's stored value where a report maps it: an alias named as the column it is computed from
    would refer to itself."""
    return f"_raw_{column}"


def _summed(sums: str, time: str, alias: str, where: str, dims: Sequence[str], columns: Sequence[str]) -> str:
    """A SELECT of `alias, dims (as reported)..., measures...` from `_live`: without dimensions `_live` itself
    (each nested SELECT costs chdb milliseconds to plan), else the dimensions mapped around it."""
    if not dims:
        return _live(sums, time, alias, where, dims, columns)
    inner = "".join(f", {c}" for c in [*(f"{_dimension_sql(d)} AS {d}" for d in dims), *columns])
    return f"SELECT {alias}{inner} FROM ({_live(sums, time, alias, where, dims, columns)})"


def _filters_sql(q: ReportQuery, params: dict[str, Any], expr: Callable[[str], str] = str) -> str:
    """The filters as one condition, each on `expr(column)` (the dimension as stored, or as reported)."""
    clauses = []
    for i, (column, values) in enumerate(q.filters):
        names = []
        for j, value in enumerate(values):
            params[f"f{i}_{j}"] = value
            names.append(f"{{f{i}_{j}:String}}")
        clauses.append(f"{expr(column)} IN ({', '.join(names)})" if names else "0")
    return " AND ".join(clauses)


_NO_DAY = "CAST(NULL AS Nullable(Date))"  # the first day of an hourly or minute report's rows


def _fine_range_sql(q: ReportQuery, params: dict[str, Any]) -> str:
    """The WHERE clause of an HOURLY or MINUTE report: the buckets from the one holding start_ms to end_ms."""
    width = 60_000 if q.fine_kind == "minute" else 3_600_000
    params["project_id"] = q.project_id
    params["bucket_to"] = q.end_ms
    params["bucket_from"] = q.start_ms - q.start_ms % width
    return "project_id = {project_id:String} AND bucket < {bucket_to:Int64} AND bucket >= {bucket_from:Int64}"


def _flat(q: ReportQuery) -> bool:
    """Whether the live rows of the rollup's sums are the report's rows as they are: a bucket is one day, hour
    or minute, and every dimension used is grouped by and reported as stored (not in KNOWN_VALUES).
    Re-aggregating them would group them one by one, and a nested SELECT costs chdb milliseconds to plan."""
    used = {c for c, _ in q.filters} | set(q.group_by)
    return q.interval in ("DAILY", "HOURLY", "MINUTE") and used == set(q.group_by) and not used & KNOWN_VALUES.keys()


def _flat_part(q: ReportQuery, kind: str, columns: Sequence[str], params: dict[str, Any], extra: str = "") -> str:
    """A part of a `_flat` report in one SELECT of its sums (`_live`, the filters in its WHERE) as
    `bucket, first_day, groups..., measures..., extra...`."""
    if q.fine_kind is not None:
        sums, time, first = f"rollup_endpoint_{q.fine_kind}ly_sums", "bucket", _NO_DAY
        where = _fine_range_sql(q, params)
    else:
        sums, time, first = f"rollup_{kind}_daily_sums", "day", "day"
        where = _range_sql(q, params)[0]
    filters = _filters_sql(q, params) if kind == "endpoint" else ""
    groups = "".join(f", {d}" for d in q.group_by) if kind == "endpoint" else ""
    measures = "".join(f", coalesce(sum({c}), 0) AS {c}" for c in columns)
    return (f"SELECT {time} AS bucket, {first} AS first_day{groups}{measures}{extra} FROM {sums} "
            f"WHERE {where}{f' AND {filters}' if filters else ''} GROUP BY {time}{groups} "
            "HAVING sum(contributions) > 0")


def _mapped_part(q: ReportQuery, kind: str, columns: Sequence[str], params: dict[str, Any], extra: str = "") -> str:
    """A part of any report as `bucket, first_day, groups..., measures..., extra...`: the rollup's live rows
    (`_live`, the dimensions as stored), summed by bucket and by the dimensions as reported, filtered on those."""
    dims = tuple(dict.fromkeys([*q.group_by, *(c for c, _ in q.filters)])) if kind == "endpoint" else ()
    if q.fine_kind is not None:
        source = _live(f"rollup_endpoint_{q.fine_kind}ly_sums", "bucket", "bucket", _fine_range_sql(q, params),
                       dims, columns, raw=True)
        bucket, first = "bucket", _NO_DAY
    else:
        daily_where, monthly_where = _range_sql(q, params)
        source = _live(f"rollup_{kind}_daily_sums", "day", "day", daily_where, dims, columns, raw=True)
        if q.uses_monthly:
            source += " UNION ALL " + _live(f"rollup_{kind}_monthly_sums", "month", "day", monthly_where, dims,
                                            columns, raw=True)
        bucket, first = _BUCKETS[q.interval], "min(day)"
    mapped = {d: _dimension_sql(d, _raw(d)) for d in dims}
    filters = _filters_sql(q, params, mapped.__getitem__) if dims else ""
    groups = "".join(f", {mapped[d]} AS {d}" for d in q.group_by if d in mapped)
    keys = "".join(f", {d}" for d in q.group_by if d in mapped)
    measures = "".join(f", coalesce(sum({c}), 0) AS {c}" for c in columns)
    return (f"SELECT {bucket} AS bucket, {first} AS first_day{groups}{measures}{extra} FROM ({source}) src"
            f"{f' WHERE {filters}' if filters else ''} GROUP BY bucket{keys} HAVING count() > 0")  # no row if empty


def report_sql(q: ReportQuery, params: dict[str, Any]) -> str:
    """The report statement (rows ordered by bucket then group, paged by limit/offset), filling `params`.
    Without the project's measures it is the endpoint part's SELECT itself, with the windows and the page."""
    part = _flat_part if _flat(q) else _mapped_part
    order = ", ".join(["bucket", *(f"{d} NULLS LAST" for d in q.group_by)])
    page = f" ORDER BY {order} LIMIT {{limit:UInt64}} OFFSET {{offset:UInt64}}"
    if not q.include_project:
        if q.fine_kind is not None:
            first = _NO_DAY
        else:  # the earliest day of all rows: the key itself in one SELECT, each row's min(day) around _live
            first = "min(day) OVER ()" if part is _flat_part else "min(min(day)) OVER ()"
        windows = f", count() OVER () AS _total, {first} AS min_day"
        return part(q, "endpoint", q.endpoint_columns, params, windows) + page
    ep = part(q, "endpoint", q.endpoint_columns, params)
    pr = part(q, "project", q.project_columns, params)
    cols = "".join(f", ep.{c} AS {c}" for c in q.endpoint_columns)
    cols += "".join(f", pr.{c} AS {c}" for c in q.project_columns)
    # least() skips NULLs on both engines: a bucket one side lacks keeps the other side's first day
    body = (f"SELECT coalesce(ep.bucket, pr.bucket) AS bucket, least(ep.first_day, pr.first_day) AS first_day{cols} "
            f"FROM ({ep}) ep FULL OUTER JOIN ({pr}) pr ON ep.bucket = pr.bucket")
    return (f"SELECT *, count() OVER () AS _total, min(first_day) OVER () AS min_day FROM ({body}) r"
            f"{page}{JOIN_NULLS}")


def _single_bucket_parts(q: ReportQuery) -> list[tuple[str, Sequence[str]]]:
    """The parts of a one-bucket report in `_part` order (0: endpoint, 1: project), with their measures."""
    return [("endpoint", q.endpoint_columns)] + ([("project", q.project_columns)] if q.include_project else [])


def _single_bucket_sql(q: ReportQuery, params: dict[str, Any]) -> str:
    """A report of one bucket and no groups as the live rows of its parts' sums (`_live`: each a day or month,
    and the filtered dimensions' values), in one UNION ALL of one-level SELECTs: `_part` (0: endpoint, 1:
    project), `day`, then every part's measures (NULL on the other part's rows). `_single_bucket_found` adds
    them up: report_sql's full outer join, windows and ordering of at most one row, or an aggregate around each
    part, cost chdb more to plan than the sums cost to run. The filters are on the dimensions as reported,
    in HAVING (the dimensions are group keys there)."""
    daily_where, monthly_where = _range_sql(q, params)
    filters = _filters_sql(q, params, _dimension_sql)
    dims = "".join(f", {d}" for d in dict.fromkeys(c for c, _ in q.filters))
    parts = _single_bucket_parts(q)
    every = [c for _, columns in parts for c in columns]
    arms = []
    for i, (kind, columns) in enumerate(parts):
        keys, filtered = (dims, filters) if kind == "endpoint" else ("", "")
        values = "".join(f", sum({c}) AS {c}" if c in columns else f", NULL AS {c}" for c in every)
        having = f"sum(contributions) > 0{f' AND {filtered}' if filtered else ''}"
        sources = [(f"rollup_{kind}_daily_sums", "day", daily_where)]
        if q.uses_monthly:
            sources.append((f"rollup_{kind}_monthly_sums", "month", monthly_where))
        arms += [f"SELECT {i} AS _part, {time} AS day{values} FROM {sums} WHERE {where} GROUP BY {time}{keys} "
                 f"HAVING {having}" for sums, time, where in sources]
    return " UNION ALL ".join(arms)


def _single_bucket_found(q: ReportQuery, rows: list[Row]) -> dict[str, Any]:
    """What single_bucket_rows takes, from `_single_bucket_sql`'s rows: per part its number of rows, earliest
    day and sums (a part without rows sums to 0, as coalesce(sum(...), 0) over none)."""
    found: dict[str, Any] = {}
    for i, (kind, columns) in enumerate(_single_bucket_parts(q)):
        mine = [r for r in rows if r["_part"] == i]
        found[f"_{kind}_n"] = len(mine)
        found[f"_{kind}_first"] = min((r["day"] for r in mine), default=None)
        for c in columns:
            found[c] = sum(r[c] for r in mine if r[c] is not None)
    return found


def project_report(cur: Cursor, q: ReportQuery) -> tuple[list[Row], int]:
    """One page of report rows and the total number of rows (as store/duckdb/reads.py)."""
    if q.interval is None and not q.group_by:  # one bucket, no groups: at most one row
        params: dict[str, Any] = {}
        found = _single_bucket_found(q, rows_of(cur, _single_bucket_sql(q, params), params))
        everything = single_bucket_rows(found, q)
        page = everything[q.offset:q.offset + q.limit]
        return (page, len(everything)) if page or q.offset else ([], 0)
    params = {"limit": q.limit, "offset": q.offset}
    sql = report_sql(q, params)
    rows = rows_of(cur, sql, params)
    if rows:
        return rows, int(rows[0]["_total"])
    if q.offset == 0:
        return [], 0
    params["limit"], params["offset"] = 1, 0
    first = rows_of(cur, sql, params)
    return [], int(first[0]["_total"]) if first else 0


# -- sessions ---------------------------------------------------------------

def _select(columns: Sequence[str], alias: str = "t") -> str:
    """Columns of `alias`, each named as itself; already qualified ones ("s.video_type") keep their alias."""
    return ", ".join(f"{c} AS {c.split('.')[-1]}" if "." in c else f"{alias}.{c} AS {c}" for c in columns)


def sessions_by_ids(cur: Cursor, project_id: str, session_ids: Sequence[str]) -> list[Row]:
    sql = (f"SELECT {_select(SESSION_COLUMNS)} FROM sessions t "
           "WHERE t.project_id = {p:String} AND t.session_id IN {ids:Array(String)}")
    return rows_of(cur, sql, {"p": project_id, "ids": sorted(set(session_ids))})


def session_summaries(cur: Cursor, project_id: str, start_ms: int, end_ms: int, offset: int,
                      limit: int, *, worst_first: bool = False, issue_type: str | None = None,
                      min_score: float | None = None, max_score: float | None = None) -> tuple[list[Row], int]:
    """Sessions with a meeting created in [start_ms, end_ms], oldest session first (see store/duckdb/reads.py)."""
    params: dict[str, Any] = {"p": project_id, "start": start_ms, "end": end_ms, "limit": limit, "offset": offset}
    where = ""
    if issue_type is not None:
        where += (" AND t.session_id IN (SELECT session_id FROM quality_issues "
                  "WHERE project_id = {p:String} AND issue_type = {issue:String})")
        params["issue"] = issue_type
    if min_score is not None:
        where += " AND q.score >= {min_score:Float64}"
        params["min_score"] = min_score
    if max_score is not None:
        where += " AND q.score <= {max_score:Float64}"
        params["max_score"] = max_score
    order = "q.score ASC NULLS LAST, t.created_at, t.session_id" if worst_first else "t.created_at, t.session_id"
    # The scores are joined only when asked for: planning the join costs chdb more than the rest of the list.
    scores = ("LEFT JOIN (SELECT session_id, score FROM quality_scores WHERE project_id = {p:String} "
              "AND level = 'session') q ON q.session_id = t.session_id "
              if worst_first or min_score is not None or max_score is not None else "")
    sql = (f"SELECT {_select(SESSION_COLUMNS)}, count() OVER () AS _total FROM sessions t {scores}"
           "WHERE t.project_id = {p:String} AND t.session_id IN (SELECT session_id FROM meetings "
           "WHERE project_id = {p:String} AND created_at BETWEEN {start:Int64} AND {end:Int64})"
           f"{where} ORDER BY {order} LIMIT {{limit:UInt64}} OFFSET {{offset:UInt64}}{JOIN_NULLS}")
    rows = rows_of(cur, sql, params)
    if rows or offset == 0:
        return rows, int(rows[0]["_total"]) if rows else 0
    params.update(limit=1, offset=0)
    first = rows_of(cur, sql, params)
    return [], int(first[0]["_total"]) if first else 0


def _of_sessions(table: str, columns: str = "*", extra: str = "") -> str:
    """The rows of `table` that belong to the parents' sessions (the sort key's prefix: a narrow read)."""
    return (f"(SELECT {columns} FROM {table} WHERE project_id = {{p:String}} "
            f"AND session_id IN {{session_ids:Array(String)}}{extra})")


def _children(cur: Cursor, *, source: str, columns: Sequence[str], keys: Sequence[str],
              parents: Sequence[tuple[Any, ...]], order: str, offset: int, limit: int,
              params: dict[str, Any], where: str = "", max_rows: int | None = None) -> tuple[list[Row], dict]:
    """Page `offset`..`offset+limit` of the children of every parent, in one query.

    `source` exposes the rows as `t` (reading `_of_sessions` subqueries); `parents` are tuples of key
    values, the first being the session id. Returns (page rows, {parent key: total})."""
    if not parents:
        return [], {}
    params["session_ids"] = sorted({p[0] for p in parents})
    if keys == ("session_id",):  # `source` reads only these sessions already
        pick = ""
    elif len(keys) == 1:
        pick = f"t.{keys[0]} IN {{k:Array({_KEY_TYPES[keys[0]]})}}"
        params["k"] = [p[0] for p in parents]
    else:
        types = ", ".join(_KEY_TYPES[k] for k in keys)
        pick = f"({', '.join(f't.{k}' for k in keys)}) IN {{k:Array(Tuple({types}))}}"
        params["k"] = [tuple(p) for p in parents]
    part = ", ".join(f"t.{c}" for c in keys)
    params.update(lo=offset, hi=offset + limit)
    conditions = " AND ".join(c for c in (pick, where) if c)
    cap = " LIMIT {max_rows:UInt64}" if max_rows is not None else ""
    if max_rows is not None:
        params["max_rows"] = max_rows
    # Row 1 of every parent is kept even off-page: it carries the parent's total. QUALIFY filters on the
    # windows in the same SELECT (an outer SELECT around it cost chdb ~3 ms more to plan).
    sql = (f"SELECT {_select(columns)}, "
           f"row_number() OVER (PARTITION BY {part} ORDER BY {order}) AS _rn, "
           f"count() OVER (PARTITION BY {part}) AS _total "
           f"FROM {source}{f' WHERE {conditions}' if conditions else ''} "
           f"QUALIFY (_rn > {{lo:UInt64}} AND _rn <= {{hi:UInt64}}) OR _rn = 1 ORDER BY {', '.join(keys)}, _rn"
           f"{cap}{JOIN_NULLS}")
    rows: list[Row] = []
    totals: dict[tuple[Any, ...], int] = {}
    for row in rows_of(cur, sql, params):
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
        where.append("t.created_at >= {start:Int64}")
        params["start"] = start_ms
    if end_ms is not None:
        where.append("t.created_at <= {end:Int64}")
        params["end"] = end_ms
    if meeting_id is not None:
        where.append("t.meeting_id = {meeting_id:String}")
        params["meeting_id"] = meeting_id
    return _children(cur, source=f"{_of_sessions('meetings')} t", columns=MEETING_COLUMNS, keys=("session_id",),
                     parents=[(s,) for s in session_ids], order="t.meeting_index", offset=offset, limit=limit,
                     params=params, where=" AND ".join(where), max_rows=max_rows)


_ENTITY: dict[str, tuple[tuple[str, ...], str]] = {
    "connections": (CONNECTION_COLUMNS, "connection_id"),
    "publishers": (PUBLISHER_COLUMNS, "stream_id"),
    "subscribers": (_SUBSCRIBER_SELECT, "subscriber_id"),
}
_MEETING_KEY = ("session_id", "meeting_index")
_CONNECTION_KEY = ("session_id", "connection_id")


def _entities(cur: Cursor, project_id: str, table: str, keys: tuple[str, ...], parents: Sequence[tuple[Any, ...]],
              offset: int, limit: int, max_rows: int | None) -> tuple[list[Row], dict]:
    """Connections, publishers or subscribers of many parents, by creation time."""
    if table == "subscribers":
        # Subscribers come with the attributes of the stream they receive (`any` skips NULLs, as any_value).
        attrs = ", ".join(f"any({c}) AS {c}" for c in _STREAM_OF_SUBSCRIBER)
        source = (f"{_of_sessions('subscribers')} t LEFT JOIN (SELECT session_id, stream_id, {attrs} FROM "
                  f"{_of_sessions('publishers')} GROUP BY session_id, stream_id) s "
                  f"ON s.session_id = t.session_id AND s.stream_id = t.stream_id")
    else:
        source = f"{_of_sessions(table)} t"
    columns, id_column = _ENTITY[table]
    return _children(cur, source=source, columns=columns, keys=keys, parents=parents,
                     order=f"t.created_at, t.{id_column}", offset=offset, limit=limit,
                     params={"p": project_id}, max_rows=max_rows)


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


def _stats(cur: Cursor, project_id: str, kind: str, id_column: str, parents: Sequence[tuple[str, str]],
           ts_range: tuple[int, int], offset: int, limit: int, max_rows: int | None,
           columns: Sequence[str] | None) -> tuple[list[Row], dict]:
    params: dict[str, Any] = {"p": project_id, "type": kind, "ts_from": ts_range[0], "ts_to": ts_range[1]}
    wanted = selected_columns(columns, STATS_COLUMNS)
    needed = ", ".join(dict.fromkeys(("session_id", "ts", "event_id", id_column, *wanted)))
    samples = _of_sessions("stats_samples", needed, " AND type = {type:String} AND ts BETWEEN {ts_from:Int64} "
                                                    "AND {ts_to:Int64} LIMIT 1 BY event_id")
    return _children(cur, source=f"{samples} t", columns=(*wanted, "session_id", id_column),
                     keys=("session_id", id_column), parents=parents, order="t.ts, t.event_id",
                     offset=offset, limit=limit, params=params, max_rows=max_rows)


def publisher_stats(cur: Cursor, project_id: str, streams: Sequence[tuple[str, str]], ts_range: tuple[int, int],
                    offset: int, limit: int, *, max_rows: int | None = None,
                    columns: Sequence[str] | None = None) -> tuple[list[Row], dict]:
    """publisherStats samples of streams (session_id, stream_id) taken within ts_range; rows as on DuckDB."""
    return _stats(cur, project_id, "publisherStats", "stream_id", streams, ts_range, offset, limit, max_rows,
                  columns)


def subscriber_stats(cur: Cursor, project_id: str, subscribers: Sequence[tuple[str, str]],
                     ts_range: tuple[int, int], offset: int, limit: int, *,
                     max_rows: int | None = None, columns: Sequence[str] | None = None) -> tuple[list[Row], dict]:
    """subscriberStats samples of subscribers (session_id, subscriber_id) taken within ts_range."""
    return _stats(cur, project_id, "subscriberStats", "subscriber_id", subscribers, ts_range, offset, limit,
                  max_rows, columns)


# -- quality (docs/quality.md) --------------------------------------------------

def quality_scores(cur: Cursor, project_id: str, level: str, session_ids: Sequence[str]) -> list[Row]:
    """Score rows of one level for these sessions (one statement for a whole GraphQL level)."""
    if not session_ids:
        return []
    return rows_of(cur, "SELECT session_id, entity_id, samples, scored_ms, score, score_p10 FROM quality_scores "
                        "WHERE project_id = {p:String} AND level = {level:String} AND session_id IN {s:Array(String)}",
                   {"p": project_id, "level": level, "s": list(dict.fromkeys(session_ids))})


def quality_issues(cur: Cursor, project_id: str, session_ids: Sequence[str]) -> list[Row]:
    """Every issue of these sessions, by start time."""
    if not session_ids:
        return []
    return rows_of(cur, "SELECT * FROM quality_issues WHERE project_id = {p:String} "
                        "AND session_id IN {s:Array(String)} ORDER BY session_id, start_ts, issue_type, entity_id",
                   {"p": project_id, "s": list(dict.fromkeys(session_ids))})


def score_distribution(cur: Cursor, project_id: str, ranges: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Scored sessions per score bucket, for each [lo, hi) range of `last_seen_at` (epoch ms), in one statement
    (the ranges ARRAY JOINed to each session's score); rows as on DuckDB."""
    if not ranges:
        return []
    cases = ", ".join(f"q.score <= {bound}, {i}" for i, bound in enumerate(SCORE_BOUNDS[:-1]))
    last = len(SCORE_BOUNDS) - 1
    sql = (f"SELECT idx, multiIf({cases}, {last}) AS bucket, count() AS sessions "
           "FROM quality_scores q INNER JOIN sessions s ON s.project_id = q.project_id AND s.session_id = q.session_id "
           "ARRAY JOIN {lo:Array(Int64)} AS lo, {hi:Array(Int64)} AS hi, arrayEnumerate({lo:Array(Int64)}) AS idx "
           "WHERE q.project_id = {p:String} AND q.level = 'session' AND s.project_id = {p:String} "
           "AND s.last_seen_at >= lo AND s.last_seen_at < hi GROUP BY idx, bucket")
    counts = [[0] * len(SCORE_BOUNDS) for _ in ranges]
    for idx, bucket, sessions in cur.query_rows(sql, {"p": project_id, "lo": [lo for lo, _ in ranges],
                                                      "hi": [hi for _, hi in ranges]}):
        counts[int(idx) - 1][int(bucket)] = int(sessions)
    return counts
