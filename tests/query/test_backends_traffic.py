"""Same traffic, same answers: simulated traffic (late, duplicated and shuffled events) ingested and derived
on a DuckDB store and on a ClickHouse (chdb) store through the Store interface, then the API (the 73 real
client queries, live, fine intervals, quality, the session tree), exports, alert evaluation and the
account and key operations compared between the two.

Floats may differ in their last bits (ClickHouse sums the per-session contributions in its own order), so
they are compared to 1e-9 relative; everything else, including types that reach JSON, must be equal.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS
from tests.query.test_client_queries import FILES, VARIABLES, number, shifted
from tests.support.stores import drop, new_store_url
from videoinsights.accounts import ops as account_ops
from videoinsights.alerts.evaluate import Observation, ended_meetings, observe
from videoinsights.alerts.rules import Rule
from videoinsights.auth import key_ops
from videoinsights.auth.tokens import AuthContext
from videoinsights.derive.engine import derive_all
from videoinsights.domain.days import day_start_ms
from videoinsights.ingest.batch import validate_events
from videoinsights.query.executor import Executor
from videoinsights.query.export import ExportRequest, export_rows, parse_request
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.store.base import Project
from videoinsights.store.open import open_store

# 2025-11-27 04:43 in Los Angeles, when the most connections of the traffic below are open (9): events after
# it are cut, so those sessions are live "now" (test_the_comparisons_saw_data checks it).
NOW = 1_764_247_380_000
START = day_start_ms(date(2025, 11, 26))


def same(a: Any, b: Any, path: str = "") -> None:
    """a == b, floats to 1e-9 relative (see the module docstring)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: {sorted(a)} != {sorted(b)}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):  # alert transitions: field by field
        assert type(a) is type(b), f"{path}: {a!r} != {b!r}"
        same(dataclasses.asdict(a), dataclasses.asdict(b), path)
    else:
        assert type(a) is type(b) and a == b, f"{path}: {a!r} != {b!r}"


def _traffic() -> list[list[dict[str, Any]]]:
    """Two days of a project's traffic up to NOW, delivered late and twice now and then, in shuffled batches."""
    events = [e for e in deliver(generate(fx.PROJECT, START, 2, 8, seed=11), seed=11, late_fraction=0.05,
                                 duplicate_fraction=0.05) if e["timestamp"] <= NOW]
    rng = random.Random(4)
    batches = []
    for i in range(0, len(events), 1000):
        batch = events[i:i + 1000]
        rng.shuffle(batch)
        batches.append(batch)
    return batches


def _fill(store: Any, batches: list[list[dict[str, Any]]]) -> None:
    store.insert_project(Project(fx.PROJECT, "project", "test", fx.SECRET, None, "cb", True, NOW))
    store.insert_project(Project(fx.DOCS_PROJECT, "project", "docs", fx.DOCS_SECRET, None, "cb", False, NOW))
    for batch in batches:
        validated = validate_events(batch, fx.PROJECT, NOW, 0, NOW + 300_000)
        assert not validated.rejected
        store.append_events([validated.columns])
    derive_all(store)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    tmp = tmp_path_factory.mktemp("traffic")
    batches = _traffic()
    duck = open_store(new_store_url("duckdb", tmp))
    url = new_store_url("chdb", tmp)
    ch = open_store(url)
    for store in (duck, ch):
        _fill(store, batches)
    yield duck, ch
    duck.close()
    ch.close()
    drop(url)


@pytest.fixture(scope="module")
def executors(stores: tuple[Any, Any]) -> tuple[Executor, Executor]:
    def clock() -> float:
        return NOW / 1000

    return tuple(Executor(SETTINGS, s.reader, s.get_project, clock) for s in stores)  # type: ignore[return-value]


def run_both(executors: tuple[Executor, Executor], query: str, variables: dict[str, Any] | None = None,
             project: str = fx.PROJECT) -> dict[str, Any]:
    auth = AuthContext(project, "project")
    on_duck, on_ch = (e.run(auth, query, variables) for e in executors)
    same(on_duck, on_ch)
    return on_duck


def test_the_traffic_was_derived_on_both(stores: tuple[Any, Any]) -> None:
    duck, ch = stores
    n_duck = duck.reader().execute("SELECT count(*), sum(meeting_count) FROM sessions").fetchone()
    n_ch = ch.client.query_rows("SELECT count(), sum(meeting_count) FROM sessions")[0]
    assert n_duck[0] > 5 and tuple(n_ch) == tuple(n_duck)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_client_query_same_json(executors: tuple[Executor, Executor], path: Path) -> None:
    text = shifted(path)
    project = fx.DOCS_PROJECT if "projectId: 100)" in text else fx.PROJECT
    run_both(executors, text, VARIABLES.get(number(path)), project)


