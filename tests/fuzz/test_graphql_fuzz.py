"""Fuzzing POST /graphql with schemathesis: queries generated from the schema the server itself
reports (introspection with a real token), sent to a real server holding a little real data.

Every answer must be a documented one: no 5xx, no 1012 (an internal error is a bug), every
error entry carrying a code of the Insights table (docs/api.md). Arguments are drawn from
values that reach the resolvers (our project id, dates in every accepted form, cursors, page
sizes) as well as from junk, so that most cases get past `project(projectId:)`.

Bounded and repeatable: a fixed number of examples, derandomized (the same cases every run).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes

from tests.conftest import ProjectCreds, Server, create_project, free_port
from videoinsights.query.errors import MESSAGES

PROJECT = "12345678"
DOCUMENTED = set(MESSAGES) - {1012}


def _cursor(offset: int) -> str:
    return base64.b64encode(f"insights-resource:{offset}".encode()).decode()


def mostly(valid: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """About nine draws in ten from `valid`: a query holds many arguments, and one refused value stops
    the field. (Hypothesis favours small integers, so junk is the largest one, not 0.)"""
    return st.integers(0, 9).flatmap(lambda i: junk if i == 9 else valid)


# The custom scalars (and String, for ids and cursors): mostly values the server accepts, some it must refuse.
schemathesis.graphql.scalar("IntOrString", mostly(
    st.sampled_from([nodes.Int(int(PROJECT)), nodes.String(PROJECT), nodes.String(" 12345678 ")]),
    st.one_of(st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
              st.sampled_from(["87654321", "0", "", "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b", "1e9", "١٢"])
              .map(nodes.String)),
))
_DAY_S = 86_400
_NOW_S = int(time.time())
schemathesis.graphql.scalar("Date", mostly(
    st.one_of(st.sampled_from(["2025-11-20", "2025-11-20T10:00:00Z", "2025-11-20T10:00:00.000+01:00",
                               "2025-11-20T10:00:00", "1763625593", "1763625593000"]).map(nodes.String),
              st.integers(min_value=_NOW_S - 120 * _DAY_S, max_value=_NOW_S + _DAY_S).map(nodes.Int),
              st.just(nodes.Int(0))),
    st.one_of(st.sampled_from(["", "2025-13-45", "yesterday", "9" * 40, "-1"]).map(nodes.String),
              st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
              st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float)),
))
schemathesis.graphql.scalar("String", mostly(
    st.sampled_from(["E2E", "s1", "sub1", "u1", "2.27.3", "CA", "120.0", "", _cursor(0), _cursor(1)]).map(nodes.String),
    st.one_of(st.sampled_from([_cursor(2**31), "bm90LWEtY3Vyc29y", "=="]).map(nodes.String),
              st.text(max_size=20).map(nodes.String)),
))


def events(start: int) -> list[dict[str, Any]]:
    """One small session with a publisher, a subscriber, stats and attempts (so resolvers find rows)."""
    ev: list[dict[str, Any]] = []

    def add(kind: str, minute: float, **fields: Any) -> None:
        ev.append({"id": f"f{len(ev)}", "type": kind, "sessionId": "E2E", "timestamp": start + round(minute * 60_000),
                   **fields})

    js = {"sdkType": "JS", "sdkVersion": "2.27.3", "browser": "CHROME", "browserVersion": "120.0", "country": "US",
          "region": "CA"}
    add("connectAttempt", -1, outcome="failure", errorCode=1006, sdkType="IOS", country="GB")
    add("connectionCreated", 0, connectionId="u1", guid="g1", **js)
    add("connectionCreated", 0, connectionId="u2", guid="g2", sdkType="IOS", country="GB")
    add("streamCreated", 1, streamId="s1", connectionId="u1", videoType="camera", hasAudio=True, hasVideo=True)
    add("subscriberCreated", 2, subscriberId="sub1", streamId="s1", connectionId="u2")
    add("publisherStats", 3, streamId="s1", videoLatencyMs=40.0, videoBitrateKbps=500.0)
    add("subscriberStats", 3.5, subscriberId="sub1", videoLatencyMs=80.0, videoBitrateKbps=650.0)
    add("subscriberDestroyed", 8, subscriberId="sub1")
    add("streamDestroyed", 9, streamId="s1")
    add("connectionDestroyed", 10, connectionId="u1")
    add("connectionDestroyed", 10, connectionId="u2")
    return ev


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ProjectCreds]]:
    db = Path(tmp_path_factory.mktemp("fuzz")) / "vi.duckdb"
    creds = create_project(db, project_id=PROJECT)
    server = Server(db, free_port())
    server.start()
    try:
        start = (int(time.time()) - 2 * 3600) * 1000
        response = httpx.post(f"{server.url}/v1/events", json=events(start), headers=creds.headers(), timeout=30)
        assert response.status_code == 200 and response.json()["accepted"] == 11, response.text
        server.wait_derived()
        yield server, creds
    finally:
        server.stop()


@pytest.fixture(scope="module")
def graphql_schema(served: tuple[Server, ProjectCreds]) -> Any:
    server, creds = served
    return schemathesis.graphql.from_url(f"{server.url}/graphql", headers={"X-OPENTOK-AUTH": creds.token(3600)})


def check(response: Any, query: str) -> None:
    """No 5xx, no internal error, only documented codes, each given twice."""
    assert response.status_code in (200, 400, 413), (response.status_code, response.text, query)
    body = response.json()
    for error in body.get("errors") or ():
        assert error["errorCode"] in DOCUMENTED, (error, query)
        assert error["extensions"]["code"] == error["errorCode"]
    if response.status_code == 200:
        assert "data" in body or body.get("errors"), body


# schemathesis' pytest integration (`schema.parametrize()` on a lazily loaded schema) fails with
# pytest 9 (it reads the removed `Function._nodeid`), so the test draws schemathesis' own cases
# from `schema.as_strategy()` with hypothesis directly.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_documented(graphql_schema: Any, served: tuple[Server, ProjectCreds],
                                    mode: GenerationMode) -> None:
    _, creds = served
    token = creds.token(3600)

    @given(case=graphql_schema.as_strategy(mode))
    @settings(max_examples=300 if mode == GenerationMode.POSITIVE else 150, derandomize=True, deadline=None,
              database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        check(case.call(headers={"X-OPENTOK-AUTH": token}, timeout=30), str(case.body))

    run()
