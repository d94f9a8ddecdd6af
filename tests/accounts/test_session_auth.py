"""The contract /graphql relies on: logged_in_projects(request) and csrf_ok(request)."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.conftest import create_login, create_project, free_port
from videoinsights.settings import Settings
from videoinsights.web.app import create_app
from videoinsights.web.pages.session_auth import csrf_ok, logged_in_projects


async def probe(request: Request) -> JSONResponse:
    projects = logged_in_projects(request)
    return JSONResponse({"projects": None if projects is None else sorted(projects), "csrf": csrf_ok(request)})


def test_logged_in_projects_and_csrf(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first, second, _ = create_project(db, "a"), create_project(db, "b"), create_project(db, "c")
    create_login(db, "e@example.com", "long enough", (first.project_id, second.project_id))
    app = create_app(Settings(db=str(db), port=free_port()))
    app.router.routes.append(Route("/probe", probe, methods=["GET", "POST"]))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.post("/probe").json() == {"projects": None, "csrf": False}
        form = client.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"csrf": token, "email": "e@example.com", "password": "long enough"},
                    follow_redirects=False)
        page = client.get("/dashboard").text
        csrf = re.search(r'"csrf":"([^"]+)"', page).group(1)  # type: ignore[union-attr]
        expected = sorted([first.project_id, second.project_id])
        assert client.post("/probe").json() == {"projects": expected, "csrf": False}
        assert client.post("/probe", headers={"x-csrf-token": "nope"}).json()["csrf"] is False
        assert client.post("/probe", headers={"x-csrf-token": csrf}).json() == {"projects": expected, "csrf": True}
