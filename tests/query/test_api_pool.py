"""GraphQL queries execute on the API's own thread pool (setting api_threads), with the request's context."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from tests.query import fixtures
from tests.query.conftest import SETTINGS, clock, opentok_token, serve
from videoinsights.auth.cache import ProjectCache
from videoinsights.logs import REQUEST_ID
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.web.graphql import api_pool, graphql_app
from videoinsights.web.metrics import Metrics
from videoinsights.web.observe import Observe

QUERY = f"{{ project(projectId: {fixtures.PROJECT}) {{ projectData(start: 0) {{ totalCount }} }} }}"


class NotedReads:
    """The real store, each reader() noted: on which thread, for which request id."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store, self.sql = store, store.sql
        self.seen: list[tuple[str, str | None]] = []

    def reader(self) -> Any:
        self.seen.append((threading.current_thread().name, REQUEST_ID.get()))
        return self.store.reader()


def test_queries_run_on_the_pool_and_keep_the_request_id(store: DuckDBStore) -> None:
    noted = NotedReads(store)
    pool = ThreadPoolExecutor(1, thread_name_prefix="api-under-test")
    app = graphql_app(noted, SETTINGS, ProjectCache(store), clock=clock, pool=pool)  # type: ignore[arg-type]
    asgi = Starlette(routes=[Route("/graphql", app, methods=["POST"])],
                     middleware=[Middleware(Observe, metrics=Metrics())])
    headers = {"X-OPENTOK-AUTH": opentok_token()}
    with serve(asgi) as server:
        replies = {}

        def ask(n: int) -> None:  # four at once on one thread: they wait for it, none fails
            replies[n] = server.client.post("/graphql", json={"query": QUERY},
                                            headers={**headers, "X-Request-Id": f"req-{n}"})

        askers = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
        for t in askers:
            t.start()
        for t in askers:
            t.join()
    pool.shutdown()
    assert {n: r.json() for n, r in replies.items()} == {
        n: {"data": {"project": {"projectData": {"totalCount": 1}}}} for n in range(4)}
    assert {name.split("_")[0] for name, _ in noted.seen} == {"api-under-test"}
    assert {rid for _, rid in noted.seen} == {f"req-{n}" for n in range(4)}


def test_pool_size_from_the_setting() -> None:
    assert api_pool(Settings(api_threads=3))._max_workers == 3
    assert api_pool(Settings())._max_workers == (os.cpu_count() or 1) + 1  # one per core and one more
