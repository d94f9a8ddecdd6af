"""projectData quality.scoreDistribution (extension, docs/quality.md) over a real server: sessions posted
over HTTP with known scores, counted per score bucket by the LA day they were last seen.

Scores by hand (the E-model of docs/quality.md, audio samples with RTT 50 ms, d = 25 ms, Id = 0.6):
* no loss: R = 92.6, MOS 4.397 -> bucket score4_5 (above 4, up to 4.5);
* 5% loss and RTT 300: MOS 3.771 (docs/quality.md's bad sample) -> score4 (above 3.5, up to 4);
* 20% loss: Ie_eff = 95 x 20 / 45.1 = 42.129, R = 50.471, MOS = 1 + 1.766 - 0.167 = 2.600 -> score3.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Server, create_project, free_port
from videoinsights.domain.days import day_end_ms, day_start_ms, la_day

MIN = 60_000
HOUR = 60 * MIN
EMPTY = {"score1_5": 0, "score2": 0, "score2_5": 0, "score3": 0, "score3_5": 0, "score4": 0, "score4_5": 0,
         "score5": 0}
FIELDS = " ".join(EMPTY)


def audio_call(session: str, t0: int, minutes: int, rtt: float, loss: float) -> list[dict[str, Any]]:
    """A publishes audio for `minutes` with a sample every 30 s (all alike), B subscribes throughout."""
    ev: list[dict[str, Any]] = []

    def add(kind: str, t: int, **fields: Any) -> None:
        ev.append({"id": f"{session}-{len(ev)}", "type": kind, "sessionId": session, "timestamp": t0 + t, **fields})

    add("connectionCreated", 0, connectionId=f"{session}-A")
    add("connectionCreated", 0, connectionId=f"{session}-B")
    add("streamCreated", 0, streamId=f"{session}-S", connectionId=f"{session}-A", hasAudio=True, hasVideo=False)
    add("subscriberCreated", 0, subscriberId=f"{session}-U", streamId=f"{session}-S", connectionId=f"{session}-B")
    for k in range(1, 2 * minutes + 1):
        add("publisherStats", k * 30_000, streamId=f"{session}-S", roundTripMs=rtt, audioPacketLoss=loss)
    end = minutes * MIN
    add("subscriberDestroyed", end, subscriberId=f"{session}-U")
    add("streamDestroyed", end, streamId=f"{session}-S")
    add("connectionDestroyed", end, connectionId=f"{session}-A")
    add("connectionDestroyed", end, connectionId=f"{session}-B")
    return ev


def silent_call(session: str, t0: int) -> list[dict[str, Any]]:
    """A connection that sends no stats: no score, so in no bucket."""
    return [{"id": f"{session}-0", "type": "connectionCreated", "sessionId": session, "timestamp": t0,
             "connectionId": f"{session}-A"},
            {"id": f"{session}-1", "type": "connectionDestroyed", "sessionId": session, "timestamp": t0 + 5 * MIN,
             "connectionId": f"{session}-A"}]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def scenario(now_ms: int) -> tuple[str, str, str, list[dict[str, Any]]]:
    """Day 1 (3 days ago): a clean call and a 20%-loss call; day 2 (2 days ago): a clean call, a bad one
    (5% loss, RTT 300) and one without stats. Returns the LA midnights starting day 1, day 2 and the day
    after (ISO instants: an end at a midnight excludes the day it opens), and the events."""
    day1 = la_day(now_ms) - timedelta(days=3)
    day2 = day1 + timedelta(days=1)
    t1, t2 = day_start_ms(day1) + 10 * HOUR, day_start_ms(day2) + 10 * HOUR
    events = (audio_call("clean1", t1, 10, 50.0, 0.0) + audio_call("lossy", t1 + HOUR, 10, 50.0, 0.20)
              + audio_call("clean2", t2, 10, 50.0, 0.0) + audio_call("bad", t2 + HOUR, 10, 300.0, 0.05)
              + silent_call("silent", t2 + 2 * HOUR))
    return iso(day_start_ms(day1)), iso(day_start_ms(day2)), iso(day_end_ms(day2)), events


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("scoredist") / "vi.duckdb"
    creds = create_project(db)
    server = Server(db, free_port())
    server.start()
    day1, day2, after, events = scenario(int(time.time() * 1000))
    r = httpx.post(f"{server.url}/v1/events", json=events, headers=creds.headers())
    assert r.json()["accepted"] == len(events)
    server.wait_derived()
    yield server, creds, day1, day2, after
    server.stop()


def project_data(served: Any, args: str, fields: str = f"quality {{ scoreDistribution {{ {FIELDS} }} }}") -> Any:
    server, creds = served[:2]
    r = httpx.post(f"{server.url}/graphql", headers=creds.headers(), json={"query": f"""{{ project(projectId:
      {creds.project_id}) {{ projectData({args}) {{ resources {{ intervalStart {fields} }} }} }} }}"""})
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    return body["data"]["project"]["projectData"]["resources"]


def test_whole_range_counts_each_scored_session_once(served: Any) -> None:
    _, _, day1, _day2, after = served
    (row,) = project_data(served, f'start: "{day1}", end: "{after}"')
    assert row["quality"]["scoreDistribution"] == {**EMPTY, "score3": 1, "score4": 1, "score4_5": 2}


def test_daily_rows_count_the_sessions_of_their_day(served: Any) -> None:
    _, _, day1, day2, after = served
    rows = project_data(served, f'start: "{day1}", end: "{after}", interval: DAILY')
    assert [r["quality"]["scoreDistribution"] for r in rows] == [
        {**EMPTY, "score3": 1, "score4_5": 1},
        {**EMPTY, "score4": 1, "score4_5": 1},
    ]
    (only_day2,) = project_data(served, f'start: "{day2}", end: "{after}"')
    assert only_day2["quality"]["scoreDistribution"] == {**EMPTY, "score4": 1, "score4_5": 1}


def test_session_level_so_null_when_filtered_grouped_or_fine(served: Any) -> None:
    _, _, day1, _day2, after = served
    for args in (f'start: "{day1}", end: "{after}", groupBy: [COUNTRY]',
                 f'start: "{day1}", end: "{after}", sdkType: [JS]',
                 f'start: "{day1}", end: "{after}", interval: HOURLY'):
        rows = project_data(served, args)
        assert all(r["quality"]["scoreDistribution"] is None for r in rows), args


def test_issue_counts_by_day_beside_it(served: Any) -> None:
    """The Quality tab's issues-by-type series: high_packet_loss on day 1 (lossy) and day 2 (bad), high_rtt
    on day 2 only."""
    _, _, day1, _day2, after = served
    rows = project_data(served, f'start: "{day1}", end: "{after}", interval: DAILY',
                        "quality { issues { highPacketLoss highRtt } scoreDistribution { score3 } }")
    assert [r["quality"] for r in rows] == [
        {"issues": {"highPacketLoss": 1, "highRtt": 0}, "scoreDistribution": {"score3": 1}},
        {"issues": {"highPacketLoss": 1, "highRtt": 1}, "scoreDistribution": {"score3": 0}},
    ]
