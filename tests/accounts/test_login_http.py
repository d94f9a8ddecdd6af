"""Login, sessions, CSRF and project access over HTTP, against a real server process."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, cli, create_login, create_project, free_port
from videoinsights.web.pages.render import DIST

PASSWORD = "open sesame 42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ProjectCreds, ProjectCreds]]:
    """One server for the module; each test that changes an account uses its own."""
    db = tmp_path_factory.mktemp("login") / "vi.duckdb"
    mine, other = create_project(db, "Mine"), create_project(db, "Other")
    for email in ("ann@example.com", "tess@example.com", "carl@example.com"):
        create_login(db, email, PASSWORD, (mine.project_id,))
    server = Server(db, free_port())
    server.start()
    yield server, mine, other
    server.stop()


@pytest.fixture
def browser_client(site: Any) -> Iterator[httpx.Client]:
    server = site[0]
    with httpx.Client(base_url=server.url, headers={"accept": "text/html"}, timeout=30) as client:
        yield client


def login(client: httpx.Client, email: str = "ann@example.com", password: str = PASSWORD,
          next_path: str = "/") -> httpx.Response:
    form = client.get("/login", params={"next": next_path})
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/login", data={"csrf": token.group(1), "next": next_path, "email": email,
                                       "password": password})


def boot(page: httpx.Response) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="boot">(.*?)</script>', page.text)
    assert found, page.text
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_pages_redirect_strangers_to_login(browser_client: httpx.Client) -> None:
    for path in ("/", "/dashboard?tab=errors", "/sessions", "/sessions/abc", "/graphql"):
        response = browser_client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F"), path
    # only browsers asking for HTML get the page route at GET /graphql
    api = browser_client.get("/graphql", headers={"accept": "application/json"})
    assert api.status_code != 303


def test_login_sets_a_hardened_cookie_and_shows_pages(browser_client: httpx.Client, site: Any) -> None:
    response = login(browser_client, "ANN@example.com", next_path="/dashboard?tab=quality")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard?tab=quality"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("vi_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page = browser_client.get("/dashboard")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    data = boot(page)
    assert data["project"]["id"] == site[1].project_id and len(data["csrf"]) >= 32
    assert data["projects"] == [{"id": site[1].project_id, "name": "Mine"}]
    assert browser_client.get("/login").status_code == 303  # already signed in


def test_bad_logins(browser_client: httpx.Client) -> None:
    assert login(browser_client, password="wrong password").status_code == 401
    assert login(browser_client, email="nobody@example.com").status_code == 401
    # the login form's own CSRF token (double submit) is required
    fresh = httpx.post(f"{browser_client.base_url}/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert fresh.status_code == 403
    # a signed-looking but forged cookie is no login
    browser_client.cookies.set("vi_session", "InNvbWV0aGluZyI.forged.signature")
    assert browser_client.get("/dashboard").status_code == 303


def test_next_never_leaves_the_site(browser_client: httpx.Client) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = login(browser_client, next_path=target)
        assert response.headers["location"] == "/", target
        browser_client.cookies.clear()


def test_repeated_failures_are_throttled(browser_client: httpx.Client) -> None:
    for _ in range(10):
        assert login(browser_client, "tess@example.com", password="guess guess").status_code == 401
    assert login(browser_client, "tess@example.com").status_code == 429  # even the right password, for a while


def test_project_access_switch_and_csrf(browser_client: httpx.Client, site: Any) -> None:
    _, mine, other = site
    login(browser_client)
    assert browser_client.get("/dashboard", params={"project": other.project_id}).status_code == 403
    csrf = boot(browser_client.get("/dashboard"))["csrf"]
    # state changes need the token
    assert browser_client.post("/account/project", data={"project": mine.project_id}).status_code == 403
    assert browser_client.post("/account/project", data={"project": other.project_id, "csrf": csrf}).status_code == 403
    moved = browser_client.post("/account/project", data={"project": mine.project_id, "csrf": csrf,
                                                          "next": f"/sessions/s1?project={other.project_id}&x=1"})
    assert moved.status_code == 303 and moved.headers["location"] == f"/sessions?project={mine.project_id}&x=1"
    assert browser_client.post("/logout", data={}).status_code == 403
    assert browser_client.get("/dashboard").status_code == 200


def test_logout_and_password_change_end_logins(browser_client: httpx.Client, site: Any) -> None:
    server = site[0]
    login(browser_client)
    stolen = dict(browser_client.cookies)
    csrf = boot(browser_client.get("/"))["csrf"]
    assert browser_client.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    # the old cookie no longer works anywhere: the login is gone on the server
    replay = httpx.get(f"{server.url}/dashboard", cookies=stolen, headers={"accept": "text/html"})
    assert replay.status_code == 303

    login(browser_client, "carl@example.com")
    assert browser_client.get("/").status_code == 200
    cli(server.db, "accounts", "set-password", "--email", "carl@example.com", "--password", "brand new pass")
    time.sleep(2.2)  # logins are cached for 2 s
    assert browser_client.get("/").status_code == 303


def test_static_assets_are_served(browser_client: httpx.Client) -> None:
    css = browser_client.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert browser_client.get("/static/../accounts.py").status_code == 404
    if (DIST / "dashboard.js.gz").exists():  # the frontend is built: bundles go out gzipped
        js = browser_client.get("/static/dist/dashboard.js", headers={"accept-encoding": "gzip"})
        assert js.headers["content-encoding"] == "gzip" and "javascript" in js.headers["content-type"]
        assert js.content == (DIST / "dashboard.js").read_bytes()  # httpx inflates it
        plain = browser_client.get("/static/dist/dashboard.js", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == js.content
