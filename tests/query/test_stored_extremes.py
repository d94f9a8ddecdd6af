"""One stored out-of-range value must not break a report (issue 11, finding 8, read side).

Ingestion now refuses such values, but older files (or another writer) may hold them. The rows
are written straight into the DuckDB file through the store while no server runs, then read
through a real server: the averages they overflow are null, everything else is answered."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import create_project
from videoinsights.ingest.batch import validate_events
from videoinsights.store.duckdb.store import DuckDBStore

MIN = 60_000


def events(start: int) -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = []

    def add(kind: str, minute: float, **fields: Any) -> None:
        ev.append({"id": f"e{len(ev)}", "type": kind, "sessionId": "X", "timestamp": start + round(minute * MIN),
                   **fields})

    js = {"sdkType": "JS", "sdkVersion": "2.27.3", "browser": "CHROME", "country": "US"}
    add("connectionCreated", 0, connectionId="u1", **js)
    add("connectionCreated", 0, connectionId="u2", **js)
    add("streamCreated", 1, streamId="s1", connectionId="u1", videoType="camera", hasAudio=True, hasVideo=True)
    add("subscriberCreated", 1, subscriberId="sub1", streamId="s1", connectionId="u2")
    # the publisher's two samples get 1.7e308 kbps below (their sum overflows to inf)
    add("publisherStats", 2, streamId="s1", videoLatencyMs=40.0, videoBitrateKbps=500.0)
    add("publisherStats", 2.5, streamId="s1", videoLatencyMs=120.0, videoBitrateKbps=500.0)
    add("subscriberStats", 3, subscriberId="sub1", videoLatencyMs=80.0, videoBitrateKbps=650.0)
    add("subscriberStats", 3.5, subscriberId="sub1", videoLatencyMs=60.0, videoBitrateKbps=850.0,
        audioBitrateKbps=40.0)
    add("subscriberDestroyed", 9, subscriberId="sub1")
    add("streamDestroyed", 10, streamId="s1")
    add("connectionDestroyed", 10, connectionId="u1")
    add("connectionDestroyed", 10, connectionId="u2")
    return ev


def write_extremes(db: Path, project_id: str, start: int) -> None:
    batch = validate_events(events(start), project_id, start, 0, start + 60 * MIN)
    assert not batch.rejected
    columns = batch.columns
    types = columns["type"]
    bitrates = columns["video_bitrate_kbps"]
    for i, kind in enumerate(types):
        if kind == "publisherStats":
            bitrates[i] = 1.7e308
    last = max(i for i, kind in enumerate(types) if kind == "subscriberStats")
    columns["audio_bitrate_kbps"][last] = math.nan
    for column, value in (("jitter_ms", math.inf), ("freeze_count", 2**40)):  # 2^40 fits BIGINT, not GraphQL's Int
        columns.setdefault(column, [None] * len(types))[last] = value
    store = DuckDBStore(str(db))
    try:
        store.append_events([columns])
        store.checkpoint()
    finally:
        store.close()


def test_overflowing_stored_values_do_not_break_quality_reports(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    start = (int(time.time()) - 3 * 3600) * 1000
    write_extremes(db, creds.project_id, start)
    server = server_factory(db=db)
    server.wait_derived()

    def post(query: str) -> dict[str, Any]:
        response = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers(), timeout=30)
        assert response.status_code == 200
        return response.json()

    report = post(f"""{{ project(projectId: {creds.project_id}) {{ projectData(start: 0) {{ resources {{
        usage {{ streamedPublishedMinutes }}
        quality {{ publisher {{ videoBitrateKbpsAvg videoBitrateAvg latencyMsAvg
                               videoBitrateDistribution {{ kbps500 kbps3000Plus }} }}
                  subscriber {{ videoBitrateKbpsAvg latencyMsAvg }} }} }} }} }} }}""")
    assert "errors" not in report, report
    (row,) = report["data"]["project"]["projectData"]["resources"]
    assert row["usage"] == {"streamedPublishedMinutes": 9.0}  # s1 from minute 1 to minute 10
    assert row["quality"] == {
        # 1.7e308 + 1.7e308 overflows: no average, rather than no report; the samples are still counted
        "publisher": {"videoBitrateKbpsAvg": None, "videoBitrateAvg": None, "latencyMsAvg": 80.0,
                      "videoBitrateDistribution": {"kbps500": 0.0, "kbps3000Plus": 2.0}},
        "subscriber": {"videoBitrateKbpsAvg": 750.0, "latencyMsAvg": 70.0},
    }

    stats = post(f"""{{ project(projectId: {creds.project_id}) {{ sessionData {{ sessions(sessionIds: ["X"]) {{
        resources {{ meetings {{ resources {{
          publishers {{ resources {{ streamStatsCollection {{ resources {{ videoBitrateKbps }} }} }} }}
          subscribers {{ resources {{ streamStatsCollection {{
            resources {{ videoBitrateKbps audioBitrateKbps jitterMs freezeCount }} }} }} }}
        }} }} }} }} }} }} }}""")
    assert "errors" not in stats, stats
    (meeting,) = stats["data"]["project"]["sessionData"]["sessions"]["resources"][0]["meetings"]["resources"]
    (publisher,) = meeting["publishers"]["resources"]
    assert publisher["streamStatsCollection"]["resources"] == [{"videoBitrateKbps": 1.7e308}] * 2  # finite: as is
    (subscriber,) = meeting["subscribers"]["resources"]
    assert subscriber["streamStatsCollection"]["resources"] == [
        {"videoBitrateKbps": 650.0, "audioBitrateKbps": None, "jitterMs": None, "freezeCount": None},
        # NaN, inf and 2^40 stored: null
        {"videoBitrateKbps": 850.0, "audioBitrateKbps": None, "jitterMs": None, "freezeCount": None},
    ]
