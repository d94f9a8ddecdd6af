"""The API answers the same on both store backends: the 73 real client queries (and the live, quality and
export reads) run through the same executor on the DuckDB fixture world and on a ClickHouse (chdb) store
holding a row-for-row copy of it (tests/support/copy_store.py), and the JSON must be equal.

This compares the read modules function by function on identical tables; that the ClickHouse derivation
produces the same tables from the same traffic is the store tests' job (tests/store, store_url fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.query import fixtures as fx
from tests.query.conftest import SETTINGS, clock
from tests.query.test_client_queries import FILES, VARIABLES, number, shifted
from tests.support.copy_store import copy
from tests.support.stores import drop, new_store_url
from videoinsights.auth.tokens import AuthContext
from videoinsights.query.executor import Executor
from videoinsights.store.open import open_store

Both = tuple[Executor, Executor]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    tmp = tmp_path_factory.mktemp("backends")
    duck = fx.build_world(str(tmp / "insights.duckdb"))
    url = new_store_url("chdb", tmp)
    ch = open_store(url)
    copy(duck, ch)
    yield duck, ch
    duck.close()
    ch.close()
    drop(url)


@pytest.fixture(scope="module")
def executors(stores: tuple[Any, Any]) -> Both:
    duck, ch = stores
    return (Executor(SETTINGS, duck.reader, duck.get_project, clock),
            Executor(SETTINGS, ch.reader, ch.get_project, clock))


def both(executors: Both, query: str, variables: dict[str, Any] | None = None,
         project: str = fx.PROJECT) -> tuple[dict[str, Any], dict[str, Any]]:
    auth = AuthContext(project, "project")
    return executors[0].run(auth, query, variables), executors[1].run(auth, query, variables)


def test_the_copy_is_complete(stores: tuple[Any, Any]) -> None:
    """Guards the comparison itself: the ClickHouse store holds the fixture world's rows."""
    duck, ch = stores
    for table in ("sessions", "meetings", "connections", "publishers", "subscribers", "stats_samples"):
        n_duck = duck.reader().execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        n_ch = ch.client.query_rows(f"SELECT count() FROM {table}")[0][0]
        assert n_duck > 0 and n_ch == n_duck, table
    assert sorted(ch.list_projects(), key=str) == sorted(duck.list_projects(), key=str)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_client_query_same_json(executors: Both, path: Path) -> None:
    text = shifted(path)
    project = fx.DOCS_PROJECT if "projectId: 100)" in text else fx.PROJECT
    on_duck, on_ch = both(executors, text, VARIABLES.get(number(path)), project)
    assert on_ch == on_duck
    if "errors" not in on_duck:
        assert on_duck["data"]["project"] is not None  # a real answer was compared, not two nulls


# Reads the client corpus does not reach: every option of the extensions (docs/api.md).
EXTRA = {
    "weekly_monthly_grouped": """{ project(projectId: 12345678) {
        w: projectData(start: "2025-05-01", interval: WEEKLY, groupBy: [COUNTRY, SDK_TYPE]) {
          totalCount resources { intervalStart country sdkType usage { streamedPublishedMinutes } } }
        m: projectData(start: "2025-01-01", interval: MONTHLY) {
          totalCount resources { intervalStart usage { streamedPublishedMinutes sdArchiveComposedMinutes
            participantMinutes { from1To2Publishers } } } }
        t: projectData(start: "2025-01-01") { resources { usage { streamedSubscribedMinutes sipUserMinutes } } }
        f: projectData(start: "2025-11-01", country: [US], browser: [CHROME, OTHER], groupBy: [BROWSER]) {
          resources { browser errors { connect { attempts failures } } } }
        p: projectData(start: "2025-11-01", first: 2, endCursor: "aW5zaWdodHMtcmVzb3VyY2U6Mg==") {
          totalCount resources { intervalStart } } } }""",
    "fine_intervals": """{ project(projectId: 12345678) {
        h: projectData(start: 1764086400000, end: 1764259200000, interval: HOURLY) {
          totalCount resources { intervalStart usage { streamedPublishedMinutes } } }
        mi: projectData(start: 1764172800000, end: 1764176400000, interval: MINUTE, groupBy: [COUNTRY]) {
          totalCount resources { intervalStart country usage { streamedSubscribedMinutes } } } } }""",
    # Shapes of ClickHouse's report statement (reads.report_sql): one SELECT per part (no dimension),
    # dimensions mapped around the rollup's rows (REACT_NATIVE becomes OTHER), a filter on a mapped dimension
    # not grouped by, a page (the hourly and minute shapes: test_backends_traffic.py).
    "report_shapes": """{ project(projectId: 12345678) {
        d: projectData(start: "2025-11-01", interval: DAILY) {
          totalCount resources { intervalStart usage { streamedPublishedMinutes
            participantMinutes { from1To2Publishers } } } }
        s: projectData(start: "2025-11-01", interval: DAILY, groupBy: [SDK_TYPE]) {
          totalCount resources { intervalStart sdkType usage { streamedPublishedMinutes } } }
        v: projectData(start: "2025-11-01", interval: DAILY, groupBy: [SDK_VERSION], browser: [OTHER, CHROME]) {
          totalCount resources { intervalStart sdkType sdkVersion usage { streamedSubscribedMinutes } } }
        pg: projectData(start: "2025-11-01", interval: DAILY, groupBy: [COUNTRY], first: 3,
            endCursor: "aW5zaWdodHMtcmVzb3VyY2U6Mg==") {
          totalCount resources { intervalStart country } } } }""",
    "quality_order": """{ project(projectId: 12345678) { sessionData {
        a: sessionSummaries(start: 1762418393000, orderBy: WORST_SCORE) { totalCount resources { sessionId } }
        b: sessionSummaries(start: 1762418393000, minScore: 0.5, maxScore: 5) { totalCount resources { sessionId } }
        c: sessionSummaries(start: 1762418393000, first: 3, endCursor: "aW5zaWdodHMtcmVzb3VyY2U6MTI=") {
          totalCount resources { sessionId } } } } }""",
    "live": """{ project(projectId: 12345678) { live(windowMinutes: 60) {
        sessions participants publishers subscribers streamsByVideoType { camera screen custom other }
        minutesPerMinute attempts failures liveSessions { sessionId participants publishers }
        perMinute { minute minutes attempts failures videoBitrateKbpsAvg latencyMsAvg participants } } } }""",
    "live_filtered": """{ project(projectId: 12345678) { live(windowMinutes: 30, country: [US]) {
        sessions participants publishers liveSessions { sessionId }
        perMinute { minute minutes participants videoBitrateKbpsAvg } } } }""",
}


@pytest.mark.parametrize("name", EXTRA)
def test_extension_reads_same_json(executors: Both, name: str) -> None:
    on_duck, on_ch = both(executors, EXTRA[name])
    assert on_ch == on_duck
    assert "errors" not in on_duck, on_duck["errors"]  # (the live reads once asked for fields Live lacks)
