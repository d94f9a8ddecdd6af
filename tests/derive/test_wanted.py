"""Sessions someone looks at (derive/wanted.py): remembered for a while, at most so many, and asked for by the
sessionData queries of a real server."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import create_project, derivation_idle, free_port
from tests.support.serving import serving
from tests.support.waiting import wait_until
from videoinsights.derive.wanted import WantedSessions
from videoinsights.settings import Settings
from videoinsights.web.app import create_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_latest_asked_come_first_and_asking_again_renews() -> None:
    clock = Clock()
    wanted = WantedSessions(ttl_s=30, capacity=10, clock=clock)
    wanted.want("p", ["a", "b"])
    clock.now += 10
    wanted.want("q", ["a"])
    assert wanted.keys() == [("q", "a"), ("p", "b"), ("p", "a")]
    wanted.want("p", ["a"])  # asked again at 1010: until 1040
    assert wanted.keys() == [("p", "a"), ("q", "a"), ("p", "b")]
    clock.now = 1029.9
    assert wanted.keys() == [("p", "a"), ("q", "a"), ("p", "b")]
    clock.now = 1030.0  # "b" asked at 1000, 30 s ago
    assert wanted.keys() == [("p", "a"), ("q", "a")]
    clock.now = 1040.0
    assert wanted.keys() == []


def test_at_most_capacity_sessions_the_oldest_asked_dropped() -> None:
    wanted = WantedSessions(ttl_s=30, capacity=3, clock=Clock())
    wanted.want("p", ["s1", "s2", "s3", "s4"])
    wanted.want("p", ["s2", "s5"])
    assert wanted.keys() == [("p", "s5"), ("p", "s2"), ("p", "s4")]


def test_a_session_taken_ahead_waits_before_it_is_again() -> None:
    # Taken at 1000 (with "x", never wanted: ignored): "a" is left out until 1005, even when asked for again.
    clock = Clock()
    wanted = WantedSessions(ttl_s=30, capacity=10, every_s=5, clock=clock)
    wanted.want("p", ["a", "b"])
    assert wanted.taken([("p", "a"), ("p", "x")]) == 1
    assert wanted.keys() == [("p", "b")]
    clock.now = 1004.9
    wanted.want("p", ["a"])
    assert wanted.keys() == [("p", "b")]
    clock.now = 1005.0
    assert wanted.keys() == [("p", "a"), ("p", "b")]
    wanted.want("p", ["x"])  # wanted now, never taken
    assert wanted.keys() == [("p", "x"), ("p", "a"), ("p", "b")]


def test_a_servers_session_data_queries_ask_for_the_sessions_they_find(tmp_path: Path) -> None:
    # The whole app (its writer's derive loop and /graphql): a sessionData query of a derived session and of one
    # that does not exist; the derive loop's wanted sessions are then the one found.
    db = tmp_path / "w.duckdb"
    creds = create_project(db)
    settings = Settings(db=str(db), host="127.0.0.1", port=free_port())
    app = create_app(settings)
    now = int(time.time() * 1000)
    event = {"id": "e1", "type": "connectionCreated", "sessionId": "live-1", "timestamp": now - 60_000,
             "connectionId": "c1"}
    query = """query($p: Int!, $ids: [String]!) { project(projectId: $p) { sessionData {
                 sessions(sessionIds: $ids) { resources { sessionId } } } } }"""
    with serving(settings, app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/v1/events", json=[event], headers=creds.headers()).status_code == 200
        wait_until(lambda: derivation_idle(url), 20, "derivation did not catch up", every=0.05)
        wanted = app.state.services.writer.wanted
        assert wanted.keys() == []
        response = client.post("/graphql", headers=creds.headers(), json={
            "query": query, "variables": {"p": int(creds.project_id), "ids": ["live-1", "nowhere"]}})
        sessions = response.json()["data"]["project"]["sessionData"]["sessions"]["resources"]
        assert sessions == [{"sessionId": "live-1"}]
        assert wanted.keys() == [(creds.project_id, "live-1")]
