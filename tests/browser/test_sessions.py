"""Recent sessions (sessionSummaries), the search box, and the session inspector."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tests.browser.conftest import ink, login, screenshot, wait_ready
from tests.browser.world import World

SUMMARIES = """query($p: IntOrString!, $start: Date!) { project(projectId: $p) { sessionData {
  sessionSummaries(start: $start, first: 1000) { totalCount resources { sessionId meetings { totalCount } } } } } }"""
SESSION = """query($p: IntOrString!, $id: String!) { project(projectId: $p) { sessionData {
  sessions(sessionIds: [$id]) { resources { meetings { totalCount resources { createdAt
    connections { totalCount resources { connectionId } }
    publishers { totalCount resources { stream { streamId } } } } } } } } } }"""


def test_recent_sessions_search_and_inspector(page: Any, world: World) -> None:
    start = datetime.fromtimestamp(time.time() - 7 * 86400, UTC).isoformat()
    summaries = world.graphql(world.main, SUMMARIES, {"p": world.main.project_id, "start": start})
    listed = summaries["project"]["sessionData"]["sessionSummaries"]
    assert listed["totalCount"] > 0

    login(page, world, next_path="/sessions?window=7d")
    wait_ready(page)
    rows = page.locator("table.sessions tbody tr")
    assert rows.count() == min(50, listed["totalCount"])
    assert page.inner_text("#session-count").startswith(f"{listed['totalCount']:,} sessions")
    shown = {rows.nth(i).get_attribute("data-session") for i in range(rows.count())}
    assert shown <= {s["sessionId"] for s in listed["resources"]}
    screenshot(page, "sessions")

    # the busiest session (most meetings, then most streams) is the one to inspect
    session_id = max(listed["resources"], key=lambda s: s["meetings"]["totalCount"])["sessionId"]
    page.fill("input[name=session]", session_id)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(f"**/sessions/{quote(session_id, safe='')}?project={world.main.project_id}")
    wait_ready(page)

    detail = world.graphql(world.main, SESSION, {"p": world.main.project_id, "id": session_id})
    meetings = detail["project"]["sessionData"]["sessions"]["resources"][0]["meetings"]
    assert page.locator("[data-kpi=meetings]").get_attribute("data-value") == str(meetings["totalCount"])
    assert page.locator(".meeting-tabs button").count() == len(meetings["resources"])
    assert ink(page, "#meetings") > 0.01

    # the last meeting is open: its participants and streams are the API's
    last = meetings["resources"][-1]
    connections = {c["connectionId"] for c in last["connections"]["resources"]}
    assert {page.locator("table.participants tbody tr").nth(i).get_attribute("data-connection")
            for i in range(page.locator("table.participants tbody tr").count())} == connections
    streams = [p["stream"]["streamId"] for p in last["publishers"]["resources"]]
    assert page.locator("details.stream").count() == len(streams)
    assert ink(page, "#meeting-timeline") > 0.01
    first_stream = page.locator("details.stream").first
    first_stream.locator("[data-metric=kbps] canvas").wait_for()
    for metric in ("kbps", "ms", "%"):
        assert ink(page, f"details.stream[open] [data-metric='{metric}']") > 0.005, metric
    screenshot(page, "inspector")

    # another meeting, picked from the list
    if len(meetings["resources"]) > 1:
        page.click(".meeting-tabs button[data-meeting='0']")
        wait_ready(page)
        first = meetings["resources"][0]
        shown = page.locator("[data-kpi=connections]").get_attribute("data-value")
        assert shown == str(first["connections"]["totalCount"])


def test_unknown_session_says_so(page: Any, world: World) -> None:
    login(page, world, next_path="/sessions/no-such-session")
    wait_ready(page)
    assert "Session not found" in page.inner_text("#app")


WORST = """query($p: IntOrString!, $start: Date!, $issue: String) { project(projectId: $p) { sessionData {
  sessionSummaries(start: $start, first: 20, orderBy: WORST_SCORE, issueType: $issue, maxScore: 5) {
    totalCount resources { sessionId quality { score issues { type } } } } } } }"""


def test_worst_sessions(page: Any, world: World) -> None:
    """The Worst sessions card lists the API's lowest-scored sessions of the window, each linking to the
    inspector; the issue filter narrows it to sessions with that issue."""
    start = datetime.fromtimestamp(time.time() - 7 * 86400, UTC).isoformat()
    expected = world.graphql(world.main, WORST, {"p": world.main.project_id, "start": start})
    worst = expected["project"]["sessionData"]["sessionSummaries"]["resources"]
    assert worst, "the simulated traffic has scored sessions"
    scores = [s["quality"]["score"] for s in worst]
    assert scores == sorted(scores)

    login(page, world, next_path="/sessions?window=7d")
    wait_ready(page)
    rows = page.locator("table.worst tbody tr")
    assert rows.count() == len(worst)
    assert [rows.nth(i).get_attribute("data-session") for i in range(rows.count())] == [s["sessionId"] for s in worst]
    assert rows.first.get_attribute("data-score") == f"{worst[0]['quality']['score']:.2f}"
    screenshot(page, "worst-sessions")

    # filter by the first listed session's main issue type: every row then has that issue
    issue = next((s["quality"]["issues"][0]["type"] for s in worst if s["quality"]["issues"]), None)
    assert issue is not None, "some of the worst simulated sessions have issues"
    page.select_option("select[name=issue]", issue)
    wait_ready(page)
    filtered = world.graphql(world.main, WORST, {"p": world.main.project_id, "start": start, "issue": issue})
    ids = [s["sessionId"] for s in filtered["project"]["sessionData"]["sessionSummaries"]["resources"]]
    rows = page.locator("table.worst tbody tr")
    assert [rows.nth(i).get_attribute("data-session") for i in range(rows.count())] == ids

    rows.first.locator("a").click()
    page.wait_for_url(f"**/sessions/{quote(ids[0], safe='')}?project={world.main.project_id}")
    wait_ready(page)
