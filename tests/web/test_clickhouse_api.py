"""The API of a real server on a clickhouse:// store answers as a real server on DuckDB: the same events
posted over HTTP to both, then GraphQL (reports, the session tree with stats, quality, live) and exports
fetched over HTTP and compared.

The ClickHouse server is reached through clickhouse-connect, so this also runs the read modules' parameter
binding over ClickHouse's HTTP interface (the test front of tests/support/ch_http.py executes it in chdb;
no ClickHouse server can be installed here). Floats are compared to 1e-9 relative, as in
tests/query/test_backends_traffic.py.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import ProjectCreds, cli
from tests.query.test_backends_traffic import same
from tests.test_pipeline import scenario
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate

PROJECT = "424242"


def _project(db: Any, env: dict[str, str]) -> ProjectCreds:
    created = json.loads(cli(db, "projects", "create", "--name", "api", "--json", "--advanced-insights",
                             "--project-id", PROJECT, env=env))
    return ProjectCreds(str(created["projectId"]), created["apiSecret"], created["callbackToken"])


def _events(now_ms: int) -> list[list[dict[str, Any]]]:
    """The pipeline test's hand-written sessions and a day of simulated traffic up to now, shuffled batches."""
    base = day_start_ms(la_day(now_ms) - timedelta(days=1))
    simulated = [e for e in deliver(generate(PROJECT, base, 2, 4, seed=5), seed=5, duplicate_fraction=0.05)
                 if e["timestamp"] <= now_ms]
    events = scenario(base) + simulated
    random.Random(2).shuffle(events)
    return [events[i:i + 2000] for i in range(0, len(events), 2000)]


def _queries(now_ms: int) -> dict[str, tuple[str, dict[str, Any] | None]]:
    start = day_start_ms(la_day(now_ms) - timedelta(days=2))
    return {
        "daily": ("""query($s: Date!) { project(projectId: 424242) { projectData(start: $s, interval: DAILY,
            groupBy: [COUNTRY, SDK_TYPE, BROWSER]) { totalCount resources { intervalStart country sdkType browser
            usage { streamedPublishedMinutes streamedSubscribedMinutes participantMinutes { from1To2Publishers } }
            quality { publisher { latencyMsAvg videoBitrateKbpsAvg scoreAvg
              latencyDistribution { ms50 ms100 ms200 ms1000Plus } } }
            errors { connect { attempts failures } } } } } }""", {"s": start}),
        "total_and_hourly": ("""query($s: Date!) { project(projectId: 424242) {
            t: projectData(start: $s) { resources { usage { streamedPublishedMinutes hlsMinutes } } }
            h: projectData(start: $s, interval: HOURLY, sdkType: [IOS, JS]) { totalCount
              resources { intervalStart usage { streamedPublishedMinutes } } } } }""", {"s": start}),
        "sessions": ("""query($s: Date!) { project(projectId: 424242) { sessionData {
            sessionSummaries(start: $s, first: 50, orderBy: WORST_SCORE) { totalCount resources { sessionId
              quality { score } meetings { totalCount resources { meetingId createdAt destroyedAt
              publisherMinutes maxConcurrentConnections } } } } } } }""", {"s": start}),
        "live": ("""{ project(projectId: 424242) { live(windowMinutes: 180) { sessions participants publishers
            subscribers attempts failures perMinute { minute minutes participants attempts videoBitrateKbpsAvg }
            liveSessions { sessionId participants publishers } } } }""", None),
    }


TREE = """query($ids: [String]!) { project(projectId: 424242) { sessionData { sessions(sessionIds: $ids) {
  totalCount resources { sessionId mediaMode quality { score issues { type value } }
  meetings { resources { meetingId quality { score }
    connections { totalCount resources { connectionId createdAt destroyedAt country sdkType
      publishers { resources { stream { streamId videoType } } } } }
    publishers(first: 3) { totalCount resources { stream { streamId hasVideoTrack }
      streamStatsCollection(first: 4) { totalCount resources { createdAt videoLatencyMs videoBitrateKbps } }
      subscribers { totalCount resources { subscriberId
        streamStatsCollection(first: 2) { totalCount resources { createdAt videoBitrateKbps } }
        } } } } } } } } } } }"""


def _cell(text: str) -> Any:
    """A CSV cell as a float when it is a number with a fraction (compared to 1e-9), else as written."""
    try:
        return float(text) if "." in text else text
    except ValueError:
        return text


def _post(url: str, creds: ProjectCreds, query: str, variables: dict[str, Any] | None) -> dict[str, Any]:
    r = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                   headers={"X-OPENTOK-AUTH": creds.token()}, timeout=60)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "errors" not in body, body["errors"]
    return body


def test_a_server_on_clickhouse_answers_as_one_on_duckdb(tmp_path, server_factory, clickhouse_front) -> None:
    ch_env = {"VIDEOINSIGHTS_STORE": clickhouse_front}
    duck_db, ch_db = tmp_path / "duck.duckdb", tmp_path / "unused.duckdb"
    creds = [_project(duck_db, {}), _project(ch_db, ch_env)]
    servers = [server_factory(db=duck_db), server_factory(env=ch_env, db=ch_db)]
    now = int(time.time() * 1000)
    for batch in _events(now):
        for server, c in zip(servers, creds, strict=True):
            r = httpx.post(f"{server.url}/v1/events", json=batch, headers=c.headers(), timeout=60)
            assert r.status_code == 200 and not r.json()["rejected"], r.text
    for server in servers:
        server.wait_derived(120)

    answers = {}
    for name, (query, variables) in _queries(now).items():
        on_duck, on_ch = (_post(s.url, c, query, variables) for s, c in zip(servers, creds, strict=True))
        same(on_duck, on_ch, name)
        answers[name] = on_duck["data"]["project"]
    summaries = answers["sessions"]["sessionData"]["sessionSummaries"]["resources"]
    assert len(summaries) > 3 and answers["daily"]["projectData"]["totalCount"] > 3
    ids = [s["sessionId"] for s in summaries][:6]
    on_duck, on_ch = (_post(s.url, c, TREE, {"ids": ids}) for s, c in zip(servers, creds, strict=True))
    same(on_duck, on_ch, "tree")
    stats = [p["streamStatsCollection"]["totalCount"] for s in on_duck["data"]["project"]["sessionData"]["sessions"]
             ["resources"] for m in s["meetings"]["resources"] for p in m["publishers"]["resources"]]
    assert sum(stats) > 4

    for kind in ("projectData", "sessions", "connections", "subscribers", "stats"):
        files = [httpx.get(f"{s.url}/v1/projects/{PROJECT}/export", params={"kind": kind, "start": "0"},
                           headers={"X-OPENTOK-AUTH": c.token()}, timeout=60) for s, c in zip(servers, creds,
                                                                                               strict=True)]
        assert [f.status_code for f in files] == [200, 200], [f.text for f in files]
        tables = [list(csv.reader(io.StringIO(f.text))) for f in files]
        same([[_cell(v) for v in row] for row in tables[0]], [[_cell(v) for v in row] for row in tables[1]], kind)
        assert len(tables[0]) >= 2, kind  # a header and rows
