"""Rate limits on POST /graphql, against a real server started with small limits: 429 with
Retry-After and both error shapes past the limit, other keys unaffected, and a normal request
works again after the wait."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ProjectCreds, create_project

# 3 requests per 6 s: a bucket refills one request every 2 s, far slower than these requests are sent
LIMITS = {"VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": "6"}


def query(client: httpx.Client, creds: ProjectCreds, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"query": f"{{ project(projectId: {creds.project_id}) {{ projectData(start: 0) {{ totalCount }} }} }}"}
    return client.post("/graphql", json=body, headers={**creds.headers(), **(headers or {})})


def assert_answered(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"project": {"projectData": {"totalCount": 0}}}}


def assert_limited(response: httpx.Response, what: str) -> int:
    """-> Retry-After (seconds)."""
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    body = response.json()
    message = f"Too many requests for this {what}; retry after {retry_after} s."
    assert body["errors"] == [{"message": message, "errorCode": None, "extensions": {"code": None}}]
    assert body["error"] == {"errorCode": None, "message": message, "status": 429}
    return retry_after


def two_projects(tmp_path: Path) -> tuple[ProjectCreds, ProjectCreds]:
    db = tmp_path / "vi.duckdb"
    return create_project(db, name="a"), create_project(db, name="b")


def test_per_project_limit(tmp_path: Path, server_factory: Any) -> None:
    a, b = two_projects(tmp_path)
    server = server_factory({**LIMITS, "VIDEOINSIGHTS_RATE_LIMIT_PER_PROJECT": "3",
                             "VIDEOINSIGHTS_RATE_LIMIT_PER_ADDRESS": "0"})
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(3):
            assert_answered(query(client, a))
        retry_after = assert_limited(query(client, a), "project")
        assert_limited(query(client, a), "project")  # still refused, with a new token too
        assert_answered(query(client, b))  # another project has its own budget
        time.sleep(retry_after)
        assert_answered(query(client, a))


def test_per_address_limit(tmp_path: Path, server_factory: Any) -> None:
    a, b = two_projects(tmp_path)
    server = server_factory({**LIMITS, "VIDEOINSIGHTS_RATE_LIMIT_PER_PROJECT": "0",
                             "VIDEOINSIGHTS_RATE_LIMIT_PER_ADDRESS": "3"})
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert_answered(query(client, a))
        assert_answered(query(client, b))
        # X-Forwarded-For from an untrusted peer is ignored: it is still the same address
        assert_answered(query(client, a, {"X-Forwarded-For": "203.0.113.7"}))
        assert_limited(query(client, b, {"X-Forwarded-For": "203.0.113.8"}), "address")
        # refused before authentication: a request without a token gets the 429 too, not a 401
        retry_after = assert_limited(client.post("/graphql", json={"query": "{ __typename }"}), "address")
        time.sleep(retry_after)
        assert_answered(query(client, b))
