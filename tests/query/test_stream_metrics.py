"""The stream metrics beyond Vonage's (jitter, RTT, frame rate, freezes, quality limitation, available
outgoing bitrate), end to end over a real server: events over HTTP -> raw store -> stats_daily ->
rollups -> GraphQL, checked against values computed by hand from the samples below."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, cli, create_project, free_port
from videoinsights.domain.days import day_start_ms, la_day

MIN = 60_000

# Publisher s1 (connection u1, US) and its subscriber sub1 (connection u2, GB).
# jitter, rtt, fps, freezes, reason, available outgoing kbps; None = not reported
PUB_SAMPLES = [
    (10.0, 100.0, 30.0, 0, "none", 2000.0),
    (20.0, 140.0, 24.0, 1, "bandwidth", 600.0),
    (30.0, None, 15.0, 2, "bandwidth", 400.0),
    (None, None, None, None, None, None),  # an older client: counts in none of the averages
]
SUB_SAMPLES = [(5.0, 80.0, 30.0, 0), (15.0, 120.0, 20.0, 3)]
# By hand, over the samples that report each field:
PUB_AVG = {"jitterMsAvg": 20.0,  # (10 + 20 + 30) / 3
           "roundTripMsAvg": 120.0,  # (100 + 140) / 2
           "frameRateAvg": 23.0,  # (30 + 24 + 15) / 3
           "freezeCountAvg": 1.0,  # (0 + 1 + 2) / 3
           "availableOutgoingBitrateKbpsAvg": 1000.0,  # (2000 + 600 + 400) / 3
           "qualityLimitationDistribution": {"none": 1.0, "bandwidth": 2.0, "cpu": 0.0, "other": 0.0}}
SUB_AVG = {"jitterMsAvg": 10.0, "roundTripMsAvg": 100.0, "frameRateAvg": 25.0, "freezeCountAvg": 1.5,
           "availableOutgoingBitrateKbpsAvg": None,  # subscribers never report it
           "qualityLimitationDistribution": {"none": 0.0, "bandwidth": 0.0, "cpu": 0.0, "other": 0.0}}
NO_SAMPLES = {"jitterMsAvg": None, "roundTripMsAvg": None, "frameRateAvg": None, "freezeCountAvg": None,
              "availableOutgoingBitrateKbpsAvg": None,
              "qualityLimitationDistribution": {"none": 0.0, "bandwidth": 0.0, "cpu": 0.0, "other": 0.0}}
AVERAGES = ("jitterMsAvg roundTripMsAvg frameRateAvg freezeCountAvg availableOutgoingBitrateKbpsAvg "
            "qualityLimitationDistribution { none bandwidth cpu other }")


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def scenario(t0: int) -> tuple[list[dict], list[dict]]:
    """Lifecycle plus the first samples, and the remaining samples (sent later, in a second commit)."""
    ev: list[dict] = []

    def add(kind: str, t: int, **fields: Any) -> None:
        ev.append({"id": f"e{len(ev)}", "type": kind, "sessionId": "M", "timestamp": t0 + t, **fields})

    add("connectionCreated", 0, connectionId="u1", sdkType="JS", country="US")
    add("streamCreated", MIN, streamId="s1", connectionId="u1", hasAudio=True, hasVideo=True)
    add("connectionCreated", MIN, connectionId="u2", sdkType="IOS", country="GB")
    add("subscriberCreated", 2 * MIN, subscriberId="sub1", streamId="s1", connectionId="u2")
    for i, (jit, rtt, fps, frz, reason, aob) in enumerate(PUB_SAMPLES):
        add("publisherStats", 2 * MIN + i * 30_000, streamId="s1", videoBitrateKbps=500.0,
            **_drop_none(jitterMs=jit, roundTripMs=rtt, frameRate=fps, freezeCount=frz,
                         qualityLimitationReason=reason, availableOutgoingBitrateKbps=aob))
    for i, (jit, rtt, fps, frz) in enumerate(SUB_SAMPLES):
        add("subscriberStats", 3 * MIN + i * 30_000, subscriberId="sub1",
            jitterMs=jit, roundTripMs=rtt, frameRate=fps, freezeCount=frz)
    add("subscriberDestroyed", 8 * MIN, subscriberId="sub1")
    add("streamDestroyed", 9 * MIN, streamId="s1")
    add("connectionDestroyed", 10 * MIN, connectionId="u2")
    add("connectionDestroyed", 10 * MIN, connectionId="u1")
    later = [ev[5], ev[9]]  # the second publisher sample and the second subscriber sample
    return [e for e in ev if e not in later], later


def graphql(server: Server, creds: ProjectCreds, query: str) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers())
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    return body["data"]["project"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = tmp_path_factory.mktemp("metrics") / "vi.duckdb"
    creds = create_project(db)
    server = Server(db, free_port())
    server.start()
    day = la_day(int(time.time() * 1000)) - timedelta(days=2)
    first, later = scenario(day_start_ms(day) + 10 * 3600_000)  # 10:00 local
    for batch in (first, later):  # two commits: stats_daily sums add up across them
        r = httpx.post(f"{server.url}/v1/events", json=batch, headers=creds.headers())
        assert r.json() == {"accepted": len(batch), "duplicates": 0, "rejected": []}
        server.wait_derived()
    yield server, creds, day.isoformat()
    server.stop()


def project_quality(server: Server, creds: ProjectCreds, day: str, group: str = "") -> list[dict[str, Any]]:
    data = graphql(server, creds, f"""{{ project(projectId: {creds.project_id}) {{
      projectData(start: "{day}", end: "{day}"{group}) {{ resources {{ country
        quality {{ publisher {{ {AVERAGES} }} subscriber {{ {AVERAGES} }} }} }} }} }} }}""")
    return data["projectData"]["resources"]


def test_project_quality_averages_of_the_new_metrics(served: Any) -> None:
    server, creds, day = served
    (row,) = project_quality(server, creds, day)
    assert row["quality"] == {"publisher": PUB_AVG, "subscriber": SUB_AVG}


def test_averages_follow_the_endpoint_of_each_side(served: Any) -> None:
    """Publisher samples count on the publishing connection (US), subscriber samples on the subscribing one (GB)."""
    server, creds, day = served
    rows = {r["country"]: r["quality"] for r in project_quality(server, creds, day, ", groupBy: COUNTRY")}
    assert rows == {"US": {"publisher": PUB_AVG, "subscriber": NO_SAMPLES},
                    "GB": {"publisher": NO_SAMPLES, "subscriber": SUB_AVG}}


def test_samples_carry_the_new_fields(served: Any) -> None:
    server, creds, _ = served
    fields = "jitterMs roundTripMs frameRate freezeCount"
    data = graphql(server, creds, f"""{{ project(projectId: {creds.project_id}) {{ sessionData {{
      session(sessionId: "M") {{ meetings {{ resources {{ publishers {{ resources {{
        streamStatsCollection {{ resources {{ {fields} qualityLimitationReason availableOutgoingBitrateKbps }} }}
        subscribers {{ resources {{ streamStatsCollection {{ resources {{ {fields} }} }} }} }}
      }} }} }} }} }} }} }} }}""")
    publisher = data["sessionData"]["session"]["meetings"]["resources"][0]["publishers"]["resources"][0]
    names = ("jitterMs", "roundTripMs", "frameRate", "freezeCount", "qualityLimitationReason",
             "availableOutgoingBitrateKbps")
    assert publisher["streamStatsCollection"]["resources"] == [dict(zip(names, s, strict=True)) for s in PUB_SAMPLES]
    subscriber = publisher["subscribers"]["resources"][0]
    assert subscriber["streamStatsCollection"]["resources"] == [
        dict(zip(names[:4], s, strict=True)) for s in SUB_SAMPLES]


def test_rebuild_gives_the_same_averages(served: Any) -> None:
    """stats_daily is rebuilt from the raw samples in one pass: the sums must match the incremental ones."""
    server, creds, day = served
    cli(server.db, "rebuild")
    server.wait_derived()
    (row,) = project_quality(server, creds, day)
    assert row["quality"] == {"publisher": PUB_AVG, "subscriber": SUB_AVG}
