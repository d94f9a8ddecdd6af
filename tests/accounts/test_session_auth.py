"""The contract /graphql relies on: logged_in_projects(request) and csrf_ok(request), probed by a route added
to the app, which serves under uvicorn on 127.0.0.1 (real HTTP) in a thread of the test."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import create_login, create_project, free_port
from tests.support.serving import serving
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
    settings = Settings(db=str(db), host="127.0.0.1", port=free_port())
    app = create_app(settings)
    app.router.routes.append(Route("/probe", probe, methods=["GET", "POST"]))
    with serving(settings, app) as url, httpx.Client(base_url=url) as client:
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
