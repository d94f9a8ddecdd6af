"""Project.projectData: arguments -> ReportQuery -> rows -> Metric objects."""

from __future__ import annotations

from datetime import date
from typing import Any

from graphql import GraphQLResolveInfo

from videoinsights.domain.days import day_start_ms, month_start
from videoinsights.query.context import RequestContext
from videoinsights.query.metric import plan_metric
from videoinsights.query.pagination import Page
from videoinsights.query.report import (
    ReportQuery,
    bucket_end,
    group_columns,
    normalize_sdk_versions,
    report_days,
    resolve_interval,
)
from videoinsights.query.selection import selection_tree
from videoinsights.store.duckdb import reads


def _values(value: Any) -> list[Any]:
    """Filters and groupBy arrive as lists (GraphQL list coercion wraps a single value)."""
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v is not None]


def _filters(args: dict[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    browsers = _values(args.get("browser")) + _values(args.get("browserName"))
    filters = {
        "sdk_type": tuple(_values(args.get("sdkType"))),
        "sdk_version": normalize_sdk_versions(_values(args.get("sdkVersion"))),
        "country": tuple(_values(args.get("country"))),
        "region": tuple(v.strip().upper() for v in _values(args.get("region"))),
        "browser": tuple(dict.fromkeys(browsers)),
        "browser_version": tuple(v.strip() for v in _values(args.get("browserVersion"))),
    }
    return tuple((column, values) for column, values in filters.items() if values)


def resolve_project_data(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx: RequestContext = info.context
    first_day, last_day = report_days(args["start"], args.get("end"), ctx.now_ms)
    interval = resolve_interval(args.get("interval"), first_day, last_day)
    page = Page.of(args.get("first"), args.get("endCursor"))
    filters = _filters(args)
    group_by = group_columns(_values(args.get("groupBy")))
    include_project = not filters and not group_by
    tree = selection_tree(info)
    plan = plan_metric(tree.get("resources", {}), include_project)
    query = ReportQuery(
        project_id=obj["_project"].project_id,
        first_day=first_day,
        last_day=last_day,
        interval=interval,
        filters=filters,
        group_by=group_by,
        endpoint_columns=plan.endpoint_columns,
        project_columns=plan.project_columns,
        include_project=include_project,
        monthly_before=month_start(ctx.first_daily_day),
        offset=page.offset,
        limit=page.limit,
    )
    rows, total = reads.project_report(ctx.cursor, query)
    ctx.count(len(rows))
    metrics = []
    for row in rows:
        start: date = row["bucket"] if interval else (first_day or row["min_day"])
        row["_start"] = day_start_ms(start)
        row["_end"] = day_start_ms(bucket_end(row["bucket"], interval, last_day))
        metrics.append(plan.build(row))
    return page.result(metrics, total, interval=interval)
