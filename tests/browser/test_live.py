"""The Live view at /live: counters follow events posted now, within the refresh period; no request
while the tab is hidden; live sessions link to the inspector. Uses the project only bob sees."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.browser.conftest import login, screenshot, wait_ready
from tests.browser.world import HIDDEN, World

REFRESH_S = 5  # frontend/src/live/main.js REFRESH_MS


def participants(page: Any) -> int:
    return int(page.locator("[data-kpi='participants']").get_attribute("data-value"))


def post_live_session(world: World, session_id: str, connections: int) -> None:
    now = int(time.time() * 1000)
    batch = [{"id": f"{session_id}-{i}", "type": "connectionCreated", "sessionId": session_id,
              "timestamp": now - 10_000, "connectionId": f"{session_id}-c{i}", "sdkType": "JS", "country": "US"}
             for i in range(connections)]
    r = httpx.post(f"{world.url}/v1/events", json=batch, headers=world.hidden.headers())
    assert r.json()["accepted"] == connections


def set_visibility(page: Any, state: str) -> None:
    page.evaluate("""(state) => {
      Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }""", state)


def test_counters_follow_new_events_and_pause_while_hidden(page: Any, world: World) -> None:
    login(page, world, world.bob, next_path=f"/live?project={HIDDEN}")
    wait_ready(page)
    before = participants(page)
    post_live_session(world, "LIVE-ONE", 2)
    started = time.monotonic()
    page.wait_for_selector(f"[data-kpi='participants'][data-value='{before + 2}']", state="attached",
                           timeout=(2 * REFRESH_S + 10) * 1000)
    assert time.monotonic() - started < 2 * REFRESH_S + 10
    link = page.locator("#live-sessions a", has_text="LIVE-ONE")
    assert link.get_attribute("href") == f"/sessions/LIVE-ONE?project={HIDDEN}"
    screenshot(page, "live")

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/graphql" in r.url else None)
    set_visibility(page, "hidden")
    page.wait_for_timeout((2 * REFRESH_S + 1) * 1000)
    assert requests == [], "the hidden tab kept polling"
    assert page.locator("#live-status").inner_text() == "Paused while the tab is hidden"

    with page.expect_request(lambda r: "/graphql" in r.url, timeout=3000):
        set_visibility(page, "visible")  # coming back refreshes at once
    wait_ready(page)


def test_the_inspector_of_a_live_session_refreshes_itself(page: Any, world: World) -> None:
    post_live_session(world, "LIVE-TWO", 1)
    login(page, world, world.bob, next_path=f"/live?project={HIDDEN}")
    page.wait_for_selector("#live-sessions a:has-text('LIVE-TWO')", timeout=(2 * REFRESH_S + 10) * 1000)
    page.locator("#live-sessions a", has_text="LIVE-TWO").click()
    page.wait_for_url(lambda url: "/sessions/LIVE-TWO" in url)
    wait_ready(page)
    assert page.locator("[data-kpi='connections']").get_attribute("data-value") == "1"
    now = int(time.time() * 1000)
    r = httpx.post(f"{world.url}/v1/events", headers=world.hidden.headers(), json=[
        {"id": "LIVE-TWO-late", "type": "connectionCreated", "sessionId": "LIVE-TWO", "timestamp": now - 5_000,
         "connectionId": "LIVE-TWO-late", "sdkType": "JS"}])
    assert r.json()["accepted"] == 1
    # Within the inspector's 10-second refresh (plus derivation): the new connection is drawn.
    page.wait_for_selector("[data-connection='LIVE-TWO-late']", state="attached", timeout=30_000)
