"""The 73 real-world client queries, read from ../shared and sent unchanged over HTTP.

"Now" is pinned to the day they were collected, so their dates need no
shifting; only 25 and 26 (fixed 2023 / 2022 ranges, long past any retention)
are also run with their range moved into the fixture's data. Variables are
those the headers say the real clients sent, with project id 12345678.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.query import fixtures as fx
from tests.query.conftest import Server, opentok_token

QUERIES = SHARED / "reference" / "client-queries"
FILES = sorted(QUERIES.glob("*.graphql"))
ISO_START = "2025-11-06T08:59:53.000+01:00"
ISO_END = "2025-11-27T08:59:53.000+01:00"

VARIABLES: dict[str, dict[str, Any]] = {
    "28": {"projectId": "12345678", "startTime": 1762418393000, "endTime": 1764230393000},
    "29": {"projectId": "12345678", "sessionIds": [fx.S1]},
    "30": {"projectId": "12345678", "sessionId": [fx.S1], "startTime": ISO_START, "endTime": ISO_END},
    "31": {"projectId": "12345678", "sessionId": [fx.S1], "startTime": ISO_START, "endTime": ISO_END,
           "meetingId": "m-1a"},
    "32": {"projectId": "12345678", "sessionId": [fx.S1], "startTime": ISO_START, "endTime": ISO_END},
    "33": {"projectId": "12345678", "sessionId": [fx.S1], "startTime": ISO_START, "endTime": ISO_END,
           "meetingId": "m-1b"},
    # declared Int!, sent as a string (sessionStorage) by the real client
    "34": {"projectId": "12345678", "sessionId": [fx.S1]},
    "56": {"PROJECT_ID": 12345678, "START_TIME": "2019-01-01T08:00:00.000Z"},
    "69": {"PROJECT": "12345678", "START_TIME": "2024-08-01T08:00:00.000Z"},
    "70": {"PROJECT": "12345678"},
    "71": {"PROJECT": "12345678", "SESSION_1": fx.S1},
}
INVALID = {"27": "Syntax Error", "71": "Cannot query field 'creationTime' on type 'Connection'"}
# Fixed ranges from 2023 / 2022 (the header's substitutions), moved into the fixture's days.
SHIFTED: dict[str, tuple[tuple[str, str], ...]] = {
    "25": (('"2023-01-01"', '"2025-11-20"'), ('"2023-05-01"', '"2025-11-27"')),
    "26": (("1650825000", "1764057600"), ("1650997800", "1764230400")),  # Nov 25 .. Nov 27 00:00 PST
}


def number(path: Path) -> str:
    return path.name[:2]


def shifted(path: Path) -> str:
    text = path.read_text()
    for old, new in SHIFTED.get(number(path), ()):
        text = text.replace(old, new)
    return text


def run_file(server: Server, path: Path, text: str | None = None) -> dict[str, Any]:
    text = shifted(path) if text is None else text
    project = fx.DOCS_PROJECT if "projectId: 100)" in text else fx.PROJECT
    secret = fx.DOCS_SECRET if project == fx.DOCS_PROJECT else fx.SECRET
    response = server.post(text, VARIABLES.get(number(path)), token=opentok_token(project, secret))
    assert response.status_code == 200, response.text
    return response.json()


def test_corpus_is_complete() -> None:
    assert len(FILES) == 73


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_client_query_runs(server: Server, path: Path) -> None:
    body = run_file(server, path)
    if number(path) in INVALID:
        assert "data" not in body
        assert INVALID[number(path)] in body["errors"][0]["message"]
        assert all(e["errorCode"] == 1022 and e["extensions"]["code"] == 1022 for e in body["errors"])
        return
    assert "errors" not in body, body["errors"]
    assert body["data"]["project"] is not None


def _file(n: str) -> Path:
    return next(p for p in FILES if number(p) == n)


def resources(body: dict[str, Any], *path: str) -> Any:
    node = body["data"]["project"]
    for key in path:
        node = node[key]
    return node


def test_01_usage_by_day(server: Server) -> None:
    # start = 2025-11-26 23:59:53 PST -> days Nov 26 .. Nov 27 (today)
    rows = resources(run_file(server, _file("01")), "projectData", "resources")
    assert rows == [
        {"intervalStart": "2025-11-26T08:00:00.000Z", "intervalEnd": "2025-11-26T08:00:00.000Z",
         "usage": {"streamedPublishedMinutes": 35.0, "streamedSubscribedMinutes": 24.0}},
        {"intervalStart": "2025-11-27T08:00:00.000Z", "intervalEnd": "2025-11-27T08:00:00.000Z",
         "usage": {"streamedPublishedMinutes": 0.0, "streamedSubscribedMinutes": 0.0}},
    ]


def test_02_sdk_distribution(server: Server) -> None:
    rows = resources(run_file(server, _file("02")), "projectData", "resources")
    assert rows == [{"sdkType": "ANDROID", "usage": {"streamedSubscribedMinutes": 0.0}},
                    {"sdkType": "IOS", "usage": {"streamedSubscribedMinutes": 15.0}},
                    {"sdkType": "JS", "usage": {"streamedSubscribedMinutes": 9.0}}]


def test_03_and_11_failures_by_browser_current_and_legacy_names(server: Server) -> None:
    current = resources(run_file(server, _file("03")), "projectData", "resources")
    legacy = resources(run_file(server, _file("11")), "projectData", "resources")
    assert current == [
        {"browser": "CHROME", "errors": {"connect": {"failures": 1}, "publish": {"failures": 0},
                                         "subscribe": {"failures": 1}}},
        {"browser": "FIREFOX", "errors": {"connect": {"failures": 0}, "publish": {"failures": 0},
                                          "subscribe": {"failures": 0}}},
    ]
    assert legacy == [{"browserName": r["browser"],
                       "errors": {f"guid{k.title()}": v for k, v in r["errors"].items()}} for r in current]


def test_04_and_12_bitrate_by_country(server: Server) -> None:
    # US subscriber samples in range: 650 and 650 kbps
    expected = [{"country": "US", "quality": {"subscriber": {"videoBitrateKbpsAvg": 650.0}}}]
    assert resources(run_file(server, _file("04")), "projectData", "resources") == expected
    legacy = resources(run_file(server, _file("12")), "projectData", "resources")
    assert legacy == [{"country": "US", "quality": {"subscriber": {"videoBitrateAvg": 650.0}}}]


def test_05_participant_tiers(server: Server) -> None:
    rows = resources(run_file(server, _file("05")), "projectData", "resources")
    assert rows == [{"intervalStart": "2025-11-26T08:00:00.000Z", "intervalEnd": "2025-11-26T08:00:00.000Z",
                     "usage": {"participantMinutes": {
                         "from1To2Publishers": 70.0, "from3To6Publishers": 0.0, "from7To8Publishers": 0.0,
                         "from9To10Publishers": 0.0, "from11To35Publishers": 0.0, "from36PlusPublishers": 0.0}}}]


def test_20_auto_interval_all_usage_fields(server: Server) -> None:
    data = resources(run_file(server, _file("20")), "projectData")
    assert data["interval"] == "DAILY"  # 8 days: Nov 19 .. Nov 26
    by_day = {r["intervalStart"]: r["usage"] for r in data["resources"]}
    assert list(by_day) == ["2025-11-20T08:00:00.000Z", "2025-11-25T08:00:00.000Z", "2025-11-26T08:00:00.000Z"]
    assert by_day["2025-11-20T08:00:00.000Z"]["streamedSubscribedMinutes"] == 12.25
    assert by_day["2025-11-26T08:00:00.000Z"] == {
        "hdArchiveComposedMinutes": 0.0, "hdBroadcastComposedMinutes": 6.0, "hlsMinutes": 6.0,
        "individualArchiveMinutes": 8.0, "sdArchiveComposedMinutes": 12.0, "sdBroadcastComposedMinutes": 0.0,
        "sipUserMinutes": 3.0, "streamedPublishedMinutes": 35.0, "streamedSubscribedMinutes": 24.0}


def test_25_and_26_with_ranges_moved_into_the_data(server: Server) -> None:
    data = resources(run_file(server, _file("25")), "sessionData", "sessionSummaries")
    # meetings created from Nov 20 00:00 PST to Nov 27 00:00 PST: the 12 paged sessions and S1
    assert data["totalCount"] == 13
    assert data["resources"][-1] == {
        "sessionId": fx.S1, "mediaMode": "routed",
        "participantMinutes": {"from1To2Publishers": 70.0, "from3To6Publishers": 0.0, "from5To8Publishers": 0.0,
                               "from9To10Publishers": 0.0, "from11To35Publishers": 0.0}}
    unchanged = run_file(server, _file("25"), _file("25").read_text())
    assert unchanged["errors"][0]["errorCode"] == 1002  # 2023 is past the 21-day retention
    unchanged = run_file(server, _file("26"), _file("26").read_text())
    assert unchanged == {"data": {"project": {"projectData": {"interval": "DAILY", "resources": []}}}}

    data = resources(run_file(server, _file("26")), "projectData")
    assert data["interval"] == "DAILY"
    gb = [r for r in data["resources"] if r["country"] == "GB"]
    assert len(gb) == 1 and gb[0]["sdkType"] == "IOS" and gb[0]["region"] is None
    assert gb[0]["usage"]["sdArchiveComposedMinutes"] is None  # grouped by endpoint: session-level minutes null
    assert gb[0]["quality"]["subscriber"]["latencyDistribution"]["ms300"] == 1.0
    assert gb[0]["errors"]["publish"] == {"attempts": 2, "failures": 1}


def test_28_session_list_variables_and_paging(server: Server) -> None:
    data = resources(run_file(server, _file("28")), "sessionData", "sessionSummaries")
    # start is clamped to the retention window; S2, the 12 paged sessions and S1 remain
    assert data["totalCount"] == 14
    assert data["pageInfo"] == {"endCursor": "aW5zaWdodHMtcmVzb3VyY2U6MTA=", "hasNextPage": True}
    assert [r["sessionId"] for r in data["resources"]] == [fx.S2, *fx.PAGED[:9]]
    assert data["resources"][0]["meetings"]["resources"] == [
        {"createdAt": "2025-11-12T10:00:00.000Z", "destroyedAt": "2025-11-12T10:20:00.000Z", "totalConnections": 1}]


def test_29_subscriber_stats(server: Server) -> None:
    meetings = resources(run_file(server, _file("29")), "sessionData", "sessions", "resources")[0]["meetings"]
    subs = meetings["resources"][0]["subscribers"]["resources"]
    assert [s["subscriberId"] for s in subs] == ["sub1", "sub2"]
    stats = subs[0]["streamStatsCollection"]
    assert stats["pageInfo"]["hasNextPage"] is False
    assert [(s["subscribeToVideo"], s["videoLatencyMs"], s["videoBitrateKbps"]) for s in stats["resources"]] == [
        (True, 80.0, 650.0), (False, 70.0, 650.0)]


def test_31_and_33_meeting_id_filter(server: Server) -> None:
    m = resources(run_file(server, _file("31")), "sessionData", "sessions", "resources")[0]["meetings"]
    assert m["totalCount"] == 2  # two records share m-1a
    assert [r["createdAt"] for r in m["resources"]] == ["2025-11-26T17:00:00.000Z", "2025-11-26T17:35:00.000Z"]
    assert [r["connections"]["totalCount"] for r in m["resources"]] == [2, 1]
    m = resources(run_file(server, _file("33")), "sessionData", "sessions", "resources")[0]["meetings"]
    assert m["resources"][0]["connections"]["resources"] == [
        {"createdAt": "2025-11-26T19:00:00.000Z", "destroyedAt": "2025-11-26T19:10:00.000Z",
         "connectionId": "c4", "guid": "g-1"}]


def test_34_int_declared_project_variable_with_string_value(server: Server) -> None:
    session = resources(run_file(server, _file("34")), "sessionData", "sessions", "resources")[0]
    assert (session["publisherMinutes"], session["subscriberMinutes"]) == (35.0, 24.0)
    assert session["meetings"]["totalCount"] == 3
    assert [(m["publishers"]["totalCount"], m["subscribers"]["totalCount"]) for m in
            session["meetings"]["resources"]] == [(2, 2), (0, 0), (1, 0)]


def test_35_weekly(server: Server) -> None:
    rows = resources(run_file(server, _file("35")), "projectData", "resources")
    # week of Monday Nov 24, clipped to the range Nov 26 .. Nov 27
    assert [(r["intervalStart"], r["intervalEnd"]) for r in rows] == [
        ("2025-11-24T08:00:00.000Z", "2025-11-27T08:00:00.000Z")]
    assert rows[0]["usage"]["streamedPublishedMinutes"] == 35.0
    assert rows[0]["usage"]["individualArchiveMinutes"] == 8.0


def test_39_and_50_finer_groups_keep_their_parent_dimension(server: Server) -> None:
    rows = resources(run_file(server, _file("39")), "projectData", "resources")
    assert [r["sdkType"] for r in rows] == ["ANDROID", "IOS", "JS"]
    rows = resources(run_file(server, _file("50")), "projectData", "resources")
    assert [(r["browser"], r["browserVersion"], r["usage"]["streamedSubscribedMinutes"]) for r in rows] == [
        ("CHROME", "120.0", 9.0), ("FIREFOX", "119.0", 0.0), (None, None, 15.0), (None, None, 0.0)]


def test_43_connection_publisher_subscriber_nesting(server: Server) -> None:
    meeting = resources(run_file(server, _file("43")), "sessionData", "sessions", "resources")[0][
        "meetings"]["resources"][0]
    conns = meeting["connections"]
    assert (conns["totalCount"], conns["maxConcurrent"]) == (2, 2)
    c1 = conns["resources"][0]
    assert c1["connectionId"] == "c1" and c1["publishers"]["totalCount"] == 1
    st1 = c1["publishers"]["resources"][0]
    assert st1["stream"] == {"streamId": "st1", "hasAudioTrack": True, "hasVideoTrack": True, "videoType": "camera"}
    assert st1["streamStatsCollection"]["totalCount"] == 3
    sub1 = st1["subscribers"]["resources"][0]
    assert (sub1["subscriberId"], sub1["connectionId"], sub1["stream"]["videoType"]) == ("sub1", "c2", "camera")
    assert [s["subscribeToVideo"] for s in sub1["streamStatsCollection"]["resources"]] == [True, False]
    st2 = conns["resources"][1]["publishers"]["resources"][0]
    assert st2["stream"] == {"streamId": "st2", "hasAudioTrack": False, "hasVideoTrack": True, "videoType": "screen"}


def test_53_single_country_value_and_attempts(server: Server) -> None:
    rows = resources(run_file(server, _file("53")), "projectData", "resources")
    assert rows == [
        {"browser": "CHROME", "errors": {"connect": {"attempts": 10, "failures": 1},
                                         "publish": {"attempts": 4, "failures": 0},
                                         "subscribe": {"attempts": 6, "failures": 1}}},
        {"browser": "FIREFOX", "errors": {"connect": {"attempts": 4, "failures": 0},
                                          "publish": {"attempts": 0, "failures": 0},
                                          "subscribe": {"attempts": 0, "failures": 0}}},
    ]


def test_56_int_declared_project_id_and_auto_monthly(server: Server) -> None:
    rows = resources(run_file(server, _file("56")), "projectData", "resources")
    assert [(r["sdkType"], r["intervalStart"], r["intervalEnd"], r["usage"]["streamedPublishedMinutes"])
            for r in rows] == [
        ("JS", "2025-06-01T07:00:00.000Z", "2025-06-30T07:00:00.000Z", 100.0),  # from the monthly rollup
        ("ANDROID", "2025-11-01T07:00:00.000Z", "2025-11-27T08:00:00.000Z", 0.0),
        ("IOS", "2025-11-01T07:00:00.000Z", "2025-11-27T08:00:00.000Z", 10.0),
        ("JS", "2025-11-01T07:00:00.000Z", "2025-11-27T08:00:00.000Z", 47.5),  # 20 + 5 + 5 + 7.5 + 10
    ]


def test_60_meeting_summaries(server: Server) -> None:
    data = resources(run_file(server, _file("60")), "sessionData", "sessionSummaries")
    s1 = next(r for r in data["resources"] if r["sessionId"] == fx.S1)
    assert s1["meetings"]["resources"] == [
        {"maxConcurrentStreams": 2, "maxConcurrentSubscribers": 2, "totalStreams": 2, "totalConnections": 2},
        {"maxConcurrentStreams": 0, "maxConcurrentSubscribers": 0, "totalStreams": 0, "totalConnections": 1},
        {"maxConcurrentStreams": 1, "maxConcurrentSubscribers": 0, "totalStreams": 1, "totalConnections": 1},
    ]


def test_61_62_docs_pagination_pages(server: Server) -> None:
    first = resources(run_file(server, _file("61")), "projectData")
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": "aW5zaWdodHMtcmVzb3VyY2U6MTA="}
    assert [r["usage"]["streamedPublishedMinutes"] for r in first["resources"]] == [10.0 * i for i in range(1, 11)]
    second = resources(run_file(server, _file("62")), "projectData")  # the docs' "==" cursor
    assert second["pageInfo"] == {"hasNextPage": False, "endCursor": "aW5zaWdodHMtcmVzb3VyY2U6MTI="}
    assert [r["usage"]["streamedPublishedMinutes"] for r in second["resources"]] == [110.0, 120.0]


def test_63_epoch_seconds_string(server: Server) -> None:
    # from Nov 16 PST through today: 4 + 12.25 + 0 + 24 + 0
    rows = resources(run_file(server, _file("63")), "projectData", "resources")
    assert rows == [{"usage": {"streamedSubscribedMinutes": 40.25}}]


def test_68_node_count_example_unknown_sessions(server: Server) -> None:
    data = resources(run_file(server, _file("68")), "sessionData", "sessions")
    assert data == {"resources": []}


def test_73_session_tiers(server: Server) -> None:
    session = resources(run_file(server, _file("73")), "sessionData", "sessions", "resources")[0]
    tiers = session["participantMinutes"]
    assert len(tiers) == 17
    assert {k for k, v in tiers.items() if v == 70.0} == {
        "from1To2Publishers", "from1To4Publishers", "from1To8Publishers", "from1To10Publishers",
        "from1To25Publishers"}
    assert all(v == 0.0 for k, v in tiers.items() if not k.startswith("from1To"))
