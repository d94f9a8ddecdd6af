"""Hostile documents against a real server (issue 11, findings 2, 3, 7, 9): each attack is
answered with a clean error (or its correct result), then a normal request still works."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest
from graphql import get_operation_ast, parse

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, Server, clock
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.cost import FragmentCycleError, estimate
from videoinsights.query.executor import Executor
from videoinsights.query.schema import build_schema

NORMAL = ("{ project(projectId: 12345678) { projectData(start: 0) "
          "{ resources { usage { streamedPublishedMinutes } } } } }")
# June 2025 .. today: 100 + 35 + 5 + 7.5 + 3 + 10 published minutes (fixtures.py; test_project_data.py)
NORMAL_DATA = {"project": {"projectData": {"resources": [{"usage": {"streamedPublishedMinutes": 160.5}}]}}}


def assert_normal_request_works(server: Server, token: str) -> None:
    body = server.post(NORMAL, token=token).json()
    assert body == {"data": NORMAL_DATA}


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["errorCode"] == error["extensions"]["code"]
    return error


def doubling(levels: int, on: str, leaf: str, names: tuple[str, ...] = ("F",)) -> str:
    """Fragments F0..F<levels>: each level spreads the next level's fragments twice (2^levels paths)."""
    defs = []
    for i in range(levels):
        spreads = " ".join(f"...{n}{i + 1} ...{n}{i + 1}" for n in names)
        defs += [f"fragment {n}{i} on {on} {{ {spreads} }}" for n in names]
    defs += [f"fragment {n}{levels} on {on} {{ {leaf} }}" for n in names]
    return "\n".join(defs)


def test_24_level_doubling_fragment_gets_its_correct_result(server: Server, token: str) -> None:
    query = ("{ project(projectId: 12345678) { projectData(start: 0) { resources { ...F0 } } } }\n"
             + doubling(24, "Metric", "usage { streamedPublishedMinutes }"))
    assert len(query) < 2000  # the audit's "1 KB query"
    body = server.post(query, token=token).json()
    assert body == {"data": NORMAL_DATA}
    assert_normal_request_works(server, token)


def test_doubling_fragments_of_reads_are_refused_before_running(server: Server, token: str) -> None:
    # two fragment names per level, each spreading both of the next level: 2^24 reads of projectData by the
    # static count, which the estimate computes in one pass per fragment
    query = ("{ project(projectId: 12345678) { ...F0 ...G0 } }\n"
             + doubling(24, "Project", "projectData(start: 0) { totalCount }", names=("F", "G")))
    error = only_error(server.post(query, token=token).json())
    assert error["errorCode"] == 1014
    assert "limit of 50 reads" in error["message"] and "33,554,432 requested" in error["message"]
    assert_normal_request_works(server, token)


def test_estimate_counts_a_fragment_once_per_spread() -> None:
    schema = build_schema()
    text = ("query { project(projectId: 1) { ...A ...A sessionData { ...S } } }\n"
            "fragment A on Project { projectData(start: 0) { totalCount } }\n"
            "fragment S on SessionData { sessions(sessionIds: [\"a\", \"b\"]) { resources { ...M } } "
            "  session(sessionId: \"a\") { sessionId } }\n"
            "fragment M on Session { meetings { resources { meetingId } } x: meetings { totalCount } }")
    document = parse(text)
    got = estimate(schema, document, get_operation_ast(document), {})
    # reads: projectData (spread twice in one selection set, collected once), sessions, session, 2 x meetings
    # nodes: 1 + 50 projectData rows + 2 sessions + 2 x (10 + 10) meetings
    assert (got.reads, got.nodes) == (5, 1 + 50 + 2 + 40)


def test_fragment_cycles_are_refused_not_followed(server: Server, token: str) -> None:
    text = ("{ project(projectId: 12345678) { ...A } }\n"
            "fragment A on Project { sessionData { sessions(sessionIds: [\"a\"]) { totalCount } } ...B }\n"
            "fragment B on Project { projectData(start: 0) { totalCount } ...A }")
    document = parse(text)  # not validated: the estimate meets the cycle itself
    with pytest.raises(FragmentCycleError, match="spreads itself"):
        estimate(build_schema(), document, get_operation_ast(document), {})
    error = only_error(server.post(text, token=token).json())
    assert error["errorCode"] == 1022 and "Cannot spread fragment 'A' within itself via 'B'." in error["message"]
    assert_normal_request_works(server, token)


