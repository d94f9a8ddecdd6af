"""/metrics of a real server, read with prometheus_client's own parser."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ProjectCreds, Server, create_project
from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.load import load_events
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.web.metrics import BoundedLabels, CommitClock, derivation_backlog


def conn(i: int, session: str = "s1") -> dict[str, Any]:
    return {"id": f"c{i}", "type": "connectionCreated", "sessionId": session,
            "timestamp": int(time.time() * 1000) - 60_000, "connectionId": f"conn-{i}", "sdkType": "js"}


def samples(server: Server) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    text = httpx.get(f"{server.url}/metrics").text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(all_samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return all_samples.get((name, frozenset(labels.items())), 0.0)


def test_latency_histogram_moves_per_route_template(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    before = samples(server)
    for _ in range(3):
        assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/no/such/page-123").status_code == 404
    callback = f"{server.url}/v1/projects/{creds.project_id}/callbacks/vonage?token=wrong"
    assert httpx.post(callback, content=b"{}").status_code == 401
    after = samples(server)

    health = {"route": "/health", "method": "GET", "status": "200"}
    assert value(after, "videoinsights_http_request_duration_seconds_count", **health) == \
        value(before, "videoinsights_http_request_duration_seconds_count", **health) + 3
    assert value(after, "videoinsights_http_requests_total", **health) == \
        value(before, "videoinsights_http_requests_total", **health) + 3
    # every bucket of a histogram counts requests at most that slow: +Inf holds all three
    assert value(after, "videoinsights_http_request_duration_seconds_bucket", le="+Inf", **health) == \
        value(before, "videoinsights_http_request_duration_seconds_bucket", le="+Inf", **health) + 3
    assert value(after, "videoinsights_http_request_duration_seconds_sum", **health) > \
        value(before, "videoinsights_http_request_duration_seconds_sum", **health)
    # the label is the route's template, not the raw path (whose project id would be unbounded)
    assert value(after, "videoinsights_http_requests_total", route="/v1/projects/{project_id}/callbacks/vonage",
                 method="POST", status="401") == 1
    assert value(after, "videoinsights_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert not any(creds.project_id in dict(labels).get("route", "") for _, labels in after)


def test_ingest_outcomes_per_project_and_batch_sizes(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    url = f"{server.url}/v1/events"
    first = httpx.post(url, json=[conn(1), conn(2), conn(3), {"id": "bad", "type": "nope"}], headers=creds.headers())
    assert first.json()["accepted"] == 3
    second = httpx.post(url, json=[conn(3), conn(4)], headers=creds.headers())  # c3 again: a duplicate
    assert second.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    server.wait_derived()
    after = samples(server)
    project = creds.project_id
    assert value(after, "videoinsights_ingest_events_total", project=project, outcome="accepted") == 4
    assert value(after, "videoinsights_ingest_events_total", project=project, outcome="duplicate") == 1
    assert value(after, "videoinsights_ingest_events_total", project=project, outcome="rejected") == 1
    assert value(after, "videoinsights_ingest_batch_events_count") == 2
    assert value(after, "videoinsights_ingest_batch_events_sum") == 6  # 4 + 2 events received
    assert value(after, "videoinsights_ingest_batch_events_bucket", le="2.0") == 1
    assert value(after, "videoinsights_ingest_batch_events_bucket", le="5.0") == 2
    # the writer's counters keep their names (tests/conftest.py's derivation_idle reads two gauges)
    assert value(after, "videoinsights_events_inserted_total") == 4
    assert value(after, "videoinsights_events_duplicate_total") == 1
    assert value(after, "videoinsights_dirty_sessions") == 0
    assert value(after, "videoinsights_undigested_commits") == 0
    assert value(after, "videoinsights_derive_lag_seconds") == 0
    assert value(after, "videoinsights_freshness_seconds") == 0
    assert value(after, "videoinsights_writer_queue_jobs") == 0
    assert value(after, "videoinsights_database_bytes") > 0
    assert value(after, "videoinsights_quality_kept_total") == 0  # (tests/store/test_quality_refresh.py)
    assert value(after, "videoinsights_quality_late_samples_total") == 0  # (tests/store/test_late_samples.py)


def test_project_labels_are_capped(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    a, b = create_project(db, "a"), create_project(db, "b")
    server = server_factory({"VIDEOINSIGHTS_METRICS_MAX_PROJECTS": "1"})
    for creds in (a, b):
        response = httpx.post(f"{server.url}/v1/events", json=[conn(1)], headers=creds.headers())
        assert response.json()["accepted"] == 1
    after = samples(server)
    assert value(after, "videoinsights_ingest_events_total", project=a.project_id, outcome="accepted") == 1
    assert value(after, "videoinsights_ingest_events_total", project="other", outcome="accepted") == 1
    assert value(after, "videoinsights_ingest_events_total", project=b.project_id, outcome="accepted") == 0


def test_bounded_labels_by_hand() -> None:
    label = BoundedLabels(2)
    assert [label(v) for v in ("p1", "p2", "p3", "p1", "p4", "p2")] == ["p1", "p2", "other", "p1", "other", "p2"]


def test_commit_clock_answers_the_first_recorded_commit_at_or_after() -> None:
    clock = CommitClock(max_entries=3)
    for seq, at in ((2, 100.0), (5, 110.0), (4, 999.0), (7, 120.0)):  # 4 after 5: ignored
        clock.record(seq, at)
    assert clock.acknowledged_at(1, default=50.0) == 100.0
    assert clock.acknowledged_at(5, default=50.0) == 110.0
    assert clock.acknowledged_at(6, default=50.0) == 120.0
    assert clock.acknowledged_at(8, default=50.0) == 50.0  # not recorded (yet)
    clock.record(9, 130.0)  # drops seq 2: the oldest of 3
    assert clock.acknowledged_at(1, default=50.0) == 110.0


def test_the_backlog_is_not_idle_while_an_absorb_lands_between_its_reads(tmp_path: Path) -> None:
    """The derive thread's absorb can commit between the two reads of the backlog: read in the order
    derivation_backlog reads them, an acknowledged commit is counted somewhere (here: not absorbed yet)."""
    store = DuckDBStore(str(tmp_path / "s.duckdb"))
    load_events(store, "1", [conn(1)])
    derive_until_clean(store)
    assert derivation_backlog(store) == (0, 0)
    load_events(store, "1", [conn(2)])  # acknowledged, not absorbed yet
    count = store.dirty_session_count

    def absorbed_meanwhile() -> int:  # the count's snapshot is taken, then the absorb commits
        counted = count()
        store.absorb_new_events()
        return counted

    store.dirty_session_count = absorbed_meanwhile  # type: ignore[method-assign]
    assert derivation_backlog(store) != (0, 0)
    store.dirty_session_count = count  # type: ignore[method-assign]
    assert derivation_backlog(store) == (0, 1)  # absorbed: the session waits
    derive_until_clean(store)
    assert derivation_backlog(store) == (0, 0)
    store.close()
