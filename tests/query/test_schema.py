"""The SDL mirrors the reconstructed reference schema exactly, plus the documented extras,
and describes every type, field and argument."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from tests.conftest import SHARED
from videoinsights.query.schema import build_schema as build_ours

REFERENCE = SHARED / "reference" / "insights-schema.graphql"
LEGACY_FIELDS = {
    ("Metric", "browserName"), ("Errors", "guidConnect"), ("Errors", "guidPublish"), ("Errors", "guidSubscribe"),
    ("QualityStats", "videoBitrateAvg"), ("SessionData", "session"),
}
# The stream metrics beyond Vonage's (issue 8): per sample, and their averages in projectData quality.
_SAMPLE_METRICS = ("jitterMs", "roundTripMs", "frameRate", "freezeCount")
METRIC_FIELDS = {
    *((t, f) for t in ("PublisherStats", "SubscriberStats") for f in _SAMPLE_METRICS),
    ("PublisherStats", "qualityLimitationReason"), ("PublisherStats", "availableOutgoingBitrateKbps"),
    *(("QualityStats", f"{f}Avg") for f in (*_SAMPLE_METRICS, "availableOutgoingBitrateKbps")),
    ("QualityStats", "qualityLimitationDistribution"),
}
# `project { live }` (issue 13); quality scores and issues (issue 12, docs/quality.md).
QUALITY_FIELDS = {(t, "quality") for t in ("Session", "SessionSummary", "Meeting", "Connection", "Publisher",
                                           "Subscriber")} | {("QualityStats", "scoreAvg"), ("Quality", "issues"),
                                                                           ("Quality", "scoreDistribution")}
EXTRA_FIELDS = {*LEGACY_FIELDS, ("ErrorStats", "failureRate"), *METRIC_FIELDS, ("Project", "live"), *QUALITY_FIELDS}
EXTRA_TYPES = {"QualityLimitationDistribution", "Live", "LiveMinute", "LiveSession", "StreamsByVideoType",
               "QualityScore", "QualityIssue", "SessionOrder", "IssueCounts",
               "ScoreDistribution"}
EXTRA_ARGS = {("Project", "projectData", "browserName"),
              *(("SessionData", "sessionSummaries", a) for a in ("orderBy", "issueType", "minScore", "maxScore"))}
EXTRA_ENUM_VALUES = {("GroupBy", "BROWSER_NAME"), ("Interval", "HOURLY"), ("Interval", "MINUTE")}
DEPRECATED = LEGACY_FIELDS


def _user_types(schema: GraphQLSchema) -> dict[str, object]:
    return {n: t for n, t in schema.type_map.items() if not n.startswith("__")
            and n not in ("String", "Int", "Float", "Boolean", "ID")}


def test_same_types_fields_arguments_and_enum_values() -> None:
    reference = build_schema(REFERENCE.read_text())
    ours = build_ours()
    ref_types, our_types = _user_types(reference), _user_types(ours)
    assert set(ref_types) | EXTRA_TYPES == set(our_types)
    extra_fields, extra_args, extra_values = set(), set(), set()
    for name, ref in ref_types.items():
        mine = our_types[name]
        assert type(mine) is type(ref), name
        if isinstance(ref, GraphQLObjectType | GraphQLInterfaceType):
            if isinstance(ref, GraphQLObjectType):
                assert [i.name for i in mine.interfaces] == [i.name for i in ref.interfaces], name
            for fname, field in mine.fields.items():
                if fname not in ref.fields:
                    extra_fields.add((name, fname))
                    continue
                rfield = ref.fields[fname]
                assert str(field.type) == str(rfield.type), (name, fname)
                for aname, arg in field.args.items():
                    if aname not in rfield.args:
                        extra_args.add((name, fname, aname))
                        continue
                    assert str(arg.type) == str(rfield.args[aname].type), (name, fname, aname)
                assert set(rfield.args) <= set(field.args), (name, fname)
            assert set(ref.fields) <= set(mine.fields), name
        elif isinstance(ref, GraphQLEnumType):
            assert set(ref.values) <= set(mine.values), name
            extra_values |= {(name, v) for v in set(mine.values) - set(ref.values)}
        assert not isinstance(ref, GraphQLInputObjectType)
    assert extra_fields == EXTRA_FIELDS
    assert extra_args == EXTRA_ARGS
    assert extra_values == EXTRA_ENUM_VALUES


def test_extensions_say_so() -> None:
    """Fields a Vonage client never sees are marked as extensions in their description (docs/api.md)."""
    ours = build_ours()
    for type_name, field in METRIC_FIELDS:
        assert ours.type_map[type_name].fields[field].description.startswith("Extension"), (type_name, field)
    for type_name in EXTRA_TYPES:
        assert "Extension" in ours.type_map[type_name].description
    assert ours.type_map["Project"].fields["live"].description.strip().startswith("Extension")
    for value in ("HOURLY", "MINUTE"):
        assert ours.type_map["Interval"].values[value].description.startswith("Extension"), value


def test_legacy_spellings_are_deprecated() -> None:
    ours = build_ours()
    for type_name, field in DEPRECATED:
        assert ours.type_map[type_name].fields[field].deprecation_reason, (type_name, field)
    assert ours.type_map["Project"].fields["projectData"].args["browserName"].deprecation_reason
    assert ours.type_map["GroupBy"].values["BROWSER_NAME"].deprecation_reason


def test_everything_is_described() -> None:
    missing = []
    for name, type_ in _user_types(build_ours()).items():
        if not type_.description:
            missing.append(name)
        for fname, field in getattr(type_, "fields", {}).items():
            if not field.description:
                missing.append(f"{name}.{fname}")
            missing += [f"{name}.{fname}({a})" for a, arg in field.args.items() if not arg.description]
        if isinstance(type_, GraphQLEnumType) and name != "Country":
            missing += [f"{name}.{v}" for v, value in type_.values.items() if not value.description]
    assert missing == []