def test_1000_aliases_of_a_grouped_project_data_are_refused(server: Server, token: str) -> None:
    aliases = " ".join(f"a{i}: projectData(start: 0, groupBy: COUNTRY) {{ totalCount }}" for i in range(1000))
    error = only_error(server.post(f"{{ project(projectId: 12345678) {{ {aliases} }} }}", token=token).json())
    assert error["errorCode"] == 1014  # over the token limit already (14,000 tokens)
    assert "limit of 3,000 tokens" in error["message"]
    assert_normal_request_works(server, token)


def test_more_reads_than_the_limit_are_refused_and_the_limit_itself_runs(server: Server, token: str) -> None:
    def aliases(n: int) -> str:
        fields = " ".join(f"a{i}: projectData(start: 0, groupBy: COUNTRY) {{ totalCount }}" for i in range(n))
        return f"{{ project(projectId: 12345678) {{ {fields} }} }}"

    error = only_error(server.post(aliases(51), token=token).json())
    assert error["errorCode"] == 1014
    assert "limit of 50 reads (51 requested" in error["message"]
    body = server.post(aliases(50), token=token).json()
    assert "errors" not in body and len(body["data"]["project"]) == 50
    assert_normal_request_works(server, token)


def test_document_over_the_byte_limit_is_refused_before_parsing(server: Server, token: str) -> None:
    # 2 MiB of aliases, the audit's attack; also nonsense past the limit is never parsed
    aliases = " ".join(f"a{i}: projectData(start: 0) {{ totalCount }}" for i in range(50_000))
    for query in (f"{{ project(projectId: 12345678) {{ {aliases} }} }}", "{" * 100_001):
        error = only_error(server.post(query, token=token).json())
        assert error["errorCode"] == 1014
        assert "longer than the limit of 100,000 bytes" in error["message"]
    # multi-byte characters count as bytes: 50,001 x 2 bytes in a string argument
    query = ('{ project(projectId: 12345678) { sessionData { session(sessionId: "' + "é" * 50_001
             + '") { sessionId } } } }')
    assert len(query) < 100_000 < len(query.encode())
    assert "100,000 bytes" in only_error(server.post(query, token=token).json())["message"]
    assert_normal_request_works(server, token)


def test_document_over_the_token_limit_is_refused(server: Server, token: str) -> None:
    ids = ",".join(['"x"'] * 2_900)  # under the limit: answered (no such sessions)
    query = f"{{ project(projectId: 12345678) {{ sessionData {{ sessions(sessionIds: [{ids}]) {{ totalCount }} }} }} }}"
    assert server.post(query, token=token).json() == {
        "data": {"project": {"sessionData": {"sessions": {"totalCount": 0}}}}}
    ids = ",".join(['"x"'] * 3_000)  # 12 KB, 3,000 string tokens plus the query's own
    query = f"{{ project(projectId: 12345678) {{ sessionData {{ sessions(sessionIds: [{ids}]) {{ totalCount }} }} }} }}"
    assert len(query) < 100_000
    error = only_error(server.post(query, token=token).json())
    assert error["errorCode"] == 1014 and "more than the limit of 3,000 tokens" in error["message"]
    assert_normal_request_works(server, token)


