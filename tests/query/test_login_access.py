"""A browser login reads exactly the projects its account was granted, one per request."""

from __future__ import annotations

from tests.query import fixtures as fx
from videoinsights.auth.tokens import login_context

QUERY = "{ project(projectId: %s) { projectData(start: 0) { totalCount } } }"


def codes(body: dict) -> list[int]:
    return [e["errorCode"] for e in body.get("errors", [])]


def test_login_reads_granted_projects_only(executor) -> None:
    login = login_context(frozenset({fx.PROJECT}))
    assert "errors" not in executor.run(login, QUERY % fx.PROJECT)
    assert codes(executor.run(login, QUERY % fx.DOCS_PROJECT)) == [1021]


def test_login_reads_one_project_per_request(executor) -> None:
    login = login_context(frozenset({fx.PROJECT, fx.DOCS_PROJECT}))
    assert "errors" not in executor.run(login, QUERY % fx.DOCS_PROJECT)
    part = "project(projectId: {}) {{ projectData(start: 0) {{ totalCount }} }}"
    both = "{ a: " + part.format(fx.PROJECT) + " b: " + part.format(fx.DOCS_PROJECT) + " }"
    assert codes(executor.run(login, both)) == [1010]
