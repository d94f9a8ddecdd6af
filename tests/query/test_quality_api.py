"""Quality scores and issues over a real server (docs/quality.md): events over HTTP -> derivation ->
quality tables -> GraphQL. Expected scores are the worked examples of docs/quality.md, by hand."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, create_project, free_port
from videoinsights.domain.days import day_start_ms, la_day

MIN = 60_000
HOUR = 60 * MIN
GOOD = 4.397371768  # RTT 50 ms, no loss: R = 92.6
BAD = 3.7706283583  # RTT 300 ms, 5% loss: R = 93.2 - 3.6 - 95 x 5 / 30.1
PATCHY = (30 * GOOD + 10 * BAD) / 40  # the 20-minute call with the bad patch at 5:00-10:00


def call(session: str, t0: int, minutes: int, bad: range, subscribe: bool = True) -> list[dict[str, Any]]:
    """A publishes an audio stream for `minutes`, B is there too and subscribes unless told not to;
    a publisher sample every 30 s, samples numbered in `bad` with RTT 300 and 5% loss."""
    ev: list[dict[str, Any]] = []

    def add(kind: str, t: int, **fields: Any) -> None:
        ev.append({"id": f"{session}-{len(ev)}", "type": kind, "sessionId": session, "timestamp": t0 + t, **fields})

    add("connectionCreated", 0, connectionId=f"{session}-A")
    add("connectionCreated", 0, connectionId=f"{session}-B")
    add("streamCreated", 0, streamId=f"{session}-S", connectionId=f"{session}-A", hasAudio=True, hasVideo=False)
    if subscribe:
        add("subscriberCreated", 0, subscriberId=f"{session}-U", streamId=f"{session}-S",
            connectionId=f"{session}-B")
    for k in range(1, 2 * minutes + 1):
        worse = k in bad
        add("publisherStats", k * 30_000, streamId=f"{session}-S", roundTripMs=300.0 if worse else 50.0,
            audioPacketLoss=0.05 if worse else 0.0)
    end = minutes * MIN
    if subscribe:
        add("subscriberDestroyed", end, subscriberId=f"{session}-U")
    add("streamDestroyed", end, streamId=f"{session}-S")
    add("connectionDestroyed", end, connectionId=f"{session}-A")
    add("connectionDestroyed", end, connectionId=f"{session}-B")
    return ev


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("quality") / "vi.duckdb"
    creds = create_project(db)
    server = Server(db, free_port())
    server.start()
    day = la_day(int(time.time() * 1000)) - timedelta(days=2)
    t0 = day_start_ms(day) + 10 * HOUR
    events = (call("good", t0, 10, range(0))
              + call("patchy", t0 + HOUR, 20, range(11, 21))
              + call("oneway", t0 + 2 * HOUR, 5, range(1, 11), subscribe=False))
    r = httpx.post(f"{server.url}/v1/events", json=events, headers=creds.headers())
    assert r.json()["accepted"] == len(events)
    server.wait_derived()
    yield server, creds, day.isoformat(), t0
    server.stop()


def graphql(server: Server, creds: ProjectCreds, query: str) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers())
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    return body["data"]["project"]["sessionData"]


def summaries(served: Any, args: str) -> list[dict[str, Any]]:
    server, creds, day, _ = served
    data = graphql(server, creds, f"""{{ project(projectId: {creds.project_id}) {{ sessionData {{
      sessionSummaries(start: "{day}T00:00:00Z"{args}) {{ resources {{ sessionId quality {{ score }} }} }}
    }} }} }}""")
    return data["sessionSummaries"]["resources"]


def test_worst_score_first(served: Any) -> None:
    rows = summaries(served, ", orderBy: WORST_SCORE")
    assert [r["sessionId"] for r in rows] == ["oneway", "patchy", "good"]
    assert [r["quality"]["score"] for r in rows] == [pytest.approx(BAD), pytest.approx(PATCHY), pytest.approx(GOOD)]


def test_default_order_is_oldest_first(served: Any) -> None:
    assert [r["sessionId"] for r in summaries(served, "")] == ["good", "patchy", "oneway"]


def test_filters_by_issue_type_and_score(served: Any) -> None:
    assert [r["sessionId"] for r in summaries(served, ', issueType: "one_way_media"')] == ["oneway"]
    assert [r["sessionId"] for r in summaries(served, ', issueType: "high_rtt"')] == ["patchy", "oneway"]
    assert [r["sessionId"] for r in summaries(served, ", minScore: 4.3")] == ["good"]
    assert [r["sessionId"] for r in summaries(served, ", minScore: 3.8, maxScore: 4.3")] == ["patchy"]


def test_unknown_issue_type_is_a_clear_error(served: Any) -> None:
    server, creds, day, _ = served
    r = httpx.post(f"{server.url}/graphql", headers=creds.headers(), json={"query": f"""{{ project(projectId:
      {creds.project_id}) {{ sessionData {{ sessionSummaries(start: "{day}T00:00:00Z", issueType: "nope")
      {{ totalCount }} }} }} }}"""})
    assert r.status_code == 200
    assert "Unknown issueType" in r.json()["errors"][0]["message"]


def test_quality_on_every_level_with_issue_windows(served: Any) -> None:
    server, creds, _, t0 = served
    issue = "type start end metric value samples entityId connectionId"
    data = graphql(server, creds, f"""{{ project(projectId: {creds.project_id}) {{ sessionData {{
      sessions(sessionIds: ["patchy"]) {{ resources {{ quality {{ score scoreP10 samples issues {{ type }} }}
        meetings {{ resources {{ quality {{ score scoreP10 }}
          connections {{ resources {{ connectionId quality {{ score issues {{ type }} }} }} }}
          publishers {{ resources {{ quality {{ score scoreP10 issues {{ {issue} }} }}
            subscribers {{ resources {{ quality {{ score samples issues {{ type }} }} }} }} }} }}
        }} }} }} }} }} }} }}""")
    (session,) = data["sessions"]["resources"]
    assert session["quality"]["score"] == pytest.approx(PATCHY)
    assert session["quality"]["scoreP10"] == pytest.approx(BAD)
    assert session["quality"]["samples"] == 40
    assert [i["type"] for i in session["quality"]["issues"]] == ["high_packet_loss", "high_rtt"]
    (meeting,) = session["meetings"]["resources"]
    assert meeting["quality"] == {"score": pytest.approx(PATCHY), "scoreP10": pytest.approx(BAD)}
    conns = {c["connectionId"]: c["quality"] for c in meeting["connections"]["resources"]}
    assert conns["patchy-A"]["score"] == pytest.approx(PATCHY)
    assert [i["type"] for i in conns["patchy-A"]["issues"]] == ["high_packet_loss", "high_rtt"]
    assert conns["patchy-B"] == {"score": None, "issues": []}  # B sent no samples
    (publisher,) = meeting["publishers"]["resources"]
    start, end = t0 + 60 * MIN + 5 * MIN, t0 + 60 * MIN + 10 * MIN
    assert publisher["quality"]["issues"] == [
        {"type": "high_packet_loss", "start": _iso(start), "end": _iso(end), "metric": "packetLoss", "value": 0.05,
         "samples": 10, "entityId": "patchy-S", "connectionId": "patchy-A"},
        {"type": "high_rtt", "start": _iso(start), "end": _iso(end), "metric": "roundTripMs", "value": 300.0,
         "samples": 10, "entityId": "patchy-S", "connectionId": "patchy-A"},
    ]
    (subscriber,) = publisher["subscribers"]["resources"]
    assert subscriber["quality"] == {"score": None, "samples": 0, "issues": []}


def test_one_way_media_names_the_publisher(served: Any) -> None:
    server, creds, _, t0 = served
    data = graphql(server, creds, f"""{{ project(projectId: {creds.project_id}) {{ sessionData {{
      sessions(sessionIds: ["oneway"]) {{ resources {{ quality {{ issues {{ type start end connectionId value }} }}
      }} }} }} }} }}""")
    issues = data["sessions"]["resources"][0]["quality"]["issues"]
    one_way = [i for i in issues if i["type"] == "one_way_media"]
    start = t0 + 2 * HOUR
    assert one_way == [{"type": "one_way_media", "start": _iso(start), "end": _iso(start + 5 * MIN),
                        "connectionId": "oneway-A", "value": 300.0}]


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_project_data_score_average_and_issue_counts(served: Any) -> None:
    server, creds, day, _ = served
    r = httpx.post(f"{server.url}/graphql", headers=creds.headers(), json={"query": f"""{{ project(projectId:
      {creds.project_id}) {{ projectData(start: "{day}", end: "{day}") {{ resources {{ quality {{
        publisher {{ scoreAvg }} subscriber {{ scoreAvg }}
        issues {{ highPacketLoss highRtt oneWayMedia highJitter reconnect }} }} }} }} }} }}"""})
    body = r.json()
    assert "errors" not in body, body
    (row,) = body["data"]["project"]["projectData"]["resources"]
    # good: 20 good samples; patchy: 30 good + 10 bad; oneway: 10 bad -> 50 good and 20 bad, 30 s each
    assert row["quality"]["publisher"]["scoreAvg"] == pytest.approx((50 * GOOD + 20 * BAD) / 70)
    assert row["quality"]["subscriber"]["scoreAvg"] is None  # no subscriber samples
    assert row["quality"]["issues"] == {"highPacketLoss": 2, "highRtt": 2, "oneWayMedia": 1, "highJitter": 0,
                                        "reconnect": 0}
