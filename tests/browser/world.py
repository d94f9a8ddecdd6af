"""The browser suite's world: a real DuckDB file with simulated traffic, two accounts,
and a real server process on 127.0.0.1."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ProjectCreds, Server, create_login, create_project, free_port
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore

PASSWORD = "correct horse battery"
MAIN, SECOND, HIDDEN = "31415926", "27182818", "16180339"


@dataclass
class World:
    server: Server
    main: ProjectCreds     # granted to alice; lots of traffic
    second: ProjectCreds   # granted to alice too (project switcher)
    hidden: ProjectCreds   # granted to nobody alice knows
    alice: str
    bob: str

    @property
    def url(self) -> str:
        return self.server.url

    def graphql(self, project: ProjectCreds, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the API answers with a project token: the reference the pages are checked against."""
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              headers=project.headers(), timeout=30)
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


def fill_traffic(db: Path, project_id: str, days: int, sessions_per_day: float, seed: int) -> None:
    """Simulated traffic for the last `days` days, loaded and derived offline (before the server starts)."""
    store = DuckDBStore(str(db))
    try:
        now_ms = int(time.time() * 1000)
        start_ms = day_start_ms(la_day(now_ms) - timedelta(days=days))
        events = generate(project_id, start_ms, days + 1, sessions_per_day, seed)
        load_events(store, project_id, (e for e in events if e["timestamp"] <= now_ms))
        derive_until_clean(store)
    finally:
        store.close()


def build_world(root: Path) -> World:
    db = root / "browser.duckdb"
    main = create_project(db, "Acme Video", project_id=MAIN)
    second = create_project(db, "Second Project", project_id=SECOND)
    hidden = create_project(db, "Hidden Project", project_id=HIDDEN)
    fill_traffic(db, MAIN, days=4, sessions_per_day=10, seed=11)
    fill_traffic(db, SECOND, days=2, sessions_per_day=3, seed=12)
    fill_traffic(db, HIDDEN, days=2, sessions_per_day=3, seed=13)
    alice, bob = "alice@example.com", "bob@example.com"
    for email, projects in ((alice, (MAIN, SECOND)), (bob, (HIDDEN,))):
        create_login(db, email, PASSWORD, projects)
    server = Server(db, free_port())
    server.start()
    return World(server, main, second, hidden, alice, bob)
