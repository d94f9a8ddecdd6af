"""`quality` selections count in the read estimate (query/cost.py): each reads its level's scores and issues."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graphql import get_operation_ast, parse

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, clock
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.cost import estimate
from videoinsights.query.executor import Executor
from videoinsights.query.schema import build_schema


def summaries_with_quality(n: int) -> str:
    fields = " ".join(f"q{i}: quality {{ score }}" for i in range(n))
    return ("{ project(projectId: 12345678) { sessionData { sessionSummaries(start: 0) "
            f"{{ resources {{ sessionId {fields} }} }} }} }} }}")


def test_each_quality_is_two_reads() -> None:
    text = """{ project(projectId: 1) { sessionData { sessions(sessionIds: ["a"]) { resources {
      quality { score issues { type } } meetings { resources { quality { score } connections { resources {
        quality { scoreP10 } } } } } } } } } }"""
    document = parse(text)
    # sessions, meetings, connections: 3; three quality selections: 6
    assert estimate(build_schema(), document, get_operation_ast(document), {}).reads == 3 + 6


def test_many_quality_selections_are_refused_before_running(store: Any) -> None:
    executor = Executor(replace(SETTINGS, max_query_reads=50), store.reader, store.get_project, clock)
    auth = AuthContext(fx.PROJECT, "project")
    body = executor.run(auth, summaries_with_quality(25))  # 1 + 25 x 2 = 51 reads
    assert body["data"] is None
    (err,) = body["errors"]
    assert err["errorCode"] == 1014 and "limit of 50 reads (51 requested" in err["message"]
    body = executor.run(auth, summaries_with_quality(24))  # 49 reads: runs
    assert "errors" not in body and body["data"]["project"]["sessionData"]["sessionSummaries"]["resources"]
