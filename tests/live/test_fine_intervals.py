"""HOURLY and MINUTE projectData buckets, hand-computed, across an America/Los_Angeles midnight and the
end of daylight saving time (2026-11-01: 02:00 PDT -> 01:00 PST, a 25-hour day). Real server, real HTTP.

Times below are UTC. LA midnight of 2026-11-01 is 07:00Z (PDT); the next one is 2026-11-02T08:00Z (PST).
  session A: u1 (JS, US) publishes s1 06:58:30 -> 07:01:15; u2 (IOS, GB) subscribes 06:59:00 -> 07:00:30;
             connect success (u1) at 06:58:30, connect failure (IOS, GB) at 07:00:10.
  session B: u3 (JS, US) publishes s3 08:59:30 -> 09:01:00 (01:59:30 PDT -> 01:01:00 PST, the repeated hour);
             publish failure (u3) at 09:00:05.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, create_project, free_port
from videoinsights.query.dates import parse_date

JS_US = {"sdkType": "JS", "sdkVersion": "2.27.3", "browser": "CHROME", "browserVersion": "120.0", "country": "US"}
IOS_GB = {"sdkType": "IOS", "sdkVersion": "2.26.0", "country": "GB"}


def ts(hms: str) -> int:
    return parse_date(f"2026-11-01T{hms}Z")


def events() -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []

    def add(session: str, kind: str, at: str, **fields: Any) -> None:
        ev.append({"id": f"e{len(ev)}", "type": kind, "sessionId": session, "timestamp": ts(at), **fields})

    add("A", "connectionCreated", "06:58:30", connectionId="u1", **JS_US)
    add("A", "connectAttempt", "06:58:30", outcome="success", connectionId="u1")
    add("A", "streamCreated", "06:58:30", streamId="s1", connectionId="u1", videoType="camera")
    add("A", "connectionCreated", "06:58:50", connectionId="u2", **IOS_GB)
    add("A", "subscriberCreated", "06:59:00", subscriberId="sub1", streamId="s1", connectionId="u2")
    add("A", "connectAttempt", "07:00:10", outcome="failure", **IOS_GB)
    add("A", "subscriberDestroyed", "07:00:30", subscriberId="sub1")
    add("A", "streamDestroyed", "07:01:15", streamId="s1")
    add("A", "connectionDestroyed", "07:01:20", connectionId="u2")
    add("A", "connectionDestroyed", "07:01:20", connectionId="u1")
    add("B", "connectionCreated", "08:59:30", connectionId="u3", **JS_US)
    add("B", "streamCreated", "08:59:30", streamId="s3", connectionId="u3", videoType="screen")
    add("B", "publishAttempt", "09:00:05", outcome="failure", connectionId="u3", streamId="s9")
    add("B", "streamDestroyed", "09:01:00", streamId="s3")
    add("B", "connectionDestroyed", "09:01:00", connectionId="u3")
    return ev


FIELDS = ("intervalStart usage { streamedPublishedMinutes streamedSubscribedMinutes } "
          "errors { connect { attempts failures } publish { attempts failures } }")


def _row(start: str, pub: float, sub: float, ca: int = 0, cf: int = 0, pa: int = 0, pf: int = 0) -> dict[str, Any]:
    return {"intervalStart": start, "usage": {"streamedPublishedMinutes": pub, "streamedSubscribedMinutes": sub},
            "errors": {"connect": {"attempts": ca, "failures": cf}, "publish": {"attempts": pa, "failures": pf}}}


DAILY = [
    _row("2026-10-31T07:00:00.000Z", 1.5, 1.0, ca=1),
    _row("2026-11-01T07:00:00.000Z", 1.25 + 1.5, 0.5, ca=1, cf=1, pa=1, pf=1),
]
HOURLY = [
    _row("2026-11-01T06:00:00.000Z", 1.5, 1.0, ca=1),
    _row("2026-11-01T07:00:00.000Z", 1.25, 0.5, ca=1, cf=1),
    _row("2026-11-01T08:00:00.000Z", 0.5, 0.0),  # 01:00 PDT
    _row("2026-11-01T09:00:00.000Z", 1.0, 0.0, pa=1, pf=1),  # 01:00 PST, the same wall-clock hour again
]
MINUTE = [
    _row("2026-11-01T06:58:00.000Z", 0.5, 0.0, ca=1),
    _row("2026-11-01T06:59:00.000Z", 1.0, 1.0),
    _row("2026-11-01T07:00:00.000Z", 1.0, 0.5, ca=1, cf=1),
    _row("2026-11-01T07:01:00.000Z", 0.25, 0.0),
    _row("2026-11-01T08:59:00.000Z", 0.5, 0.0),
    _row("2026-11-01T09:00:00.000Z", 1.0, 0.0, pa=1, pf=1),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("fine") / "vi.duckdb"
    creds = create_project(db)
    # The scenario lies a month back: keep its raw events and minute rows through the hourly purge.
    server = Server(db, free_port(), {"VIDEOINSIGHTS_RAW_RETENTION_DAYS": "3650",
                                      "VIDEOINSIGHTS_MINUTE_RETENTION_HOURS": "100000"})
    server.start()
    batch = events()
    r = httpx.post(f"{server.url}/v1/events", json=batch, headers=creds.headers())
    assert r.json() == {"accepted": len(batch), "duplicates": 0, "rejected": []}
    server.wait_derived()
    yield server, creds
    server.stop()


def report(served: tuple[Server, ProjectCreds], args: str, fields: str = FIELDS) -> dict[str, Any]:
    server, creds = served
    query = (f'{{ project(projectId: "{creds.project_id}") {{ projectData(start: "2026-10-31", end: "2026-11-02", '
             f"{args}) {{ interval totalCount resources {{ {fields} }} }} }} }}")
    body = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers()).json()
    assert "errors" not in body, body
    return body["data"]["project"]["projectData"]


@pytest.mark.parametrize(("interval", "expected"), [("DAILY", DAILY), ("HOURLY", HOURLY), ("MINUTE", MINUTE)])
def test_buckets_are_the_hand_computed_ones(served: Any, interval: str, expected: list[dict[str, Any]]) -> None:
    data = report(served, f"interval: {interval}")
    assert data["interval"] == interval
    assert data["totalCount"] == len(expected)
    assert data["resources"] == expected


def _per_la_day(rows: list[dict[str, Any]]) -> dict[str, tuple[float, ...]]:
    """Sum rows by LA day: buckets before 2026-11-01T07:00Z belong to Oct 31, the rest (to 11-02T08:00Z) to Nov 1."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0] * 6)
    for row in rows:
        day = "10-31" if row["intervalStart"] < "2026-11-01T07:00:00.000Z" else "11-01"
        values = (row["usage"]["streamedPublishedMinutes"], row["usage"]["streamedSubscribedMinutes"],
                  row["errors"]["connect"]["attempts"], row["errors"]["connect"]["failures"],
                  row["errors"]["publish"]["attempts"], row["errors"]["publish"]["failures"])
        totals[day] = [a + b for a, b in zip(totals[day], values, strict=True)]
    return {day: tuple(v) for day, v in totals.items()}


