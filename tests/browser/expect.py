"""What the pages should show, computed from the API with a project token (independently of the pages),
and the pages' number formats mirrored in Python."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.browser.world import World
from tests.conftest import ProjectCreds
from videoinsights.domain.days import la_day

FILTERS = ("country", "region", "sdkType", "sdkVersion", "browser", "browserVersion")
_VARS = ("$p: IntOrString!, $start: Date!, $end: Date, $interval: Interval, $country: [Country], $region: [String], "
         "$sdkType: [SdkType], $sdkVersion: [String], $browser: [Browser], $browserVersion: [String]")
_ARGS = ("start: $start, end: $end, country: $country, region: $region, sdkType: $sdkType, sdkVersion: $sdkVersion, "
         "browser: $browser, browserVersion: $browserVersion")
TOTALS = f"""query Totals({_VARS}) {{ project(projectId: $p) {{
  totals: projectData({_ARGS}) {{ resources {{
    usage {{ streamedPublishedMinutes streamedSubscribedMinutes }}
    quality {{ publisher {{ videoBitrateKbpsAvg latencyMsAvg }} subscriber {{ videoBitrateKbpsAvg }} }}
    errors {{ connect {{ failureRate attempts }} publish {{ failureRate }} subscribe {{ failureRate }} }} }} }}
  series: projectData({_ARGS}, interval: $interval) {{
    resources {{ intervalStart usage {{ streamedPublishedMinutes }} }} }}
}} }}"""


def today() -> date:
    return la_day(int(time.time() * 1000))


def days_ago(n: int) -> str:
    return (today() - timedelta(days=n)).isoformat()


def report(world: World, project: ProjectCreds, start: str, end: str, interval: str = "DAILY",
           **filters: list[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {"p": project.project_id, "start": start, "end": end, "interval": interval}
    variables.update({k: v for k, v in filters.items() if v})
    data = world.graphql(project, TOTALS, variables)["project"]
    totals = data["totals"]["resources"]
    return {"totals": totals[0] if totals else None, "series": data["series"]["resources"]}


def group(world: World, project: ProjectCreds, by: str, field: str, start: str,
          **filters: list[str]) -> list[tuple[str, float]]:
    """(value of `field`, published minutes) grouped by `by`, most minutes first."""
    args = ", ".join(f"{k}: {_literal(k, v)}" for k, v in filters.items() if v)
    query = (f"{{ project(projectId: {project.project_id}) {{ projectData(start: \"{start}\", groupBy: [{by}]"
             f"{', ' + args if args else ''}, first: 1000) "
             f"{{ resources {{ {field} usage {{ streamedPublishedMinutes }} }} }} }} }}")
    rows = world.graphql(project, query)["project"]["projectData"]["resources"]
    found = [(r[field], r["usage"]["streamedPublishedMinutes"] or 0.0) for r in rows]
    return sorted(((v, m) for v, m in found if v and m > 0), key=lambda vm: -vm[1])


def narrowing(choices: list[tuple[str, float]]) -> str:
    """The biggest value that is not the whole: filtering by it changes the figures."""
    total = sum(m for _, m in choices)
    return next((v for v, m in choices if abs(m - total) > 1e-6), choices[0][0])


def _literal(key: str, values: list[str]) -> str:
    enum = key in ("country", "sdkType", "browser")
    return "[" + ", ".join(v if enum else f'"{v}"' for v in values) + "]"


# -- the pages' number formats (src/common/format.js) --------------------------------------------


def _fixed(v: float, digits: int) -> str:
    q = Decimal(repr(v)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{q:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def with_unit(v: float | None, unit: str) -> str:
    if v is None:
        return "–"
    return f"{_fixed(v, 0 if abs(v) >= 100 else 1)} {unit}"


def percent(v: float | None) -> str:
    return "–" if v is None else f"{_fixed(v * 100, 2)}%"
