"""The admin sidecar refuses wrongly typed arguments with a 400 naming them (never a 500), and /metrics
needs its bearer token when one is configured; against a real server."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, create_project, free_port
from videoinsights.control import sidecar_path
from videoinsights.ops import OPS


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ProjectCreds]]:
    db = tmp_path_factory.mktemp("admin") / "vi.duckdb"
    creds = create_project(db)
    server = Server(db, free_port())
    server.start()
    yield server, creds
    server.stop()


def admin(server: Server, op: str, body: Any) -> httpx.Response:
    token = json.loads(sidecar_path(str(server.db)).read_text())["token"]
    return httpx.post(f"{server.url}/-/admin/{op}", json=body, headers={"authorization": f"Bearer {token}"},
                      timeout=60)


def test_get_secret_with_a_numeric_project_id_is_a_400(site: tuple[Server, ProjectCreds]) -> None:
    server, creds = site
    wrong = admin(server, "get_secret", {"project_id": int(creds.project_id)})
    assert wrong.status_code == 400
    assert wrong.json()["error"]["message"] == "get_secret: argument project_id must be str, not int."
    right = admin(server, "get_secret", {"project_id": creds.project_id})
    assert right.status_code == 200
    assert right.json()["result"] == {"projectId": int(creds.project_id), "apiSecret": creds.secret}


@pytest.mark.parametrize(("op", "body", "message"), [
    ("create_project", {"name": "x", "advanced_insights": "yes"}, "argument advanced_insights must be bool"),
    ("create_project", {"name": "x", "project_id": 12345678}, "argument project_id must be"),
    ("purge", {"raw_retention_days": True, "daily_retention_days": 1, "monthly_retention_months": 1},
     "argument raw_retention_days must be int, not bool"),
    ("purge", {"raw_retention_days": "21", "daily_retention_days": 1, "monthly_retention_months": 1},
     "argument raw_retention_days must be int, not str"),
    ("rotate_secret", {}, "missing argument: project_id"),
    ("list_projects", {"verbose": True}, "unknown argument(s): verbose"),
    ("create_account", {"email": None, "password_hash": "$argon2id$x"}, "argument email must be str, not NoneType"),
])
def test_admin_arguments_are_checked(site: tuple[Server, ProjectCreds], op: str, body: dict[str, Any],
                                     message: str) -> None:
    server, _ = site
    response = admin(server, op, body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]


def test_every_admin_op_refuses_wrong_types(site: tuple[Server, ProjectCreds]) -> None:
    server, _ = site
    for name, op in OPS.items():
        params = list(inspect.signature(inspect.unwrap(op)).parameters)[1:]
        body = {p: {"not": "a scalar"} for p in params} or {"unexpected": 1}
        response = admin(server, name, body)
        assert response.status_code == 400, (name, response.text)
        error = response.json()["error"]["message"]
        assert ("must be" in error) if params else ("unknown argument" in error), (name, error)
    listed = admin(server, "list_projects", {})
    assert listed.status_code == 200 and [p["name"] for p in listed.json()["result"]] == ["test"]


def test_metrics_are_open_by_default(site: tuple[Server, ProjectCreds]) -> None:
    server, _ = site
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200 and "videoinsights_events_inserted_total 0" in response.text


def test_metrics_token_is_required_when_set(tmp_path: Path, server_factory: Any) -> None:
    create_project(tmp_path / "vi.duckdb")
    server = server_factory(env={"VIDEOINSIGHTS_METRICS_TOKEN": "s3cret-metrics"})
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic s3cret-metrics"},
                    {"authorization": "s3cret-metrics"}):
        refused = httpx.get(f"{server.url}/metrics", headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["status"] == 401, headers
        assert "videoinsights_" not in refused.text
    ok = httpx.get(f"{server.url}/metrics", headers={"authorization": "Bearer s3cret-metrics"})
    assert ok.status_code == 200 and "videoinsights_dirty_sessions 0" in ok.text
    assert httpx.get(f"{server.url}/health").status_code == 200  # /health stays open