TREE = """{ project(projectId: 12345678) { sessionData { sessionSummaries(start: 1763884800000, first: 4) {
  totalCount pageInfo { endCursor hasNextPage } resources { sessionId mediaMode publisherMinutes
  participantMinutes { from1To2Publishers from3To6Publishers } quality { score scoreP10 }
  meetings { totalCount resources { meetingId createdAt destroyedAt publisherMinutes subscriberMinutes
    maxConcurrentConnections maxConcurrentStreams totalStreams totalSubscribers } } } } } } }"""

EXTENSIONS = {
    "tree": TREE,
    "report_shapes": """{ project(projectId: 12345678) {
      d: projectData(start: "2025-11-20", interval: DAILY, groupBy: [COUNTRY, REGION, BROWSER]) {
        totalCount resources { intervalStart country region browser usage { streamedPublishedMinutes
          streamedSubscribedMinutes } quality { subscriber { videoBitrateKbpsAvg latencyMsAvg } }
          errors { connect { attempts failures } subscribe { attempts failures } } } }
      w: projectData(start: "2025-10-01", interval: WEEKLY) { totalCount resources { intervalStart
          usage { participantMinutes { from1To2Publishers from3To6Publishers } individualArchiveMinutes } } }
      m: projectData(start: 0, interval: MONTHLY, sdkType: [JS, IOS], groupBy: [SDK_TYPE]) {
          totalCount resources { intervalStart sdkType usage { streamedSubscribedMinutes } } }
      h: projectData(start: 1764057600000, end: 1764244800000, interval: HOURLY, groupBy: [SDK_TYPE]) {
          totalCount resources { intervalStart sdkType usage { streamedPublishedMinutes } } }
      mi: projectData(start: 1764236580000, interval: MINUTE, country: [US]) {
          totalCount resources { intervalStart usage { streamedSubscribedMinutes } } } } }""",
    "quality": """{ project(projectId: 12345678) { sessionData {
      a: sessionSummaries(start: 1763884800000, orderBy: WORST_SCORE, first: 30) {
        totalCount resources { sessionId quality { score scoreP10 issues { type start end metric value } } } }
      b: sessionSummaries(start: 1763884800000, minScore: 2, maxScore: 4.2) { totalCount resources { sessionId } }
      c: sessionSummaries(start: 1763884800000, issueType: "high_rtt") { totalCount resources { sessionId } }
      }
      d: projectData(start: "2025-11-20", interval: DAILY) { totalCount resources { intervalStart quality {
        scoreDistribution { score1_5 score2 score2_5 score3 score3_5 score4 score4_5 score5 }
        publisher { scoreAvg } subscriber { scoreAvg } issues { highPacketLoss highRtt highJitter lowFrameRate } } } }
      } }""",
    "live": """{ project(projectId: 12345678) { live(windowMinutes: 60) { at windowMinutes sessions participants
      publishers subscribers streamsByVideoType { camera screen custom other } minutesPerMinute attempts failures
      failureRate perMinute { minute minutes participants attempts failures videoBitrateKbpsAvg latencyMsAvg }
      liveSessions { sessionId createdAt participants publishers } } } }""",
    "live_filtered": """{ project(projectId: 12345678) { live(windowMinutes: 180, country: [US, GB],
      sdkType: [JS]) { sessions participants publishers attempts failures
      perMinute { minute minutes participants videoBitrateKbpsAvg latencyMsAvg } liveSessions { sessionId } } } }""",
}


@pytest.mark.parametrize("name", EXTENSIONS)
def test_extension_reads_same_json(executors: tuple[Executor, Executor], name: str) -> None:
    body = run_both(executors, EXTENSIONS[name])
    assert "errors" not in body, body["errors"]


