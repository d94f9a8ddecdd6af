"""projectData against the hand-computed rollups of fixtures.py (in-process execution)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.query import fixtures as fx

Run = Any


def pd(run: Run, args: str, selection: str, project: str = "12345678", **kw: Any) -> dict[str, Any]:
    body = run(f"{{ project(projectId: {project}) {{ projectData({args}) {{ {selection} }} }} }}", **kw)
    assert "errors" not in body, body
    return body["data"]["project"]["projectData"]


def error(run: Run, args: str, selection: str = "totalCount") -> dict[str, Any]:
    body = run(f"{{ project(projectId: 12345678) {{ projectData({args}) {{ {selection} }} }} }}")
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


def test_whole_range_without_interval_is_one_row(run: Run) -> None:
    data = pd(run, 'start: "2025-11-26"', """interval totalCount resources { intervalStart intervalEnd sdkType
        usage { streamedPublishedMinutes sdArchiveComposedMinutes sipUserMinutes
                participantMinutes { from1To2Publishers } }
        errors { connect { attempts failures failureRate } } }""")
    assert data["interval"] is None and data["totalCount"] == 1
    # Nov 26 + Nov 27 (today): endpoint rows R1..R3, FIREFOX, ANDROID today; project rows 70 + 15 tier minutes
    assert data["resources"] == [{
        "intervalStart": "2025-11-26T08:00:00.000Z", "intervalEnd": "2025-11-27T08:00:00.000Z", "sdkType": None,
        "usage": {"streamedPublishedMinutes": 35.0, "sdArchiveComposedMinutes": 12.0, "sipUserMinutes": 3.0,
                  "participantMinutes": {"from1To2Publishers": 85.0}},
        "errors": {"connect": {"attempts": 19, "failures": 2, "failureRate": 2 / 19}}}]


def test_start_zero_means_earliest(run: Run) -> None:
    data = pd(run, "start: 0", """resources { intervalStart intervalEnd
        usage { streamedPublishedMinutes streamedSubscribedMinutes sdArchiveComposedMinutes } }""")
    # June 2025 (monthly rollup) .. today: 100 + 35 + 5 + 7.5 + 3 + 10 published, 200 + 24 + 12.25 + 4 subscribed
    assert data["resources"] == [{
        "intervalStart": "2025-06-01T07:00:00.000Z", "intervalEnd": "2025-11-27T08:00:00.000Z",
        "usage": {"streamedPublishedMinutes": 160.5, "streamedSubscribedMinutes": 240.25,
                  "sdArchiveComposedMinutes": 62.0}}]


def test_daily_buckets_only_where_data_exists_and_pages(run: Run) -> None:
    sel = "totalCount pageInfo { hasNextPage endCursor } resources { intervalStart }"
    first = pd(run, "start: 0, interval: DAILY, first: 4", sel)
    assert first["totalCount"] == 6  # Nov 12, 17, 20, 25, 26, 27: daily rows only (June is monthly data)
    assert [r["intervalStart"][:10] for r in first["resources"]] == ["2025-11-12", "2025-11-17", "2025-11-20",
                                                                     "2025-11-25"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = pd(run, f'start: 0, interval: DAILY, first: 4, endCursor: "{first["pageInfo"]["endCursor"]}"', sel)
    assert [r["intervalStart"][:10] for r in second["resources"]] == ["2025-11-26", "2025-11-27"]
    assert second["pageInfo"]["hasNextPage"] is False and second["totalCount"] == 6
    past = pd(run, 'start: 0, interval: DAILY, endCursor: "aW5zaWdodHMtcmVzb3VyY2U6MTA="', sel)
    assert past["resources"] == [] and past["totalCount"] == 6
    empty = pd(run, 'start: 0, interval: DAILY, endCursor: ""', sel)
    assert empty["totalCount"] == 6 and len(empty["resources"]) == 6


def test_first_is_clamped_not_refused(run: Run) -> None:
    assert len(pd(run, "start: 0, interval: DAILY, first: 100000", "resources { intervalStart }")["resources"]) == 6


def test_monthly_buckets_combine_monthly_and_daily_rollups(run: Run) -> None:
    data = pd(run, 'start: "2025-01-01", interval: MONTHLY',
              "resources { intervalStart intervalEnd usage { streamedPublishedMinutes } }")
    assert data["resources"] == [
        {"intervalStart": "2025-06-01T07:00:00.000Z", "intervalEnd": "2025-06-30T07:00:00.000Z",
         "usage": {"streamedPublishedMinutes": 100.0}},
        {"intervalStart": "2025-11-01T07:00:00.000Z", "intervalEnd": "2025-11-27T08:00:00.000Z",
         "usage": {"streamedPublishedMinutes": 60.5}},
    ]


def test_auto_picks_and_reports_the_interval(run: Run) -> None:
    interval = lambda start: pd(run, f'start: "{start}", end: "2025-11-27T07:00:00Z", interval: AUTO',  # noqa: E731
                                "interval")["interval"]
    assert interval("2025-10-28") == "DAILY"  # 31 days
    assert interval("2025-10-26") == "MONTHLY"  # 33 days
    assert pd(run, "start: 0, interval: AUTO", "interval")["interval"] == "MONTHLY"


def test_end_at_la_midnight_excludes_that_day(run: Run) -> None:
    data = pd(run, 'start: "2025-11-25", end: "2025-11-26", interval: DAILY', "resources { intervalStart }")
    assert [r["intervalStart"] for r in data["resources"]] == ["2025-11-25T08:00:00.000Z"]


def test_endpoint_filters_null_session_level_minutes(run: Run) -> None:
    for filt in ("sdkType: JS", 'region: "ca"', "country: US", 'browserVersion: "120.0"', "groupBy: COUNTRY"):
        data = pd(run, f'start: "2025-11-26", {filt}',
                  "resources { usage { streamedPublishedMinutes hlsMinutes experienceComposer "
                  "participantMinutes { from1To2Publishers } } }")
        for row in data["resources"]:
            assert row["usage"]["hlsMinutes"] is None and row["usage"]["experienceComposer"] is None
            assert row["usage"]["participantMinutes"] is None


def test_filters(run: Run) -> None:
    sel = "resources { usage { streamedPublishedMinutes } }"
    published = lambda args: pd(run, f'start: "2025-11-25", {args}', sel)["resources"]  # noqa: E731
    assert published('region: ["ca"]') == [{"usage": {"streamedPublishedMinutes": 30.0}}]  # 20 + 5 + 5
    assert published('sdkVersion: "2.26.0"') == [{"usage": {"streamedPublishedMinutes": 10.0}}]
    assert published('browserVersion: ["119.0"]') == [{"usage": {"streamedPublishedMinutes": 10.0}}]
    assert published("browser: [SAFARI]") == []
    assert published("sdkType: [IOS], country: [US]") == []


def test_unknown_sdk_is_other(run: Run) -> None:
    data = pd(run, 'start: "2025-11-17", end: "2025-11-17T12:00:00Z", groupBy: SDK_TYPE, sdkType: OTHER',
              "resources { sdkType sdkVersion country usage { streamedPublishedMinutes } }")
    assert data["resources"] == [{"sdkType": "OTHER", "sdkVersion": None, "country": None,
                                  "usage": {"streamedPublishedMinutes": 3.0}}]


def test_group_by_several_dimensions(run: Run) -> None:
    data = pd(run, 'start: "2025-11-26", end: "2025-11-26T20:00:00Z", groupBy: [REGION, SDK_VERSION]',
              "resources { sdkType sdkVersion country region browser usage { streamedPublishedMinutes } }")
    assert data["resources"] == [
        {"sdkType": "ANDROID", "sdkVersion": "2.27.0", "country": "US", "region": "NY", "browser": None,
         "usage": {"streamedPublishedMinutes": 0.0}},
        {"sdkType": "IOS", "sdkVersion": "2.26.0", "country": "GB", "region": None, "browser": None,
         "usage": {"streamedPublishedMinutes": 10.0}},
        {"sdkType": "JS", "sdkVersion": "2.27.3", "country": "US", "region": "CA", "browser": None,
         "usage": {"streamedPublishedMinutes": 25.0}},
    ]


def test_quality_averages_and_histograms(run: Run) -> None:
    data = pd(run, 'start: "2025-11-26", end: "2025-11-26T20:00:00Z"', """resources { quality {
        publisher { latencyMsAvg videoBitrateKbpsAvg latencyDistribution { ms50 ms100 ms200 ms1000 ms1000Plus }
                    videoBitrateDistribution { kbps100 kbps500 kbps1000 kbps1600 kbps3000Plus } }
        subscriber { latencyMsAvg videoBitrateKbpsAvg latencyDistribution { ms100 ms300 } } } }""")
    quality = data["resources"][0]["quality"]
    assert quality["publisher"] == {
        "latencyMsAvg": 1360 / 3, "videoBitrateKbpsAvg": 2900 / 3,
        "latencyDistribution": {"ms50": 1.0, "ms100": 0.0, "ms200": 1.0, "ms1000": 0.0, "ms1000Plus": 1.0},
        "videoBitrateDistribution": {"kbps100": 0.0, "kbps500": 1.0, "kbps1000": 1.0, "kbps1600": 1.0,
                                     "kbps3000Plus": 0.0}}
    # 80 + 70 + 250 ms over 3 samples; (1300 + 150) kbps over 3
    assert quality["subscriber"] == {"latencyMsAvg": 400 / 3, "videoBitrateKbpsAvg": 1450 / 3,
                                     "latencyDistribution": {"ms100": 2.0, "ms300": 1.0}}


def test_no_samples_no_average_no_attempts_no_rate(run: Run) -> None:
    data = pd(run, 'start: "2025-11-20", end: "2025-11-20T20:00:00Z"',
              "resources { quality { publisher { latencyMsAvg } } errors { publish { attempts failureRate } } }")
    assert data["resources"] == [{"quality": {"publisher": {"latencyMsAvg": None}},
                                  "errors": {"publish": {"attempts": 0, "failureRate": None}}}]


def test_other_projects_never_leak(run: Run) -> None:
    data = pd(run, "start: 0", "resources { usage { streamedPublishedMinutes sipUserMinutes } }")
    assert 999.0 not in data["resources"][0]["usage"].values()
    other = pd(run, 'start: "2025-11-26"', "resources { usage { streamedPublishedMinutes } }", project="87654321",
               as_project=fx.OTHER)
    assert other["resources"] == [{"usage": {"streamedPublishedMinutes": 999.0}}]


def test_application_id_as_project(run: Run) -> None:
    data = pd(run, 'start: "2025-11-26"', "resources { usage { streamedPublishedMinutes } }",
              project=f'"{fx.APP.upper()}"', as_project=fx.APP, kind="application")
    assert data["resources"] == [{"usage": {"streamedPublishedMinutes": 42.0}}]


def test_project_id_as_string(run: Run) -> None:
    assert pd(run, 'start: "2025-11-26"', "totalCount", project='"12345678"')["totalCount"] == 1


@pytest.mark.parametrize(("args", "code"), [
    ('start: "2025-11-26", end: "2025-11-20"', 1002),
    ('start: "2030-01-01"', 1002),
    ('start: 0, sdkVersion: ["2.27"]', 1007),
    ('start: 0, sdkVersion: "latest"', 1007),
    ('start: 0, endCursor: "bm90LWEtY3Vyc29y"', 1005),
    ('start: 0, endCursor: "%%%"', 1005),
    ("start: 0, first: -1", 1006),
    ("end: 0", 1013),
    ("start: 0, interval: SECONDLY", 1022),  # HOURLY and MINUTE are extensions (tests/live)
    ("start: 0, country: XX", 1022),
])
def test_argument_errors(run: Run, args: str, code: int) -> None:
    err = error(run, args)
    assert err["errorCode"] == code and err["extensions"]["code"] == code
