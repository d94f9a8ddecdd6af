"""Rate limits on ingestion (POST /v1/events and the Vonage callback), per project and per client address,
against a real server with small limits: 429 with Retry-After past them, others unaffected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ProjectCreds, Server, create_project

HOUR = "3600"


def post_events(server: Server, creds: ProjectCreds, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/events", json=[], headers={**creds.headers(), **(headers or {})})


def callback(server: Server, creds: ProjectCreds, token: str | None = None) -> httpx.Response:
    url = f"{server.url}/v1/projects/{creds.project_id}/callbacks/vonage"
    return httpx.post(url, params={"token": token or creds.callback_token}, content=b"not json")


def assert_429(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["status"] == 429 and error["errorCode"] is None and f"for this {what}" in error["message"]


def test_per_project_limit(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    busy, quiet = create_project(db, "busy"), create_project(db, "quiet")
    server = server_factory(db=db, env={"VIDEOINSIGHTS_RATE_LIMIT_PER_PROJECT": "5",
                                        "VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": HOUR})
    # callbacks with a wrong token don't spend the project's budget
    assert [callback(server, busy, token="wrong").status_code for _ in range(5)] == [401] * 5
    assert [post_events(server, busy).status_code for _ in range(4)] == [200] * 4
    assert callback(server, busy).status_code == 400  # the 5th request of the project (a bad body)
    assert_429(post_events(server, busy), "project")
    assert_429(callback(server, busy), "project")
    ok = post_events(server, quiet)  # another project is not affected
    assert ok.status_code == 200 and ok.json() == {"accepted": 0, "duplicates": 0, "rejected": []}


def test_per_address_limit(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    one, two = create_project(db, "one"), create_project(db, "two")
    server = server_factory(db=db, env={"VIDEOINSIGHTS_RATE_LIMIT_PER_ADDRESS": "4",
                                        "VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": HOUR})
    forged = {"X-Forwarded-For": "203.0.113.9"}  # not believed: no trusted proxies
    statuses = [post_events(server, one, forged).status_code, post_events(server, two).status_code,
                callback(server, one, token="wrong").status_code, post_events(server, two, forged).status_code]
    assert statuses == [200, 200, 401, 200]
    assert_429(post_events(server, one), "address")
    assert_429(callback(server, two), "address")
    assert_429(httpx.post(f"{server.url}/v1/events", json=[]), "address")  # before authentication
    assert httpx.get(f"{server.url}/health").status_code == 200  # other routes are not limited here


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory(db=db, env={"VIDEOINSIGHTS_RATE_LIMIT_PER_ADDRESS": "2",
                                        "VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": HOUR,
                                        "VIDEOINSIGHTS_TRUSTED_PROXIES": "127.0.0.1"})
    flood, other = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.7"}
    assert [post_events(server, creds, flood).status_code for _ in range(2)] == [200, 200]
    assert_429(post_events(server, creds, flood), "address")
    assert post_events(server, creds, other).status_code == 200


def test_export_shares_the_project_limit(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    busy, quiet = create_project(db, "busy"), create_project(db, "quiet")
    server = server_factory(db=db, env={"VIDEOINSIGHTS_RATE_LIMIT_PER_PROJECT": "3",
                                        "VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": HOUR})

    def export(creds: ProjectCreds) -> httpx.Response:
        return httpx.get(f"{server.url}/v1/projects/{creds.project_id}/export", headers=creds.headers(),
                         params={"kind": "projectData", "format": "csv", "start": "2026-01-01"})

    assert [post_events(server, busy).status_code for _ in range(2)] == [200, 200]
    assert export(busy).status_code == 200  # the project's 3rd request
    assert_429(export(busy), "project")
    assert export(quiet).status_code == 200
