"""The fast executor answers every client query exactly as graphql-core's own executor does,
data and errors alike (it only takes a shortcut for plain data objects)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql.execution.executor import Executor as GraphQLExecutor

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, clock
from tests.query.test_client_queries import FILES, VARIABLES, number, shifted
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.executor import Executor
from videoinsights.query.fast_executor import FastExecutor


@pytest.fixture(scope="module")
def executors(store):
    return (Executor(SETTINGS, store.reader, store.get_project, clock, executor_class=FastExecutor),
            Executor(SETTINGS, store.reader, store.get_project, clock, executor_class=GraphQLExecutor))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_same_answer_as_graphql_core(executors, path: Path) -> None:
    text = shifted(path)
    project = fx.DOCS_PROJECT if "projectId: 100)" in text else fx.PROJECT
    auth = AuthContext(project, "project")
    fast, standard = (e.run(auth, text, VARIABLES.get(number(path))) for e in executors)
    assert fast == standard


def test_falls_back_for_values_the_shortcut_cannot_complete(executors) -> None:
    """__typename and a field with arguments inside a selection take the standard path."""
    query = """{ project(projectId: 12345678) { __typename projectData(start: 0, interval: DAILY) {
        resources { __typename intervalStart usage { streamedPublishedMinutes } } } } }"""
    fast, standard = (e.run(AuthContext(fx.PROJECT, "project"), query) for e in executors)
    assert fast == standard
    assert fast["data"]["project"]["__typename"] == "Project"
    assert fast["data"]["project"]["projectData"]["resources"]
