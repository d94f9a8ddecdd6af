"""The node estimate and the node limit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from graphql import get_operation_ast, parse

from tests.conftest import SHARED
from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, clock
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.cost import estimate_nodes
from videoinsights.query.executor import Executor
from videoinsights.query.schema import build_schema

QUERIES = SHARED / "reference" / "client-queries"


def estimate(text: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(text)
    return estimate_nodes(build_schema(), document, get_operation_ast(document), variables)


def test_support_article_example_is_51023_nodes() -> None:
    text = next(QUERIES.glob("68-*.graphql")).read_text()
    assert estimate(text) == 51_023  # 1 + 2 sessions + 20 meetings + 1,000 publishers + 50,000 stats


def test_estimate_clamps_and_follows_variables_and_fragments() -> None:
    text = """query($n: Int, $ids: [String]!) { project(projectId: 1) { sessionData {
      sessions(sessionIds: $ids) { resources { meetings(first: 1000) { ...M } } } } } }
      fragment M on Meetings { resources { publishers(first: $n) { totalCount } } }"""
    # 1 + 3 sessions + 30 meetings (clamped to 10 each) + 30 x 7 publishers
    assert estimate(text, {"n": 7, "ids": ["a", "b", "c"]}) == 1 + 3 + 30 + 210
    assert estimate(text, {"n": 10**6, "ids": ["a"]}) == 1 + 1 + 10 + 10 * 1000


def executor(store: Any, limit: int) -> Executor:
    return Executor(replace(SETTINGS, max_query_nodes=limit), store.reader, store.get_project, clock)


def test_query_over_the_limit_with_a_real_result_over_it_is_refused(store: Any) -> None:
    body = executor(store, 10).run(AuthContext(fx.PROJECT, "project"),
                                   "{ project(projectId: 12345678) { sessionData { sessionSummaries(start: 0) "
                                   "{ resources { sessionId } } } } }")
    assert body["data"] is None
    (err,) = body["errors"]
    assert err["errorCode"] == 1014 and "limit of 10 result nodes" in err["message"]


def test_big_estimate_small_result_runs(store: Any) -> None:
    # the estimate is ~10 million (1000 subscribers x 100000 samples, clamped to 1000); the data is a few rows
    text = next(QUERIES.glob("29-*.graphql")).read_text()
    variables = {"projectId": "12345678", "sessionIds": [fx.S1]}
    assert estimate(text, variables) > 500_000
    body = executor(store, 500_000).run(AuthContext(fx.PROJECT, "project"), text, variables)
    assert "errors" not in body
    body = executor(store, 12).run(AuthContext(fx.PROJECT, "project"), text, variables)
    # 1 + 1 session + 3 meetings + 2 subscribers + 2 samples = 9 nodes fit; 12 is enough
    assert "errors" not in body
    body = executor(store, 8).run(AuthContext(fx.PROJECT, "project"), text, variables)
    assert body["errors"][0]["errorCode"] == 1014


def test_score_distribution_is_one_more_read_per_project_data() -> None:
    """projectData reads the rollups in one statement; its quality.scoreDistribution adds one statement for
    the whole page of rows (docs/quality.md), so the cost counts one read more, not one per row."""
    from videoinsights.query.cost import estimate as estimate_cost

    def reads(text: str) -> int:
        document = parse(text)
        return estimate_cost(build_schema(), document, get_operation_ast(document), None).reads

    plain = ('{ project(projectId: 1) { projectData(start: "2026-01-01") { resources { quality { issues { highRtt } } '
             '} } } }')
    with_dist = plain.replace("issues { highRtt }", "issues { highRtt } scoreDistribution { score5 }")
    twice = with_dist.replace("projectData(", "a: projectData(")[:-3] + (
        ' b: projectData(start: "2026-01-01", interval: DAILY) { resources { quality { scoreDistribution { score1_5 } }'
        " } } } }")
    assert reads(plain) == 1
    assert reads(with_dist) == 2
    assert reads(twice) == 4
