"""`videoinsights demo`: the main job. A demo project with Advanced Insights,
realistic traffic for the last N days (from the simulator), then the server."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from videoinsights.accounts.ops import ensure_demo_account
from videoinsights.auth.tokens import issue_project_token
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.ops import create_project
from videoinsights.progress import Bar, track_events
from videoinsights.settings import Settings
from videoinsights.simulate.generator import generate
from videoinsights.store.open import open_store

DEMO_NAME = "demo"


def fill_demo(settings: Settings, days: int, sessions_per_day: int, seed: int) -> tuple[str, str, str, str]:
    """Create (or reuse) the demo project and login; generate traffic if the project has none.

    Returns (project id, api secret, login email, login password)."""
    store = open_store(settings.store_url)
    try:
        existing = [p for p in store.list_projects() if p.name == DEMO_NAME and p.kind == "project"]
        if existing:
            project_id, secret = existing[0].project_id, existing[0].api_secret or ""
        else:
            created = create_project(store, DEMO_NAME, advanced_insights=True)
            project_id, secret = str(created["projectId"]), created["apiSecret"]
        has_data = store.has_events(project_id)
        if not has_data:
            now_ms = int(time.time() * 1000)
            start_ms = day_start_ms(la_day(now_ms) - timedelta(days=days))
            print(f"generating {days} days x {sessions_per_day} sessions/day of traffic ...", flush=True)
            started = time.monotonic()
            events = (
                e for e in generate(project_id, start_ms, days, sessions_per_day, seed) if e["timestamp"] <= now_ms
            )
            with Bar("loading events", total=days, unit="days") as bar:
                loaded = load_events(store, project_id, track_events(events, bar, start_ms))
                bar.update(completed=days)
            with Bar("deriving sessions", unit="sessions") as bar:
                sessions = derive_until_clean(store, progress=lambda done, goal: bar.advance(done, total=goal))
            print(
                f"loaded {loaded.accepted:,} events, derived {sessions:,} sessions "
                f"in {time.monotonic() - started:.1f} s",
                flush=True,
            )
        email, password = ensure_demo_account(store, project_id)
    finally:
        store.close()
    return project_id, secret, email, password


def run_demo(settings: Settings, days: int, sessions_per_day: int, seed: int,
             live_sessions_per_hour: float = 30.0) -> int:
    """Fill the demo project, then serve; with live_sessions_per_hour > 0, keep posting traffic meanwhile."""
    from videoinsights.live_traffic import LiveTraffic
    from videoinsights.web.server import serve

    project_id, secret, email, password = fill_demo(settings, days, sessions_per_day, seed)
    token = issue_project_token(project_id, secret, 24 * 3600)
    url = f"http://{settings.host}:{settings.port}"
    graphql = (
        f"{{ project(projectId: {project_id}) {{ projectData(start: 0, interval: DAILY) "
        "{ resources { intervalStart usage { streamedPublishedMinutes } } } } }"
    )
    query = json.dumps({"query": graphql})
    print(
        f"""
videoinsights demo
  server:      {url}   (explorer at /, dashboard at /dashboard, live view at /live)
  login:       {email} / {password}
  project id:  {project_id}
  api secret:  {secret}
  token (24h): videoinsights --store {settings.store_url} token --project {project_id}

try:
  curl -s {url}/graphql -H 'Content-Type: application/json' \\
    -H 'X-OPENTOK-AUTH: {token}' \\
    -d '{query}'
""",
        flush=True,
    )
    traffic = None
    if live_sessions_per_hour > 0:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        traffic = LiveTraffic(f"http://{host}:{settings.port}", project_id, secret, live_sessions_per_hour, seed)
        print(f"posting live traffic: about {live_sessions_per_hour:g} sessions/hour (--live-sessions-per-hour, "
              "0 or --no-live-traffic to stop it)", flush=True)
        traffic.start()
    try:
        serve(settings)
    finally:
        if traffic is not None:
            traffic.stop()
    return 0
