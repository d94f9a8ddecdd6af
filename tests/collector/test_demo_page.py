"""/collector-demo: a logged-in user starts a loopback call; its session shows in the API and the
inspector while the call runs. The synthetic stream (canvas + oscillator) is forced, so the path
for browsers without a camera is the one exercised (the fake camera is the loopback tests')."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

from tests.browser.conftest import screenshot, wait_ready
from tests.collector.conftest import EMAIL, PASSWORD, CallWorld, PageWatch


def _login(page: Any, world: CallWorld, next_path: str) -> None:
    page.goto(f"{world.url}/login?next={quote(next_path, safe='')}")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(world.url + next_path.split("?")[0])))


def _stats_flowing(meetings: list[dict[str, Any]]) -> bool:
    m = meetings[0]
    pub = m["publishers"]["resources"]
    sub = m["subscribers"]["resources"]
    return (m["connections"]["totalCount"] == 2 and len(pub) == 1 and len(sub) == 1
            and any((s["videoBitrateKbps"] or 0) > 0 for s in pub[0]["streamStatsCollection"]["resources"])
            and sub[0]["streamStatsCollection"]["totalCount"] > 0)


def test_demo_call_appears_in_the_api_and_inspector(call_page: tuple[Any, PageWatch], call_world: CallWorld) -> None:
    page, watch = call_page
    _login(page, call_world, f"/collector-demo?project={call_world.project.project_id}&synthetic=1")
    wait_ready(page)
    page.click("#demo-start")
    page.wait_for_selector("#app[data-call=running]", state="attached", timeout=60_000)
    assert page.inner_text("#demo-source") == "synthetic canvas and oscillator"
    session_id = page.inner_text("#demo-inspector")
    assert session_id.startswith("demo-")

    meetings = call_world.wait_for(session_id, _stats_flowing, timeout=90)
    pub = meetings[0]["publishers"]["resources"][0]
    sub = meetings[0]["subscribers"]["resources"][0]
    assert sub["stream"]["streamId"] == pub["stream"]["streamId"]
    assert pub["destroyedAt"] is None  # the call is still running
    assert pub["stream"]["hasVideoTrack"] and pub["stream"]["hasAudioTrack"]
    assert "640x360" in {s["videoResolution"] for s in pub["streamStatsCollection"]["resources"]}  # the canvas

    inspector = page.context.new_page()
    inspector.goto(call_world.url + page.get_attribute("#demo-inspector", "href"))
    wait_ready(inspector)
    assert session_id in inspector.inner_text("main")
    screenshot(page, "collector-demo")
    inspector.close()

    page.click("#demo-start")  # stop: the collectors close, the session ends
    page.wait_for_selector("#app[data-call=stopped]", state="attached", timeout=60_000)
    call_world.wait_for(session_id, lambda m: m[0]["publishers"]["resources"][0]["destroyedAt"] is not None
                        and all(c["destroyedAt"] for c in m[0]["connections"]["resources"]))
    assert watch.errors == []


def test_demo_credential_needs_the_login_and_its_csrf_token(call_world: CallWorld) -> None:
    url = f"{call_world.url}/collector-demo/credential?project={call_world.project.project_id}"
    assert httpx.post(url).status_code == 401
    with httpx.Client(base_url=call_world.url) as client:
        form = client.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        data = {"email": EMAIL, "password": PASSWORD, **({"csrf": csrf.group(1)} if csrf else {})}
        client.post("/login", data=data)
        assert client.post(url).status_code == 403  # logged in, but no CSRF token
        page = client.get(f"/collector-demo?project={call_world.project.project_id}").text
        token = re.search(r'"csrf":"([^"]+)"', page)
        assert token, page[:500]
        ok = client.post(url, headers={"X-CSRF-Token": token.group(1)})
        assert ok.status_code == 200, ok.text
        assert ok.json()["sessionId"].startswith("demo-")
        other = client.post(f"{call_world.url}/collector-demo/credential?project=99999999",
                            headers={"X-CSRF-Token": token.group(1)})
        assert other.status_code == 403