SESSIONS = """query($ids: [String]!) { project(projectId: 12345678) { sessionData { sessions(sessionIds: $ids) {
  totalCount resources { sessionId quality { score issues { type start end metric value threshold samples } }
  meetings { totalCount resources { meetingId createdAt quality { score scoreP10 issues { type value } }
    connections { totalCount maxConcurrent resources { connectionId createdAt destroyedAt country region browser
      sdkType guid quality { score }
      publishers { totalCount resources { stream { streamId videoType } } }
      subscribers { totalCount resources { subscriberId stream { streamId videoType hasAudioTrack } } } } }
    subscribers(first: 3) { totalCount resources { subscriberId createdAt quality { score }
      streamStatsCollection(first: 2, endCursor: "aW5zaWdodHMtcmVzb3VyY2U6MQ==") {
        totalCount resources { createdAt videoLatencyMs subscribeToVideo videoBitrateKbps freezeCount } } } }
    publishers(first: 2) { totalCount resources { createdAt stream { streamId videoType hasVideoTrack }
      quality { score issues { type } }
      streamStatsCollection(first: 3) { totalCount resources { createdAt videoBitrateKbps audioLatencyMs
        qualityLimitationReason videoResolution } }
      subscribers { totalCount resources { subscriberId quality { score scoreP10 } } } } } } } } } } } }"""


def test_session_quality_tree_same_json(executors: tuple[Executor, Executor]) -> None:
    ids_query = "{ project(projectId: 12345678) { sessionData { sessionSummaries(start: 1763884800000, first: 20) " \
                "{ resources { sessionId } } } } }"
    found = run_both(executors, ids_query)["data"]["project"]["sessionData"]["sessionSummaries"]["resources"]
    body = run_both(executors, SESSIONS, {"ids": [r["sessionId"] for r in found][:8]})
    assert "errors" not in body, body["errors"]
    sessions = body["data"]["project"]["sessionData"]["sessions"]["resources"]
    assert len(sessions) == min(8, len(found)) and any(s["quality"]["score"] is not None for s in sessions)
    stats = [p["streamStatsCollection"]["totalCount"] for s in sessions
             for m in s["meetings"]["resources"] for p in m["publishers"]["resources"]]
    assert sum(stats) > 20


def test_the_comparisons_saw_data(executors: tuple[Executor, Executor]) -> None:
    """The answers compared above are not empty: the traffic reaches every read compared."""
    tree = run_both(executors, TREE)["data"]["project"]["sessionData"]["sessionSummaries"]
    assert tree["totalCount"] > 5 and tree["pageInfo"]["hasNextPage"]
    live = run_both(executors, EXTENSIONS["live"])["data"]["project"]["live"]
    assert live["participants"] > 0 and any(m["videoBitrateKbpsAvg"] is not None for m in live["perMinute"])
    shapes = run_both(executors, EXTENSIONS["report_shapes"])["data"]["project"]
    assert shapes["h"]["totalCount"] > 10 and shapes["mi"]["totalCount"] > 0 and shapes["d"]["totalCount"] > 10
    quality = run_both(executors, EXTENSIONS["quality"])["data"]["project"]["sessionData"]
    assert any(r["quality"]["score"] is not None for r in quality["a"]["resources"])
    days = run_both(executors, EXTENSIONS["quality"])["data"]["project"]["d"]["resources"]
    assert sum(sum(r["quality"]["scoreDistribution"].values()) for r in days) > 5
    assert any(r["quality"]["subscriber"]["scoreAvg"] for r in days)


@pytest.mark.parametrize("kind", ["projectData", "projectData-ungrouped", "sessions", "meetings", "connections",
                                  "publishers", "subscribers", "stats"])
def test_exports_same_rows(stores: tuple[Any, Any], kind: str) -> None:
    params = {"start": ["2025-11-24"], "format": ["csv"]}
    if kind == "projectData":
        params.update(interval=["DAILY"], groupBy=["country"])
    if kind == "projectData-ungrouped":  # its rows carry quality.scoreDistribution (null when grouped)
        kind = "projectData"
        params.update(interval=["DAILY"])
    request: ExportRequest = parse_request(fx.PROJECT, {"kind": [kind], **params})
    first_day = date(2025, 9, 1)
    out = []
    for store in stores:
        cursor = store.export_cursor()
        out.append([row for batch in export_rows(request, cursor, NOW, first_day, 500, sql=store.sql)
                    for row in batch])
    same(out[0], out[1])
    ungrouped = "groupBy" not in params and kind == "projectData"
    assert len(out[0]) > (1 if ungrouped else 5)  # ungrouped: a row per day of the traffic (two)
    if ungrouped:
        scored = [v for row in out[0] for k, v in row.items() if "scoreDistribution" in str(k) and v]
        assert sum(scored) > 5


