"""Exports: the rows of one kind over a date range, as flat records named like the API's fields.

`projectData` rows are the API's Metric objects (same interval, filters and groupings, built by
the same code as the GraphQL resolver) with nested fields flattened to dotted names
(`usage.participantMinutes.from1To2Publishers`). Session data kinds are the API's Session,
Meeting, Connection, Publisher, Subscriber and StreamStats objects, each with the ids of the
objects it belongs to (`sessionId`, `meetingId`, ...). The columns are read from the GraphQL
schema, so an export cannot drift from the API. Dates are ISO-8601 strings, as the API writes them.

Parameters arrive as strings (an HTTP query string or CLI flags); list values may repeat or be
comma-separated. Bad input raises ExportError (a 400).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from videoinsights.domain.days import month_start
from videoinsights.query import session_data
from videoinsights.query.dates import DateValueError, format_date, parse_date
from videoinsights.query.errors import InsightsError
from videoinsights.query.export_kinds import FILTERS, FORMATS, KINDS
from videoinsights.query.metric import plan_metric
from videoinsights.query.project_data import ReportArgs, add_score_distribution
from videoinsights.query.schema import GROUP_BY, build_schema
from videoinsights.query.selection import Tree

# Each session data kind: (GraphQL type, builder of its object from a store row, the owners' id columns).
_SESSION_KINDS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]], tuple[tuple[str, str, str], ...]]] = {
    "sessions": ("Session", session_data._session, ()),
    "meetings": ("Meeting", session_data._meeting, (("sessionId", "session_id", "String"),)),
    "connections": ("Connection", session_data._connection,
                    (("sessionId", "session_id", "String"), ("meetingId", "meeting_id", "String"))),
    "publishers": ("Publisher", session_data._publisher,
                   (("sessionId", "session_id", "String"), ("meetingId", "meeting_id", "String"))),
    "subscribers": ("Subscriber", session_data._subscriber,
                    (("sessionId", "session_id", "String"), ("meetingId", "meeting_id", "String"))),
    "stats": ("PublisherStats SubscriberStats", session_data._stats,
              (("sessionId", "session_id", "String"), ("streamId", "stream_id", "String"),
               ("subscriberId", "subscriber_id", "String"))),
}


class ExportError(ValueError):
    """Bad export parameters; the message says which and why."""


@dataclass(frozen=True)
class Column:
    name: str  # dotted path of API field names
    type: str  # the GraphQL leaf type: Float, Int, Boolean, Date, String (enums and ids count as String)


def _leaf_type(named: Any) -> str:
    if isinstance(named, GraphQLEnumType):
        return "String"
    return named.name if named.name in ("Float", "Int", "Boolean", "Date") else "String"


def _walk(schema: GraphQLSchema, type_name: str, prefix: str = "") -> list[Column]:
    """Leaf fields of an object type, depth first; lists, fields with arguments and deprecated ones are left out
    (children are exports of their own kind)."""
    object_type = schema.type_map[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    columns: list[Column] = []
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        if field.args or field.deprecation_reason or is_list_type(get_nullable_type(field.type)):
            continue
        if isinstance(named, GraphQLObjectType):
            if "ResourceCollection" in (i.name for i in named.interfaces):
                continue
            columns += _walk(schema, named.name, f"{prefix}{name}.")
        else:
            columns.append(Column(prefix + name, _leaf_type(named)))
    return columns


@cache
def columns_of(kind: str) -> tuple[Column, ...]:
    """The export's columns, in order."""
    schema = build_schema()
    if kind == "projectData":
        return tuple(_walk(schema, "Metric"))
    type_names, _, owners = _SESSION_KINDS[kind]
    fields = [c for type_name in type_names.split() for c in _walk(schema, type_name)]
    return (*(Column(name, kind_) for name, _, kind_ in owners), *dict.fromkeys(fields))


def _tree(columns: Sequence[Column]) -> Tree:
    """The selection tree that asks for every column (what plan_metric compiles)."""
    tree: Tree = {}
    for column in columns:
        node = tree
        for part in column.name.split("."):
            node = node.setdefault(part, {})
    return tree