def test_hours_and_minutes_add_up_to_the_days(served: Any) -> None:
    daily = _per_la_day(report(served, "interval: DAILY")["resources"])
    assert daily == {"10-31": (1.5, 1.0, 1, 0, 0, 0), "11-01": (2.75, 0.5, 1, 1, 1, 1)}
    assert _per_la_day(report(served, "interval: HOURLY")["resources"]) == daily
    assert _per_la_day(report(served, "interval: MINUTE")["resources"]) == daily


def test_filters_and_groups_apply_to_minutes(served: Any) -> None:
    gb = report(served, "interval: MINUTE, country: GB", "intervalStart usage { streamedSubscribedMinutes } "
                "errors { connect { failures } }")["resources"]
    assert gb == [
        {"intervalStart": "2026-11-01T06:59:00.000Z", "usage": {"streamedSubscribedMinutes": 1.0},
         "errors": {"connect": {"failures": 0}}},
        {"intervalStart": "2026-11-01T07:00:00.000Z", "usage": {"streamedSubscribedMinutes": 0.5},
         "errors": {"connect": {"failures": 1}}},
    ]
    by_sdk = report(served, "interval: HOURLY, groupBy: SDK_TYPE", "intervalStart sdkType usage { "
                    "streamedPublishedMinutes }")["resources"]
    assert by_sdk == [
        {"intervalStart": "2026-11-01T06:00:00.000Z", "sdkType": "IOS", "usage": {"streamedPublishedMinutes": 0.0}},
        {"intervalStart": "2026-11-01T06:00:00.000Z", "sdkType": "JS", "usage": {"streamedPublishedMinutes": 1.5}},
        {"intervalStart": "2026-11-01T07:00:00.000Z", "sdkType": "IOS", "usage": {"streamedPublishedMinutes": 0.0}},
        {"intervalStart": "2026-11-01T07:00:00.000Z", "sdkType": "JS", "usage": {"streamedPublishedMinutes": 1.25}},
        {"intervalStart": "2026-11-01T08:00:00.000Z", "sdkType": "JS", "usage": {"streamedPublishedMinutes": 0.5}},
        {"intervalStart": "2026-11-01T09:00:00.000Z", "sdkType": "JS", "usage": {"streamedPublishedMinutes": 1.0}},
    ]


def test_quality_per_minute_is_a_clear_error(served: Any) -> None:
    server, creds = served
    query = (f'{{ project(projectId: "{creds.project_id}") {{ projectData(start: "2026-11-01", interval: MINUTE) '
             "{ resources { quality { publisher { videoBitrateKbpsAvg } } } } } }")
    body = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers()).json()
    assert body["data"]["project"]["projectData"] is None
    assert "quality is reported per day" in body["errors"][0]["message"]
    assert body["errors"][0]["errorCode"] == 1005


def test_minutes_cut_at_the_moments_asked(served: Any) -> None:
    """HOURLY and MINUTE start at the bucket holding `start` and stop before `end` (here 07:01:00Z)."""
    server, creds = served
    query = (f'{{ project(projectId: "{creds.project_id}") {{ projectData(start: "2026-11-01T06:59:30Z", '
             f'end: "2026-11-01T07:01:00Z", interval: MINUTE) {{ resources {{ {FIELDS} }} }} }} }}')
    body = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers()).json()
    assert body["data"]["project"]["projectData"]["resources"] == MINUTE[1:3]
