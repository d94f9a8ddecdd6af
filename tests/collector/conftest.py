"""Fixtures of the collector's end-to-end tests: Debian's Chromium with fake camera and
microphone, the loopback test page on its own origin, and a real server with a project, an
account and (when asked) a real client key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector.browser import launch_args
from tests.collector.pageserver import serve_pages
from tests.conftest import ProjectCreds, Server, admin, create_login, create_project, free_port
from tests.support import playwright

playwright_api = playwright.playwright_api  # the package's Playwright (tests/support/playwright.py)

PASSWORD = "correct horse battery"
EMAIL = "carol@example.com"

CALL = """query($p: IntOrString!, $s: String!) { project(projectId: $p) { sessionData { sessions(sessionIds: [$s]) {
  resources { meetings { totalCount resources {
    connections { totalCount resources { connectionId destroyedAt browser sdkType } }
    publishers { totalCount resources { connectionId destroyedAt
      stream { streamId hasAudioTrack hasVideoTrack videoType }
      streamStatsCollection(first: 1000) { totalCount resources {
        createdAt videoBitrateKbps videoResolution frameRate roundTripMs qualityLimitationReason } } } }
    subscribers { totalCount resources { subscriberId connectionId destroyedAt stream { streamId }
      streamStatsCollection(first: 1000) { totalCount resources {
        createdAt videoBitrateKbps videoResolution frameRate roundTripMs } } } }
  } } } } } } }"""


@dataclass
class CallWorld:
    """A server on a fresh database with one project and an account granted it."""

    root: Path
    server: Server
    project: ProjectCreds
    pages: str  # origin of the test pages
    keys: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def client_key(self, origin: str | None = None) -> str:
        """A real client key for the project, allowed from `origin` (the test pages by default)."""
        created = admin(self.server.db, "create_client_key", project_id=self.project.project_id,
                        origins=[origin or self.pages], name="")
        key = str(created["key"])
        self.keys.append(key)
        return key

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables},
                              headers=self.project.headers(), timeout=30)
        body = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def meetings(self, session_id: str) -> list[dict[str, Any]]:
        data = self.graphql(CALL, {"p": self.project.project_id, "s": session_id})
        sessions = data["project"]["sessionData"]["sessions"]["resources"]
        return sessions[0]["meetings"]["resources"] if sessions else []

    def wait_for(self, session_id: str, check: Any, timeout: float = 90) -> list[dict[str, Any]]:
        """Poll the API until `check(meetings)` holds; return the meetings (fails with the last ones)."""
        deadline = time.monotonic() + timeout
        meetings: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            meetings = self.meetings(session_id)
            if meetings and check(meetings):
                return meetings
            time.sleep(0.5)
        raise AssertionError(f"the API did not show what was expected in {timeout} s: {json.dumps(meetings)[:3000]}")


@pytest.fixture(scope="session")
def pages_origin() -> Iterator[str]:
    with serve_pages() as origin:
        yield origin


@pytest.fixture(scope="package")
def media_browser(playwright_api: Any) -> Iterator[Any]:
    executable, args = launch_args()
    browser = playwright_api.chromium.launch(executable_path=executable, args=args)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def call_world(tmp_path_factory: pytest.TempPathFactory, pages_origin: str) -> Iterator[CallWorld]:
    """One server for the collector tests (each test has its own session and key); a test that
    stops the server starts it again."""
    tmp_path = tmp_path_factory.mktemp("collector")
    db = tmp_path / "vi.duckdb"
    project = create_project(db, "Collector tests")
    create_login(db, EMAIL, PASSWORD, (project.project_id,))
    server = Server(db, free_port())
    server.start()
    yield CallWorld(tmp_path, server, project, pages_origin)
    server.stop()


class PageWatch:
    """What a page printed and threw: the tests assert the app never sees an exception."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "warning":
            self.warnings.append(message.text)


@pytest.fixture
def call_page(media_browser: Any) -> Iterator[tuple[Any, PageWatch]]:
    context = media_browser.new_context()
    page = context.new_page()
    watch = PageWatch(page)
    yield page, watch
    context.close()