def _flatten(obj: dict[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        value: Any = obj
        for part in column.name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and column.type == "Date":
            value = format_date(value)
        out[column.name] = value
    return out


@dataclass(frozen=True)
class ExportRequest:
    project_id: str
    kind: str
    format: str
    start_ms: int
    end_ms: int | None  # None: now
    report_args: dict[str, Any]  # projectData: interval, filters and groupBy as GraphQL arguments

    @property
    def filename(self) -> str:
        return f"{self.project_id}-{self.kind}.{self.format}"


def _list(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    return [v.strip() for raw in params.get(name, ()) for v in raw.split(",") if v.strip()]


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or ()
    if len(values) > 1:
        raise ExportError(f"`{name}` may be given once.")
    return values[0].strip() if values else None


def _date(params: Mapping[str, Sequence[str]], name: str) -> int | None:
    text = _one(params, name)
    if text is None or text == "":
        return None
    try:
        return parse_date(text)
    except DateValueError as exc:
        raise ExportError(f"`{name}`: {exc}") from None


def _enum_values(type_name: str) -> set[str]:
    enum = build_schema().type_map[type_name]
    assert isinstance(enum, GraphQLEnumType)
    return set(enum.values)


def _report_args(params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    interval = _one(params, "interval")
    if interval:
        if interval.upper() not in _enum_values("Interval"):
            raise ExportError(f"`interval` must be one of DAILY, WEEKLY, MONTHLY, AUTO, got {interval!r}.")
        args["interval"] = interval.upper()
    enums = {"sdkType": "SdkType", "browser": "Browser", "country": "Country"}
    for name in FILTERS:
        values = _list(params, name)
        if name in enums:
            values = [v.upper() for v in values]
            unknown = sorted(set(values) - _enum_values(enums[name]))
            if unknown:
                raise ExportError(f"`{name}`: unknown value {unknown[0]!r}.")
        if values:
            args[name] = values
    groups = [g.upper() for g in _list(params, "groupBy")]
    unknown = sorted(set(groups) - set(GROUP_BY))
    if unknown:
        raise ExportError(f"`groupBy`: unknown value {unknown[0]!r} (one of {', '.join(GROUP_BY)}).")
    if groups:
        args["groupBy"] = [GROUP_BY[g] for g in groups]
    return args


def parse_request(project_id: str, params: Mapping[str, Sequence[str]]) -> ExportRequest:
    """Check an export's parameters: kind, format (csv by default), start (required), end, and for
    projectData interval, the filters and groupBy."""
    kind = _one(params, "kind")
    if kind not in KINDS:
        raise ExportError(f"`kind` must be one of {', '.join(KINDS)}.")
    fmt = (_one(params, "format") or "csv").lower()
    if fmt not in FORMATS:
        raise ExportError(f"`format` must be csv or parquet, got {fmt!r}.")
    start = _date(params, "start")
    if start is None:
        raise ExportError("`start` is required (a Date: ISO-8601, YYYY-MM-DD or epoch; 0 = the earliest kept).")
    end = _date(params, "end")
    if end is not None and end < start:
        raise ExportError("Invalid date range: `end` is before `start`.")
    report = _report_args(params) if kind == "projectData" else {}
    if kind != "projectData" and any(_list(params, n) for n in (*FILTERS, "groupBy", "interval")):
        raise ExportError("`interval`, filters and `groupBy` apply to kind=projectData only.")
    return ExportRequest(project_id, kind, fmt, start, end, report)


def report_args(request: ExportRequest, now_ms: int) -> ReportArgs:
    """projectData's checked arguments; ExportError for what the API refuses (an empty range, a bad version)."""
    try:
        return ReportArgs.of({**request.report_args, "start": request.start_ms, "end": request.end_ms}, now_ms)
    except InsightsError as exc:
        raise ExportError(exc.message) from None


def export_rows(request: ExportRequest, cursor: Any, now_ms: int, first_daily_day: date,
                batch_rows: int = 10_000, *, sql: Any) -> Iterator[list[dict[str, Any]]]:
    """The export's records, a batch at a time, keyed by columns_of(kind) names; `sql` is the store's
    backend modules (Store.sql) and `cursor` a handle from its export_cursor()."""
    columns = columns_of(request.kind)
    if request.kind == "projectData":
        report = report_args(request, now_ms)
        plan = plan_metric(_tree(columns), report.include_project)
        query = report.query(request.project_id, plan, month_start(first_daily_day), 0, 0)
        batches = sql.export.project_report_batches(cursor, query, batch_rows)

        def metrics(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if plan.score_distribution:  # quality.scoreDistribution: one more statement per batch
                add_score_distribution(sql, cursor, request.project_id, report, batch)
            return [_flatten(report.metric(row, plan), columns) for row in batch]

        return (metrics(batch) for batch in batches)
    _, build, owners = _SESSION_KINDS[request.kind]
    end = now_ms if request.end_ms is None else request.end_ms

    def records(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in batch:
            obj = build(row)
            obj.update({name: row[column] for name, column, _ in owners})
            out.append(_flatten(obj, columns))
        return out

    batches = sql.export.session_data_batches(cursor, request.kind, request.project_id, request.start_ms, end,
                                              batch_rows)
    return (records(batch) for batch in batches)
