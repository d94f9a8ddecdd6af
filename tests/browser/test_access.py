"""Login, logout, the project switcher and what an account may not see, in the browser."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import login, screenshot, wait_ready
from tests.browser.world import PASSWORD, World

# /graphql as the pages call it, but naming another project.
FETCH_PROJECT = """async ([project, query]) => {
  const boot = JSON.parse(document.getElementById('boot').textContent);
  const r = await fetch('/graphql', {method: 'POST', body: JSON.stringify({query}), headers: {
    'content-type': 'application/json', 'x-csrf-token': boot.csrf || '', 'x-insights-project': project}});
  return {status: r.status, body: await r.json()};
}"""


def test_pages_send_strangers_to_the_login_page(page: Any, world: World) -> None:
    for path in ("/", "/dashboard?tab=errors", "/sessions", "/graphql"):
        page.goto(world.url + path)
        assert page.url.startswith(f"{world.url}/login?next="), path
    page.fill("input[name=email]", world.alice)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{world.url}/graphql")  # back where the visit started
    page.wait_for_selector(".graphiql-container")


def test_wrong_password_is_refused(page: Any, world: World, guard: Any) -> None:
    guard.allowed_statuses.add(401)
    page.goto(f"{world.url}/login")
    screenshot(page, "login")
    page.fill("input[name=email]", world.alice)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "Wrong email or password" in page.inner_text(".notice")
    page.goto(f"{world.url}/dashboard")
    assert "/login" in page.url


def test_switch_project_and_no_access_to_other_projects(page: Any, world: World, guard: Any) -> None:
    login(page, world, next_path="/dashboard?tab=quality")
    wait_ready(page)
    page.select_option("#project-switcher", world.second.project_id)
    page.wait_for_url(f"**/dashboard?project={world.second.project_id}&tab=quality**")
    wait_ready(page)
    assert page.inner_text("h1") == "Second Project"
    assert page.locator("#project-switcher").input_value() == world.second.project_id
    # the choice is remembered by the login
    page.goto(f"{world.url}/sessions")
    wait_ready(page)
    assert page.locator("#project-switcher").input_value() == world.second.project_id

    # a project the account was not granted: the page refuses, and so does the API
    guard.allowed_statuses.update({401, 403})
    response = page.goto(f"{world.url}/dashboard?project={world.hidden.project_id}")
    assert response.status == 403
    assert "No access" in page.inner_text("#app")
    query = "{ project(projectId: %s) { projectData(start: 0) { resources { usage { streamedPublishedMinutes } } } } }"
    answer = page.evaluate(FETCH_PROJECT, [world.hidden.project_id, query % world.hidden.project_id])
    assert answer["body"].get("errors"), answer
    assert "data" not in answer["body"] or not (answer["body"]["data"] or {}).get("project"), answer


def test_logout_ends_the_login(page: Any, world: World) -> None:
    login(page, world, next_path="/dashboard")
    wait_ready(page)
    page.click("form.logout button")
    page.wait_for_url(f"{world.url}/login")
    page.goto(f"{world.url}/dashboard")
    assert page.url.startswith(f"{world.url}/login?next=")
