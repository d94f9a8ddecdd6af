"""Shared fixtures: one database and one real HTTP server for the whole module set.

The server is uvicorn on 127.0.0.1 (random port) in a thread, serving the
/graphql routes with "now" pinned to fixtures.NOW_MS.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from opentok import Client as OpenTokClient
from starlette.applications import Starlette

from tests.query import fixtures
from videoinsights.auth.cache import ProjectCache
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.executor import Executor
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.web.graphql import graphql_routes

CORS_ORIGIN = "https://dashboard.example"
SETTINGS = Settings(cors_origins=CORS_ORIGIN)


def clock() -> float:
    return fixtures.NOW_MS / 1000


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    store = fixtures.build_world(str(tmp_path_factory.mktemp("db") / "insights.duckdb"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def executor(store: DuckDBStore) -> Executor:
    return Executor(SETTINGS, store.reader, store.get_project, clock)


@pytest.fixture(scope="session")
def run(executor: Executor):
    """In-process execution as project 12345678 (or `as_project`)."""
    def run(query: str, variables: dict[str, Any] | None = None, as_project: str = fixtures.PROJECT,
            kind: str = "project") -> dict[str, Any]:
        return executor.run(AuthContext(as_project, kind), query, variables)
    return run


class Server:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=30)

    def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["X-OPENTOK-AUTH"] = token
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.client.post("/graphql", json=body, headers=hdrs)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[Server]:
    """Run an ASGI app with uvicorn on 127.0.0.1 (random port) in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    s = Server(f"http://127.0.0.1:{port}")
    yield s
    s.client.close()
    srv.should_exit = True
    thread.join(5)
    sock.close()


def graphql_server(store: Any) -> contextlib.AbstractContextManager[Server]:
    return serve(Starlette(routes=graphql_routes(store, SETTINGS, ProjectCache(store), clock=clock)))


@pytest.fixture(scope="session")
def server(store: DuckDBStore) -> Iterator[Server]:
    with graphql_server(store) as s:
        yield s


def opentok_token(project_id: str = fixtures.PROJECT, secret: str = fixtures.SECRET) -> str:
    """The X-OPENTOK-AUTH JWT exactly as the official OpenTok SDK builds it."""
    token = OpenTokClient(project_id, secret)._create_jwt_auth_header()
    return token if isinstance(token, str) else token.decode()


@pytest.fixture(scope="session")
def token() -> str:
    return opentok_token()
