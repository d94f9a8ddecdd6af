"""Project.projectData: arguments -> ReportQuery -> rows -> Metric objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from graphql import GraphQLResolveInfo

from videoinsights.derive.fine import FINE_MEASURES
from videoinsights.domain.days import day_end_ms, day_start_ms, month_start
from videoinsights.query.context import RequestContext
from videoinsights.query.errors import InsightsError
from videoinsights.query.metric import MetricPlan, plan_metric
from videoinsights.query.pagination import Page
from videoinsights.query.report import (
    FINE_INTERVALS,
    ReportQuery,
    bucket_end,
    group_columns,
    normalize_sdk_versions,
    report_days,
    resolve_interval,
)
from videoinsights.query.selection import selection_tree


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


@dataclass(frozen=True)
class ReportArgs:
    """projectData arguments, checked: the LA days, the interval, filters and groups."""

    first_day: date | None
    last_day: date
    interval: str | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    group_by: tuple[str, ...]
    start_ms: int = 0  # the moments asked for: HOURLY and MINUTE cut at them, not at LA midnights
    end_ms: int = 0

    @classmethod
    def of(cls, args: dict[str, Any], now_ms: int) -> ReportArgs:
        """From GraphQL-coerced arguments (start and end as epoch ms); raises InsightsError."""
        first_day, last_day = report_days(args["start"], args.get("end"), now_ms)
        interval = resolve_interval(args.get("interval"), first_day, last_day)
        end = args.get("end")
        return cls(first_day, last_day, interval, _filters(args), group_columns(_values(args.get("groupBy"))),
                   args["start"], now_ms + 1 if end is None else end)

    @property
    def include_project(self) -> bool:
        """Session-level measures apply only to unfiltered, ungrouped daily (or coarser) reports."""
        return not self.filters and not self.group_by and self.interval not in FINE_INTERVALS

    def check_plan(self, plan: MetricPlan) -> None:
        """HOURLY and MINUTE rows hold streamed minutes and errors only: asking more is a clear error."""
        missing = [c for c in plan.endpoint_columns if c not in FINE_MEASURES]
        if self.interval in FINE_INTERVALS and missing:
            raise InsightsError(1005, f"Interval {self.interval} reports usage.streamedPublishedMinutes, "
                                      "usage.streamedSubscribedMinutes and errors; quality is reported per day "
                                      "(use DAILY).")

    def query(self, project_id: str, plan: MetricPlan, monthly_before: date, offset: int, limit: int) -> ReportQuery:
        return ReportQuery(
            project_id=project_id,
            first_day=self.first_day,
            last_day=self.last_day,
            interval=self.interval,
            filters=self.filters,
            group_by=self.group_by,
            endpoint_columns=plan.endpoint_columns,
            project_columns=plan.project_columns,
            include_project=self.include_project,
            monthly_before=monthly_before,
            offset=offset,
            limit=limit,
            start_ms=self.start_ms,
            end_ms=self.end_ms,
        )

    def days_of(self, row: dict[str, Any]) -> tuple[date, date]:
        """The first and last day of the requested range that a (non-fine) report row covers."""
        if self.interval is None:
            return self.first_day or row["min_day"], self.last_day
        first = max(row["bucket"], self.first_day) if self.first_day else row["bucket"]
        return first, bucket_end(row["bucket"], self.interval, self.last_day)

    def metric(self, row: dict[str, Any], plan: MetricPlan) -> Any:
        """One report row -> a Metric object (intervalStart/End as epoch ms)."""
        if self.interval in FINE_INTERVALS:  # bucket: epoch ms starting the hour or minute
            row["_start"] = row["_end"] = row["bucket"]
            return plan.build(row)
        start: date = row["bucket"] if self.interval else (self.first_day or row["min_day"])
        row["_start"] = day_start_ms(start)
        row["_end"] = day_start_ms(bucket_end(row["bucket"], self.interval, self.last_day))
        return plan.build(row)


def resolve_project_data(obj: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx: RequestContext = info.context
    report = ReportArgs.of(args, ctx.now_ms)
    page = Page.of(args.get("first"), args.get("endCursor"))
    plan = plan_metric(selection_tree(info).get("resources", {}), report.include_project)
    report.check_plan(plan)
    query = report.query(obj["_project"].project_id, plan, month_start(ctx.first_daily_day), page.offset, page.limit)
    rows, total = ctx.sql.reads.project_report(ctx.cursor, query)
    ctx.count(len(rows))
    if plan.score_distribution:
        add_score_distribution(ctx.sql, ctx.cursor, obj["_project"].project_id, report, rows)
    metrics = [report.metric(row, plan) for row in rows]
    return page.result(metrics, total, interval=report.interval)


def add_score_distribution(sql: Any, cursor: Any, project_id: str, report: ReportArgs,
                           rows: list[dict[str, Any]]) -> None:
    """Put in each report row its sessions per score bucket (by the LA day each session was last seen), for
    MetricPlan.score_distribution: one statement for all the rows (`sql`: the store's backend modules)."""
    spans = [report.days_of(row) for row in rows]
    ranges = [(day_start_ms(first), day_end_ms(last)) for first, last in spans]
    for row, counts in zip(rows, sql.reads.score_distribution(cursor, project_id, ranges), strict=True):
        row["_score_distribution"] = counts
