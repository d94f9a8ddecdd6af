"""End to end through the real pipeline: event JSON -> ingest validation -> raw store ->
derivation -> GraphQL, checked against values computed by hand from the events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, clock
from videoinsights.auth.tokens import AuthContext
from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.batch import validate_events
from videoinsights.query.executor import Executor
from videoinsights.store.base import Project
from videoinsights.store.duckdb.store import DuckDBStore

MIN = 60_000
A = fx.utc("2025-11-20T18:00:00")  # 10:00 PST
JS_US = {"sdkType": "JS", "sdkVersion": "2.27.3", "browser": "CHROME", "browserVersion": "120.0", "country": "US",
         "region": "CA"}
IOS_GB = {"sdkType": "IOS", "sdkVersion": "2.26.0", "country": "GB"}


def events() -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []

    def add(kind: str, t: float, **fields: Any) -> None:
        ev.append({"id": f"e{len(ev)}", "type": kind, "sessionId": "E2E", "timestamp": A + round(t * MIN),
                   **fields})

    add("connectAttempt", -1, outcome="failure", errorCode=1006, **IOS_GB)
    add("connectionCreated", 0, connectionId="u1", guid="g1", **JS_US)
    add("connectAttempt", 0, outcome="success", connectionId="u1")
    add("streamCreated", 5, streamId="s1", connectionId="u1", videoType="camera", hasAudio=True, hasVideo=True)
    add("archiveStarted", 5, archiveId="ar1", outputMode="composed", resolution="1280x720")
    add("publisherStats", 6, streamId="s1", videoLatencyMs=40.0, videoBitrateKbps=500.0, videoResolution="640x480")
    add("publisherStats", 6.5, streamId="s1", videoLatencyMs=120.0, videoBitrateKbps=900.0)
    add("connectionCreated", 10, connectionId="u2", guid="g2", **IOS_GB)
    add("subscriberCreated", 11, subscriberId="sub1", streamId="s1", connectionId="u2")
    add("subscriberStats", 12, subscriberId="sub1", videoLatencyMs=80.0, videoBitrateKbps=650.0,
        subscribeToAudio=True, subscribeToVideo=True)
    add("archiveStopped", 15, archiveId="ar1")
    add("subscriberDestroyed", 21, subscriberId="sub1")
    add("streamDestroyed", 25, streamId="s1")
    add("connectionDestroyed", 26, connectionId="u2")
    add("connectionDestroyed", 30, connectionId="u1")
    return ev


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = DuckDBStore(str(Path(tmp_path_factory.mktemp("e2e")) / "e2e.duckdb"))
    store.insert_project(Project(fx.PROJECT, "project", "e2e", fx.SECRET, None, "cb", True, fx.NOW_MS))
    batch = validate_events(events(), fx.PROJECT, fx.NOW_MS, 0, fx.NOW_MS)
    assert not batch.rejected
    store.append_events([batch.columns])
    derive_until_clean(store)
    executor = Executor(SETTINGS, store.reader, store.get_project, clock)
    yield lambda q: executor.run(AuthContext(fx.PROJECT, "project"), q)
    store.close()


def test_project_data_from_derived_rollups(run: Any) -> None:
    body = run("""{ project(projectId: 12345678) {
      projectData(start: "2025-11-20", end: "2025-11-21", groupBy: SDK_TYPE)
      { resources { sdkType usage { streamedPublishedMinutes streamedSubscribedMinutes }
        quality { publisher { latencyMsAvg latencyDistribution { ms50 ms200 }
                              videoBitrateDistribution { kbps500 kbps900 } }
                  subscriber { videoBitrateKbpsAvg } }
        errors { connect { attempts failures failureRate } } } } } }""")
    assert "errors" not in body, body
    rows = {r["sdkType"]: r for r in body["data"]["project"]["projectData"]["resources"]}
    # s1 published 10:05-10:25 by u1 (JS); sub1 subscribed 10:11-10:21 by u2 (IOS)
    assert rows["JS"]["usage"] == {"streamedPublishedMinutes": 20.0, "streamedSubscribedMinutes": 0.0}
    assert rows["IOS"]["usage"] == {"streamedPublishedMinutes": 0.0, "streamedSubscribedMinutes": 10.0}
    assert rows["JS"]["quality"]["publisher"] == {
        "latencyMsAvg": 80.0, "latencyDistribution": {"ms50": 1.0, "ms200": 1.0},
        "videoBitrateDistribution": {"kbps500": 1.0, "kbps900": 1.0}}
    assert rows["IOS"]["quality"]["subscriber"] == {"videoBitrateKbpsAvg": 650.0}
    assert rows["JS"]["errors"]["connect"] == {"attempts": 1, "failures": 0, "failureRate": 0.0}
    assert rows["IOS"]["errors"]["connect"] == {"attempts": 1, "failures": 1, "failureRate": 1.0}


def test_session_level_minutes_from_derived_rollups(run: Any) -> None:
    body = run("""{ project(projectId: 12345678) { projectData(start: "2025-11-20", end: "2025-11-21") {
      resources { usage { hdArchiveComposedMinutes sdArchiveComposedMinutes streamedPublishedMinutes } } } } }""")
    assert body["data"]["project"]["projectData"]["resources"] == [
        {"usage": {"hdArchiveComposedMinutes": 10.0, "sdArchiveComposedMinutes": 0.0,
                   "streamedPublishedMinutes": 20.0}}]


def test_session_tree_from_derived_tables(run: Any) -> None:
    body = run("""{ project(projectId: 12345678) { sessionData { sessions(sessionIds: ["E2E"]) { resources {
      sessionId mediaMode publisherMinutes subscriberMinutes meetings { totalCount resources {
        createdAt destroyedAt publisherMinutes subscriberMinutes
        connections { maxConcurrent resources { connectionId guid sdkType country createdAt destroyedAt } }
        publishers { resources { connectionId createdAt destroyedAt stream { streamId videoType hasAudioTrack }
          streamStatsCollection { resources { createdAt videoLatencyMs videoResolution } }
          subscribers { resources { subscriberId connectionId createdAt destroyedAt
            streamStatsCollection { resources { videoBitrateKbps subscribeToVideo } } } } } } } } } } } } }""")
    assert "errors" not in body, body
    session = body["data"]["project"]["sessionData"]["sessions"]["resources"][0]
    assert (session["mediaMode"], session["publisherMinutes"], session["subscriberMinutes"]) == ("routed", 20.0, 10.0)
    meeting = session["meetings"]["resources"][0]
    assert session["meetings"]["totalCount"] == 1
    assert (meeting["createdAt"], meeting["destroyedAt"]) == ("2025-11-20T18:00:00.000Z", "2025-11-20T18:30:00.000Z")
    assert meeting["connections"]["maxConcurrent"] == 2
    assert meeting["connections"]["resources"] == [
        {"connectionId": "u1", "guid": "g1", "sdkType": "JS", "country": "US", "createdAt": "2025-11-20T18:00:00.000Z",
         "destroyedAt": "2025-11-20T18:30:00.000Z"},
        {"connectionId": "u2", "guid": "g2", "sdkType": "IOS", "country": "GB",
         "createdAt": "2025-11-20T18:10:00.000Z", "destroyedAt": "2025-11-20T18:26:00.000Z"}]
    (pub,) = meeting["publishers"]["resources"]
    assert pub["stream"] == {"streamId": "s1", "videoType": "camera", "hasAudioTrack": True}
    assert (pub["createdAt"], pub["destroyedAt"]) == ("2025-11-20T18:05:00.000Z", "2025-11-20T18:25:00.000Z")
    assert pub["streamStatsCollection"]["resources"] == [
        {"createdAt": "2025-11-20T18:06:00.000Z", "videoLatencyMs": 40.0, "videoResolution": "640x480"},
        {"createdAt": "2025-11-20T18:06:30.000Z", "videoLatencyMs": 120.0, "videoResolution": None}]
    assert pub["subscribers"]["resources"] == [
        {"subscriberId": "sub1", "connectionId": "u2", "createdAt": "2025-11-20T18:11:00.000Z",
         "destroyedAt": "2025-11-20T18:21:00.000Z",
         "streamStatsCollection": {"resources": [{"videoBitrateKbps": 650.0, "subscribeToVideo": True}]}}]