RULES = [
    # rule_id, metric, countries, sdks, browsers, window_s, issue_type
    ("r-connect", "connect_failure_rate", [], [], [], 3600, None),
    ("r-sub-us", "subscribe_failure_rate", ["US"], ["JS"], [], 86_400, None),
    ("r-minutes", "minutes", [], [], [], 7200, None),
    ("r-minutes-none", "minutes", [], [], ["IE"], 7200, None),  # no stream matches: 0 minutes, not the window
    ("r-p10", "score_p10", [], [], [], 86_400, None),
    ("r-share", "issue_share", ["US", "GB"], [], [], 86_400, "high_rtt"),
    ("r-ended", "meeting_ended", [], [], [], 3600, None),
]


def test_alert_evaluation_same(stores: tuple[Any, Any]) -> None:
    seen = []
    for store in stores:
        cur = store.reader()
        for rule_id, metric, countries, sdks, browsers, window_s, issue in RULES:
            store.sql.alerts.insert_rule(cur, (rule_id, fx.PROJECT, metric, countries, sdks, browsers, window_s,
                                               1.0, "above", 60, "https://hook.example/x", "whsec", NOW - 172_800_000,
                                               "ok", NOW - 172_800_000, None, issue))
        rules = [Rule.from_row(r) for r in store.sql.alerts.all_rules(cur)]
        rules.sort(key=lambda r: r.rule_id)
        seen.append((sorted(observe(store, rules, NOW).items()), ended_meetings(store, rules, NOW),
                     [r.json(secret=True) for r in rules]))
    same(seen[0], seen[1])
    observations = dict(seen[0][0])
    assert observations["r-connect"].detail["attempts"] > 0 and observations["r-minutes"].value
    assert observations["r-minutes-none"] == Observation(0.0, {"streams": 0})
    assert seen[0][1], "some meetings ended in the lookback"


def test_account_and_key_operations_same(stores: tuple[Any, Any]) -> None:
    """The operations the CLI and the dashboard run, in the same order on both stores."""
    outcomes = []
    for store in stores:
        steps: list[Any] = [
            {k: v for k, v in account_ops.create_account(store, "ana@example.com", "$argon2id$v=19$m=65536,t=3,p=4$x$y")
             .items() if k not in ("createdAt", "accountId")},
            account_ops.grant_project(store, "ana@example.com", fx.PROJECT),
            account_ops.grant_project(store, "ana@example.com", fx.PROJECT),  # already: granted False
            account_ops.grant_project(store, "ana@example.com", fx.DOCS_PROJECT),
            account_ops.revoke_project(store, "ana@example.com", fx.DOCS_PROJECT),
            account_ops.set_password(store, "ana@example.com", "$argon2id$v=19$m=65536,t=3,p=4$a$b"),
        ]
        listed = account_ops.list_accounts(store)
        steps.append([{k: v for k, v in a.items() if k not in ("createdAt", "accountId")} for a in listed])
        cur, sql = store.reader(), store.sql.accounts
        steps.append(sql.put_meta_if_absent(cur, "cookie", "first"))
        steps.append(sql.put_meta_if_absent(cur, "cookie", "second"))
        key = key_ops.create_client_key(store, fx.PROJECT, ["https://app.example"], "web")
        steps.append(sorted(k for k in key if k not in ("key", "prefix", "createdAt")))
        steps.append([k["origins"] for k in key_ops.list_client_keys(store, fx.PROJECT)])
        revoked = key_ops.revoke_client_key(store, key["key"])
        steps.append(revoked["revokedAt"] is not None)
        steps.append(len(store.sql.client_keys.active_client_keys(cur)))
        steps.append(key_ops.add_livekit_key(store, fx.PROJECT, "APIkey1", "s3cret"))
        steps.append([k["apiKey"] for k in key_ops.list_livekit_keys(store, fx.PROJECT)])
        steps.append(store.sql.client_keys.livekit_key(cur, "APIkey1"))
        steps.append(key_ops.remove_livekit_key(store, fx.PROJECT, "APIkey1"))
        steps.append(store.sql.client_keys.livekit_key(cur, "APIkey1"))
        outcomes.append(steps)
    same(outcomes[0], outcomes[1])
    assert outcomes[0][2]["granted"] is False and outcomes[0][7] == outcomes[0][8] == "first"
    assert outcomes[0][-1] is None and outcomes[0][-3] == ("12345678", "s3cret")