def test_repeats_that_make_validation_quadratic_are_refused(server: Server, token: str) -> None:
    project = "project(projectId: 12345678)"
    ten = "projectData(start: 0) { totalCount } " * 10  # one response name ten times: allowed, merged
    assert server.post(f"{{ {project} {{ {ten} }} }}", token=token).json() == {
        "data": {"project": {"projectData": {"totalCount": 1}}}}
    nested = ('sessionData { sessions(sessionIds: ["a"]) { '
              + ("resources { " + ("meetings { resources { " + "meetingId " * 6 + "} } ") * 6 + "} ") * 6 + "} }")
    fragment = [f"fragment F{i} on Project {{ projectData(start: 0) {{ totalCount }} }}" for i in range(51)]
    fragments, eleven = " ".join(fragment), " ".join(fragment[:11])
    spreads = " ".join(f"...F{i}" for i in range(11))
    refusals = {
        # 290 x the same field: 1.9 s of validation before this check
        f"{{ {project} {{ {'projectData(start: 0) { totalCount } ' * 11} }} }}":
            "selects `projectData` 11 times in one selection set; the limit is 10",
        # 6 x 6 x 6 repeats (0.19 s of validation): 6 `resources` of 1 + 6 x 8 fields, (6 x 49)^2 / 2 = 43,218;
        # in each, 6 `meetings` of 8 fields, 6 x 48^2 / 2 = 6,912; 36 x 6^2 / 2 = 648 for `meetingId`: 50,778
        # comparisons by the bound, over its 20,000
        f"{{ {project} {{ {nested} }} }}": "repeats fields with large selections too often",
        f"{{ {project} {{ ...F0 }} }} {fragments}": "defines 51 fragments; the limit is 50",
        f"{{ {project} {{ {spreads} }} }} {eleven}":
            "spreads 11 fragments in one selection set; the limit is 10",
    }
    for query, message in refusals.items():
        error = only_error(server.post(query, token=token).json())
        assert error["errorCode"] == 1014 and message in error["message"], (error, query[:200])
    assert_normal_request_works(server, token)


def executor(store: Any, **settings: Any) -> Executor:
    return Executor(replace(SETTINGS, **settings), store.reader, store.get_project, clock)


def test_parse_cache_is_bounded_by_query_length(store: Any) -> None:
    ex = executor(store, query_cache_chars=16_000)  # entries up to 16,000 / 64 = 250 characters are kept
    auth = AuthContext(fx.PROJECT, "project")
    small = [NORMAL.replace("start: 0", f"start: {i}") for i in range(1, 301)]  # about 113 characters each
    for query in small:
        assert ex.run(auth, query) == {"data": NORMAL_DATA}  # any start before June 2025 reads everything
    # the most recent queries, as many as fit in 16,000 characters
    kept = max(k for k in range(len(small) + 1) if sum(len(q) for q in small[len(small) - k:]) <= 16_000)
    assert 100 < kept < 300  # some evicted
    assert len(ex.documents) == kept and ex.documents.chars == sum(len(q) for q in small[-kept:])
    assert small[-kept] in ex.documents and small[-kept - 1] not in ex.documents
    big = NORMAL.replace("streamedPublishedMinutes", " ".join(["streamedPublishedMinutes"] * 10))
    assert len(big) > 250
    assert ex.run(auth, big) == {"data": NORMAL_DATA}  # answered, not kept
    assert big not in ex.documents and len(ex.documents) == kept


@pytest.mark.parametrize("offset", ["99999999999999999999", "9223372036854775807", "2147483648", "²",
                                    "1" * 5000])
def test_cursor_with_an_impossible_offset_is_1005(server: Server, token: str, offset: str) -> None:
    cursor = base64.b64encode(f"insights-resource:{offset}".encode()).decode()
    for collection in ("projectData(start: 0, endCursor: $c) { totalCount }",
                       "sessionData { sessionSummaries(start: 0, endCursor: $c) { totalCount } }"):
        body = server.post(f"query($c: String) {{ project(projectId: 12345678) {{ {collection} }} }}",
                           {"c": cursor}, token=token).json()
        error = body["errors"][0]
        assert error["errorCode"] == 1005, body
    assert_normal_request_works(server, token)


def test_largest_offset_is_still_a_page_past_the_end(server: Server, token: str) -> None:
    cursor = base64.b64encode(b"insights-resource:2147483647").decode()
    body = server.post(f'{{ project(projectId: 12345678) {{ projectData(start: 0, endCursor: "{cursor}") '
                       "{ totalCount resources { intervalStart } } } }", token=token).json()
    assert body == {"data": {"project": {"projectData": {"totalCount": 1, "resources": []}}}}
