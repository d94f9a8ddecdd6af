"""The pages behind the login: explorer, dashboard, sessions, session inspector,
and the project switcher.

Each page is a shell (header, project switcher, logout) plus a script bundle
that reads the boot data and talks to /graphql. The project is the `project`
query parameter when the account was granted it (so views can be shared),
else the one last chosen in the switcher.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from videoinsights.accounts.model import GrantedProject
from videoinsights.web.collector import collector_version
from videoinsights.web.pages import render
from videoinsights.web.pages.forms import read_form, safe_next, same_origin
from videoinsights.web.pages.session_auth import Login, current_login, forget_login, token_matches
from videoinsights.web.pages.state import write


@dataclass(frozen=True)
class PageSpec:
    entry: str  # the script bundle (frontend/src/<entry>/main.*)
    title: str
    nav: str
    styles: tuple[str, ...] = ()
    collector: bool = False  # the page loads /collector.js (a classic script) before its bundle


EXPLORER = PageSpec("explorer", "Explorer", "explorer", ("explorer.css",))
DASHBOARD = PageSpec("dashboard", "Dashboard", "dashboard")
LIVE = PageSpec("live", "Live", "live")
SESSIONS = PageSpec("sessions", "Sessions", "sessions")
INSPECTOR = PageSpec("inspector", "Session", "sessions")
ALERTS = PageSpec("alerts", "Alerts", "alerts")
COLLECTOR_DEMO = PageSpec("collector-demo", "Collector demo", "collector", collector=True)

NOT_BUILT = ('<section class="card notice"><h2>The frontend is not built</h2><p>Run '
             "<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code> (<code>./run</code> does it) "
             "and reload.</p></section>")
NO_PROJECTS = ('<section class="card notice"><h2>No project yet</h2><p>This account cannot see any project. '
               "An administrator grants one with <code>videoinsights accounts grant --email EMAIL "
               "--project ID</code>.</p></section>")


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _options(projects: tuple[GrantedProject, ...], selected: str | None) -> str:
    if not projects:
        return '<option value="">(no project)</option>'
    return "".join(
        f'<option value="{html.escape(p.project_id)}"{" selected" if p.project_id == selected else ""}>'
        f"{html.escape(p.name)} ({html.escape(p.project_id)})</option>" for p in projects)


def _shell(request: Request, login: Login, spec: PageSpec, project: GrantedProject | None, body: str,
           boot: dict[str, Any] | None, status: int = 200) -> Response:
    version = render.asset_version()
    scripts = styles = ""
    if boot is not None:
        collector = collector_version() if spec.collector else ""
        if render.built(spec.entry) and collector is not None:
            scripts = f'<script type="module" src="/static/dist/{spec.entry}.js?v={version}"></script>'
            if collector:
                scripts = f'<script src="/collector.js?v={html.escape(collector)}"></script>' + scripts
            styles = "".join(f'<link rel="stylesheet" href="/static/dist/{s}?v={version}">' for s in spec.styles)
        else:
            body = NOT_BUILT
    nav = {f"nav_{k}": 'aria-current="page"' if spec.nav == k else ""
           for k in ("explorer", "dashboard", "live", "sessions", "alerts", "collector")}
    html_text = render.fill(
        "app.html",
        raw={"boot": render.boot_json(boot or {}), "scripts": scripts, "styles": styles, "body": body,
             "project_options": _options(login.projects, project.project_id if project else None), **nav},
        title=spec.title, page=spec.entry, version=version, csrf=login.csrf_token, email=login.email,
        project_id=project.project_id if project else "",
        next=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )
    return render.page(html_text, status)


def _project(login: Login, request: Request) -> tuple[GrantedProject | None, bool]:
    """(project to show, allowed). A `project` parameter the account was not granted is refused."""
    asked = request.query_params.get("project")
    if asked:
        project = login.project(asked)
        return project, project is not None
    return login.project(login.session.project_id) or (login.projects[0] if login.projects else None), True


async def app_page(request: Request, spec: PageSpec, extra: dict[str, Any] | None = None) -> Response:
    login = current_login(request)
    if login is None:
        return login_redirect(request)
    project, allowed = _project(login, request)
    if not allowed:
        body = ('<section class="card notice"><h2>No access</h2><p>This account was not granted project '
                f"<code>{html.escape(request.query_params.get('project', ''))}</code>.</p></section>")
        return _shell(request, login, spec, None, body, None, 403)
    if project is None:
        return _shell(request, login, spec, None, NO_PROJECTS, None)
    boot = {
        "page": spec.entry,
        "email": login.email,
        "csrf": login.csrf_token,
        "graphqlUrl": "/graphql",
        "project": {"id": project.project_id, "name": project.name, "advancedInsights": project.advanced_insights},
        "projects": [{"id": p.project_id, "name": p.name} for p in login.projects],
        **(extra or {}),
    }
    return _shell(request, login, spec, project, '<div class="loading">Loading…</div>', boot)


async def explorer_page(request: Request) -> Response:
    return await app_page(request, EXPLORER)


async def dashboard_page(request: Request) -> Response:
    return await app_page(request, DASHBOARD)


async def live_page(request: Request) -> Response:
    return await app_page(request, LIVE)


async def sessions_page(request: Request) -> Response:
    return await app_page(request, SESSIONS)


async def inspector_page(request: Request) -> Response:
    return await app_page(request, INSPECTOR, {"sessionId": request.path_params["session_id"]})


async def collector_demo_page(request: Request) -> Response:
    return await app_page(request, COLLECTOR_DEMO, {"credentialUrl": "/collector-demo/credential"})


def _with_project(next_: str, project_id: str) -> str:
    """The page to return to, showing the new project (a session page belongs to the old one)."""
    parts = urlsplit(next_)
    path = "/sessions" if parts.path.startswith("/sessions/") else parts.path
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "project"]
    return f"{path}?{urlencode([('project', project_id), *query])}"


async def post_switch_project(request: Request) -> Response:
    login = current_login(request)
    if login is None:
        return login_redirect(request)
    form = await read_form(request)
    if not (token_matches(login, form.get("csrf")) and same_origin(request)):
        return render.page("<!doctype html><title>Refused</title><p>Refused: missing or wrong CSRF token.</p>", 403)
    project = login.project(form.get("project"))
    if project is None:
        return render.page("<!doctype html><title>No access</title><p>This account was not granted that project.</p>",
                           403)
    session_hash = login.session.session_hash
    await write(request,
                lambda store: store.sql.accounts.set_session_project(store.reader(), session_hash, project.project_id))
    forget_login(request, session_hash)
    return RedirectResponse(_with_project(safe_next(form.get("next")), project.project_id), status_code=303)
