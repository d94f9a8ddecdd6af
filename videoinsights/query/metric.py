"""How each field under `Metric` maps to rollup columns, and how a report row
becomes a Metric object.

`plan_metric` compiles the selection once per request into the list of
columns to sum and a builder for each row, so only asked-for columns are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videoinsights.domain.quality import BITRATE_FIELDS, LATENCY_FIELDS, QUALITY_LIMITATION_REASONS, SCORE_FIELDS
from videoinsights.domain.scoring import ISSUE_TYPES
from videoinsights.domain.tiers import TIERS
from videoinsights.query.scalars import finite
from videoinsights.query.selection import Tree

Row = dict[str, Any]
Build = Callable[[Row], Any]

DIMENSION_FIELDS: dict[str, str] = {
    "sdkType": "sdk_type", "sdkVersion": "sdk_version", "country": "country", "region": "region",
    "browser": "browser", "browserName": "browser", "browserVersion": "browser_version",
}
ENDPOINT_USAGE: dict[str, str] = {
    "streamedPublishedMinutes": "published_minutes",
    "streamedSubscribedMinutes": "subscribed_minutes",
}
PROJECT_USAGE: dict[str, str] = {
    "hdArchiveComposedMinutes": "hd_archive_composed_minutes",
    "hdBroadcastComposedMinutes": "hd_broadcast_composed_minutes",
    "hlsMinutes": "hls_minutes",
    "individualArchiveMinutes": "individual_archive_minutes",
    "sdArchiveComposedMinutes": "sd_archive_composed_minutes",
    "sdBroadcastComposedMinutes": "sd_broadcast_composed_minutes",
    "sipUserMinutes": "sip_user_minutes",
    "experienceComposer": "experience_composer_minutes",
    "experienceComposerArchive": "experience_composer_archive_minutes",
    "experienceComposerBroadcast": "experience_composer_broadcast_minutes",
}
TIER_FIELDS: dict[str, str] = {t.field: t.column for t in TIERS}
QUALITY_SIDES: dict[str, str] = {"publisher": "pub", "subscriber": "sub"}
# Issue counts of projectData quality (docs/quality.md): camelCase field -> endpoint measure column.
ISSUE_FIELDS: dict[str, str] = {
    "".join(w if i == 0 else w.capitalize() for i, w in enumerate(t.split("_"))): f"issues_{t}" for t in ISSUE_TYPES
}
ERROR_KINDS: dict[str, str] = {
    "connect": "connect", "publish": "publish", "subscribe": "subscribe",
    "guidConnect": "connect", "guidPublish": "publish", "guidSubscribe": "subscribe",
}
LATENCY_COLUMNS: dict[str, str] = {f: f"lat_{f.lower()}" for f in LATENCY_FIELDS}
BITRATE_COLUMNS: dict[str, str] = {f: f"br_{f.lower()}" for f in BITRATE_FIELDS}
# Extension scoreDistribution (docs/quality.md): field -> index of its bucket.
SCORE_BUCKET_FIELDS: dict[str, int] = {f: i for i, f in enumerate(SCORE_FIELDS)}
# Extension averages (docs/api.md): field -> prefix of its sum and count columns (domain/quality.py STATS_MEANS).
MEAN_FIELDS: dict[str, str] = {
    "jitterMsAvg": "jit",
    "roundTripMsAvg": "rtt",
    "frameRateAvg": "fps",
    "freezeCountAvg": "frz",
    "availableOutgoingBitrateKbpsAvg": "aob",
}


@dataclass(frozen=True)
class MetricPlan:
    """Columns a report must sum and how to turn one summed row into a Metric."""

    endpoint_columns: tuple[str, ...]
    project_columns: tuple[str, ...]
    build: Build
    # quality.scoreDistribution was asked (and applies): the caller puts each row's session counts per
    # score bucket in row["_score_distribution"] (one extra statement for the whole page).
    score_distribution: bool = False


class _Collector:
    def __init__(self, project_available: bool) -> None:
        self.endpoint: dict[str, None] = {}
        self.project: dict[str, None] = {}
        self.project_available = project_available
        self.score_distribution = False

    def endpoint_col(self, column: str) -> Build:
        self.endpoint[column] = None
        return lambda row: finite(row.get(column) or 0.0)

    def project_col(self, column: str) -> Build:
        if not self.project_available:
            return lambda row: None
        self.project[column] = None
        return lambda row: finite(row.get(column) or 0.0)


def _obj(fields: list[tuple[str, Build]]) -> Build:
    return lambda row: {name: fn(row) for name, fn in fields}


def _ratio(num: Build, den: Build) -> Build:
    """num / den; null without a denominator or when a sum overflowed (see scalars.finite)."""
    def build(row: Row) -> float | None:
        n, d = num(row), den(row)
        return finite(n / d) if d and n is not None else None
    return build


def _int(fn: Build) -> Build:
    def build(row: Row) -> int | None:
        value = fn(row)
        return None if value is None else int(value)
    return build


def _usage(tree: Tree, c: _Collector) -> Build:
    fields: list[tuple[str, Build]] = []
    for name, sub in tree.items():
        if name in ENDPOINT_USAGE:
            fields.append((name, c.endpoint_col(ENDPOINT_USAGE[name])))
        elif name in PROJECT_USAGE:
            fields.append((name, c.project_col(PROJECT_USAGE[name])))
        elif name == "participantMinutes":
            if not c.project_available:
                fields.append((name, lambda row: None))
            else:
                tiers = [(f, c.project_col(TIER_FIELDS[f])) for f in sub if f in TIER_FIELDS]
                fields.append((name, _obj(tiers)))
    return _obj(fields)


def _quality_side(side: str, tree: Tree, c: _Collector) -> Build:
    fields: list[tuple[str, Build]] = []
    for name, sub in tree.items():
        if name in ("videoBitrateKbpsAvg", "videoBitrateAvg"):
            fields.append((name, _ratio(c.endpoint_col(f"{side}_br_sum"), c.endpoint_col(f"{side}_br_count"))))
        elif name == "latencyMsAvg":
            fields.append((name, _ratio(c.endpoint_col(f"{side}_lat_sum"), c.endpoint_col(f"{side}_lat_count"))))
        elif name in MEAN_FIELDS:
            prefix = f"{side}_{MEAN_FIELDS[name]}"
            fields.append((name, _ratio(c.endpoint_col(f"{prefix}_sum"), c.endpoint_col(f"{prefix}_count"))))
        elif name == "scoreAvg":  # extension: docs/quality.md
            fields.append((name, _ratio(c.endpoint_col(f"{side}_score_ms"), c.endpoint_col(f"{side}_scored_ms"))))
        elif name == "qualityLimitationDistribution":
            fields.append((name, _obj([(f, c.endpoint_col(f"{side}_qlr_{f}"))
                                       for f in sub if f in QUALITY_LIMITATION_REASONS])))
        elif name == "latencyDistribution":
            fields.append((name, _obj([(f, c.endpoint_col(f"{side}_{LATENCY_COLUMNS[f]}"))
                                       for f in sub if f in LATENCY_COLUMNS])))
        elif name == "videoBitrateDistribution":
            fields.append((name, _obj([(f, c.endpoint_col(f"{side}_{BITRATE_COLUMNS[f]}"))
                                       for f in sub if f in BITRATE_COLUMNS])))
    return _obj(fields)


def _score_distribution(tree: Tree, c: _Collector) -> Build:
    """Sessions per score bucket: session-level, so null under endpoint filters, groups and fine intervals."""
    if not c.project_available:
        return lambda row: None
    c.score_distribution = True
    fields = [(f, SCORE_BUCKET_FIELDS[f]) for f in tree if f in SCORE_BUCKET_FIELDS]
    return lambda row: {f: row["_score_distribution"][i] for f, i in fields}


def _errors(tree: Tree, c: _Collector) -> Build:
    fields: list[tuple[str, Build]] = []
    for name, sub in tree.items():
        kind = ERROR_KINDS.get(name)
        if kind is None:
            continue
        attempts = c.endpoint_col(f"{kind}_attempts")
        failures = c.endpoint_col(f"{kind}_failures")
        stats: list[tuple[str, Build]] = []
        for f in sub:
            if f == "attempts":
                stats.append((f, _int(attempts)))
            elif f == "failures":
                stats.append((f, _int(failures)))
            elif f == "failureRate":
                stats.append((f, _ratio(failures, attempts)))
        fields.append((name, _obj(stats)))
    return _obj(fields)


def plan_metric(tree: Tree, project_available: bool) -> MetricPlan:
    """Compile the selection under `resources` (a Metric) into a MetricPlan.

    intervalStart/intervalEnd and dimension values are filled in by the
    caller (keys `_start`, `_end` and the dimension columns of the row)."""
    c = _Collector(project_available)
    fields: list[tuple[str, Build]] = []
    for name, sub in tree.items():
        if name == "intervalStart":
            fields.append((name, lambda row: row["_start"]))
        elif name == "intervalEnd":
            fields.append((name, lambda row: row["_end"]))
        elif name in DIMENSION_FIELDS:
            column = DIMENSION_FIELDS[name]
            fields.append((name, lambda row, column=column: row.get(column)))
        elif name == "usage":
            fields.append((name, _usage(sub, c)))
        elif name == "quality":
            sides = [(s, _quality_side(QUALITY_SIDES[s], sides_tree, c))
                     for s, sides_tree in sub.items() if s in QUALITY_SIDES]
            if "issues" in sub:  # extension: issues by type (docs/quality.md)
                sides.append(("issues", _obj([(f, _int(c.endpoint_col(ISSUE_FIELDS[f])))
                                              for f in sub["issues"] if f in ISSUE_FIELDS])))
            if "scoreDistribution" in sub:  # extension: sessions per score bucket (docs/quality.md)
                sides.append(("scoreDistribution", _score_distribution(sub["scoreDistribution"], c)))
            fields.append((name, _obj(sides)))
        elif name == "errors":
            fields.append((name, _errors(sub, c)))
    return MetricPlan(tuple(c.endpoint), tuple(c.project), _obj(fields), c.score_distribution)
