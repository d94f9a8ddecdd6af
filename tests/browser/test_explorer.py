"""The GraphiQL explorer at / : signed in, it runs queries on /graphql with the login session."""

from __future__ import annotations

import json
from typing import Any

from tests.browser.conftest import login, screenshot
from tests.browser.world import World

# The request the pages make: the login cookie plus the CSRF token and project from the boot data.
FETCH_AS_THE_PAGE = """async (query) => {
  const boot = JSON.parse(document.getElementById('boot').textContent);
  const r = await fetch('/graphql', {method: 'POST', body: JSON.stringify({query}), headers: {
    'content-type': 'application/json', 'x-csrf-token': boot.csrf, 'x-insights-project': boot.project.id}});
  return r.json();
}"""


def test_login_lands_on_the_explorer_and_runs_a_query(page: Any, world: World) -> None:
    login(page, world)
    page.wait_for_selector(".graphiql-container")
    page.wait_for_selector(".graphiql-query-editor .monaco-editor")
    assert "Acme Video" in page.inner_text("#project-switcher")

    page.click(".graphiql-execute-button")
    page.locator(".result-window").get_by_text("intervalStart").first.wait_for()
    shown = page.inner_text(".result-window")
    assert "streamedPublishedMinutes" in shown and '"errors"' not in shown
    # The explorer's answer is the API's answer for the same query and variables.
    query = "{ project(projectId: %s) { projectData(start: 0) { resources { usage { streamedPublishedMinutes } } } } }"
    query %= world.main.project_id
    response = page.evaluate(FETCH_AS_THE_PAGE, query)
    expected = world.graphql(world.main, query)
    assert response == {"data": expected}

    # Docs pane: the schema, with descriptions.
    page.click("[aria-label='Show Documentation Explorer']")
    page.wait_for_selector(".graphiql-doc-explorer")
    page.click(".graphiql-doc-explorer a:has-text('Query')")
    page.wait_for_selector(".graphiql-doc-explorer :text('projectId')")
    screenshot(page, "explorer")

    # History pane: the query that ran is listed.
    page.click("[aria-label='Show History']")
    page.wait_for_selector(".graphiql-history-item")
    assert "ProjectUsage" in page.inner_text(".graphiql-history")


def test_graphql_url_shows_the_explorer_to_browsers(page: Any, world: World) -> None:
    login(page, world)
    page.goto(f"{world.url}/graphql")
    page.wait_for_selector(".graphiql-container")
    variables = page.evaluate("JSON.parse(document.getElementById('boot').textContent)")
    assert variables["project"]["id"] == world.main.project_id
    assert json.loads(json.dumps(variables["projects"])) == [
        {"id": world.main.project_id, "name": "Acme Video"}, {"id": world.second.project_id, "name": "Second Project"}]
