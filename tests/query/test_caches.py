"""The two request caches of /graphql: whole responses (by data version) and verified tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, graphql_server, opentok_token
from tests.query.test_session_data import CountingCursor

QUERY = '{ project(projectId: 12345678) { projectData(start: "2025-11-26") { totalCount } } }'


class VersionedStore:
    """The fixture store plus a data_version the test controls, counting statements."""

    def __init__(self, store: Any, version: int | None) -> None:
        self._store = store
        self.sql = store.sql
        self.data_version = version
        self.statements: list[str] = []

    def reader(self) -> Any:
        return CountingCursor(self._store.reader(), self.statements)

    def get_project(self, project_id: str) -> Any:
        return self._store.get_project(project_id)


def test_repeats_are_served_until_the_data_version_changes(store: Any) -> None:
    versioned = VersionedStore(store, 1)
    with graphql_server(versioned) as srv:
        _repeats(srv.client, versioned)


def _repeats(http: Any, versioned: VersionedStore) -> None:
    headers = {"X-OPENTOK-AUTH": opentok_token()}
    first = http.post("/graphql", json={"query": QUERY}, headers=headers)
    ran = len(versioned.statements)
    assert ran > 0
    again = http.post("/graphql", json={"query": QUERY}, headers=headers)
    assert again.content == first.content and len(versioned.statements) == ran
    # other variables, another caller, or new data: executed again
    http.post("/graphql", json={"query": QUERY, "variables": {"x": 1}}, headers=headers)
    assert len(versioned.statements) > ran
    ran = len(versioned.statements)
    versioned.data_version = 2
    http.post("/graphql", json={"query": QUERY}, headers=headers)
    assert len(versioned.statements) > ran


def test_no_version_no_cache_and_errors_not_cached(store: Any) -> None:
    headers = {"X-OPENTOK-AUTH": opentok_token()}
    versioned = VersionedStore(store, None)
    with graphql_server(versioned) as srv:
        for _ in range(2):
            srv.client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert len(versioned.statements) == 2
    versioned = VersionedStore(store, 7)
    with graphql_server(versioned) as srv:
        _errors_not_cached(srv.client, versioned, headers)


def _errors_not_cached(http: Any, versioned: VersionedStore, headers: dict[str, str]) -> None:
    bad = '{ project(projectId: 12345678) { projectData(start: 0, sdkVersion: "x") { totalCount } } }'
    assert http.post("/graphql", json={"query": bad}, headers=headers).json()["errors"][0]["errorCode"] == 1007
    versioned.data_version = None  # a cached error would still be answered; it is not
    assert http.post("/graphql", json={"query": bad}, headers=headers).json()["errors"][0]["errorCode"] == 1007


def test_callers_never_share_cached_responses(store: Any) -> None:
    with graphql_server(VersionedStore(store, 1)) as srv:
        _not_shared(srv.client)


def _not_shared(http: Any) -> None:
    query = '{ project(projectId: 87654321) { projectData(start: "2025-11-26") { totalCount } } }'
    other = http.post("/graphql", json={"query": query},
                      headers={"X-OPENTOK-AUTH": opentok_token(fx.OTHER, fx.OTHER_SECRET)})
    assert other.json() == {"data": {"project": {"projectData": {"totalCount": 1}}}}
    mine = http.post("/graphql", json={"query": query}, headers={"X-OPENTOK-AUTH": opentok_token()})
    assert mine.json()["errors"][0]["errorCode"] == 1021


def test_cached_token_still_expires(store: Any) -> None:
    with graphql_server(VersionedStore(store, None)) as srv:
        _expires(srv.client)


def _expires(http: Any) -> None:
    settings_leeway = SETTINGS.clock_skew_s
    # valid for 2-3 s more: a loaded machine (the suite on 2 cores) took over 1 s for the first request
    exp = int(time.time()) + 3 - settings_leeway
    token = jwt.encode({"iss": fx.PROJECT, "ist": "project", "iat": exp - 60, "exp": exp}, fx.SECRET,
                       algorithm="HS256")
    if time.time() >= exp + settings_leeway:
        pytest.skip("too slow to catch the token before it expired")
    assert http.post("/graphql", json={"query": QUERY}, headers={"X-OPENTOK-AUTH": token}).status_code == 200
    time.sleep(max(0.0, exp + settings_leeway - time.time()) + 0.05)
    assert http.post("/graphql", json={"query": QUERY}, headers={"X-OPENTOK-AUTH": token}).status_code == 401


def test_routes_built_from_app_state(store: Any) -> None:
    from types import SimpleNamespace

    from starlette.applications import Starlette

    from tests.query.conftest import serve
    from videoinsights.auth.cache import ProjectCache
    from videoinsights.derive.wanted import WantedSessions
    from videoinsights.web.client_address import client_address
    from videoinsights.web.graphql import graphql_routes_from_state
    from videoinsights.web.services import RateLimits

    app = Starlette(routes=graphql_routes_from_state())
    app.state.services = SimpleNamespace(store=store, settings=SETTINGS, projects=ProjectCache(store),
                                         limits=RateLimits.from_settings(SETTINGS),
                                         client_address=lambda scope: client_address(scope, ()),
                                         writer=SimpleNamespace(wanted=WantedSessions()))
    with serve(app) as srv:
        body = srv.post('{ project(projectId: 12345678) { projectData(start: 0) { totalCount } } }',
                        token=opentok_token()).json()
    assert body == {"data": {"project": {"projectData": {"totalCount": 1}}}}
