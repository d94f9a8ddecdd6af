"""Exports against a real server filled by the simulator: the files agree with the GraphQL API."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import ProjectCreds, Server, cli, create_project, free_port
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.domain.quality import SCORE_FIELDS

TODAY = la_day(int(time.time() * 1000))
START = (TODAY - timedelta(days=2)).isoformat()  # the simulated days: the two before today
END = TODAY.isoformat()  # LA midnight starting today: excluded


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ProjectCreds, Path]]:
    tmp = tmp_path_factory.mktemp("export")
    db = tmp / "vi.duckdb"
    creds = create_project(db, "exported")
    server = Server(db, free_port())
    server.start()
    # the window pinned to START: the simulator's own "today" would be a day later if LA midnight passed since
    # this module was imported (CI once ran across it)
    cli(db, "simulate", "--project", creds.project_id, "--days", "2", "--sessions-per-day", "12", "--seed", "3",
        "--start", START, "--url", server.url)
    server.wait_derived(60)
    yield server, creds, tmp
    server.stop()


def export(server: Server, creds: ProjectCreds, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}/v1/projects/{creds.project_id}/export", params=params, headers=creds.headers(),
                     timeout=60)


def parquet(response: httpx.Response) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    return pq.read_table(io.BytesIO(response.content))


def graphql(server: Server, creds: ProjectCreds, body: str) -> dict[str, Any]:
    query = f"{{ project(projectId: {creds.project_id}) {{ {body} }} }}"
    response = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=creds.headers(), timeout=60)
    data = response.json()
    assert "errors" not in data, data
    return data["data"]["project"]


def column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def test_project_data_daily_rows_match_the_api(world: tuple[Server, ProjectCreds, Path]) -> None:
    server, creds, _ = world
    table = parquet(export(server, creds, kind="projectData", format="parquet", start=START, end=END,
                           interval="DAILY"))
    api = graphql(server, creds, f'projectData(start: "{START}", end: "{END}", interval: DAILY, first: 1000) '
                  "{ totalCount resources { intervalStart intervalEnd usage { streamedPublishedMinutes "
                  "streamedSubscribedMinutes participantMinutes { from1To2Publishers } } "
                  "errors { connect { attempts failures } } quality { scoreDistribution { "
                  f"{' '.join(SCORE_FIELDS)} }} }} }} }}")["projectData"]
    rows = api["resources"]
    assert api["totalCount"] == table.num_rows == 2  # one row per simulated day
    assert column(table, "intervalStart") == [r["intervalStart"] for r in rows]
    assert column(table, "intervalEnd") == [r["intervalEnd"] for r in rows]
    for name, pick in (
        ("usage.streamedPublishedMinutes", lambda r: r["usage"]["streamedPublishedMinutes"]),
        ("usage.streamedSubscribedMinutes", lambda r: r["usage"]["streamedSubscribedMinutes"]),
        ("usage.participantMinutes.from1To2Publishers",
         lambda r: r["usage"]["participantMinutes"]["from1To2Publishers"]),
        ("errors.connect.attempts", lambda r: r["errors"]["connect"]["attempts"]),
        ("errors.connect.failures", lambda r: r["errors"]["connect"]["failures"]),
    ):
        assert column(table, name) == pytest.approx([pick(r) for r in rows]), name
    assert sum(column(table, "usage.streamedPublishedMinutes")) > 0  # the scenario has traffic
    # sessions per score bucket (extension): the same counts as the API's, and some sessions were scored
    for field in SCORE_FIELDS:
        assert column(table, f"quality.scoreDistribution.{field}") == [
            r["quality"]["scoreDistribution"][field] for r in rows], field
    assert sum(sum(r["quality"]["scoreDistribution"].values()) for r in rows) > 0
    assert table.schema.field("errors.connect.attempts").type == pa.int64()


def test_project_data_groups_and_filters_match_the_api(world: tuple[Server, ProjectCreds, Path]) -> None:
    server, creds, _ = world
    table = parquet(export(server, creds, kind="projectData", format="parquet", start=START, end=END,
                           groupBy="COUNTRY", sdkType="JS"))
    api = graphql(server, creds, f'projectData(start: "{START}", end: "{END}", groupBy: [COUNTRY], sdkType: [JS], '
                  "first: 1000) { resources { country usage { streamedPublishedMinutes hlsMinutes } } }")
    rows = api["projectData"]["resources"]
    assert len(rows) > 1
    assert column(table, "country") == [r["country"] for r in rows]
    assert column(table, "usage.streamedPublishedMinutes") == pytest.approx(
        [r["usage"]["streamedPublishedMinutes"] for r in rows])
    # session-level minutes do not apply to a filtered report: null in the API, null in the file
    assert column(table, "usage.hlsMinutes") == [None] * len(rows) == [r["usage"]["hlsMinutes"] for r in rows]


def test_session_data_totals_match_the_api(world: tuple[Server, ProjectCreds, Path]) -> None:
    server, creds, _ = world
    start_ms, end_ms = day_start_ms(TODAY - timedelta(days=2)), day_start_ms(TODAY)
    sessions = parquet(export(server, creds, kind="sessions", format="parquet", start=START, end=str(end_ms)))
    summaries = graphql(server, creds, f"sessionData {{ sessionSummaries(start: {start_ms}, end: {end_ms}, "
                        "first: 1000) { totalCount resources { sessionId publisherMinutes } } }")
    api_sessions = summaries["sessionData"]["sessionSummaries"]
    assert sessions.num_rows == api_sessions["totalCount"] > 10
    assert column(sessions, "sessionId") == [r["sessionId"] for r in api_sessions["resources"]]
    assert sum(column(sessions, "publisherMinutes")) == pytest.approx(
        sum(r["publisherMinutes"] for r in api_sessions["resources"]))

    ids = ", ".join(f'"{s}"' for s in column(sessions, "sessionId"))
    tree = graphql(server, creds, f"sessionData {{ sessions(sessionIds: [{ids}], first: 1000) {{ resources {{ "
                   f"sessionId meetings(start: {start_ms}, end: {end_ms}) {{ resources {{ meetingId "
                   "publisherMinutes createdAt connections { totalCount } publishers { totalCount } "
                   "subscribers { totalCount } } } } } }")["sessionData"]["sessions"]["resources"]
    meetings = [m for s in tree for m in s["meetings"]["resources"]]
    table = parquet(export(server, creds, kind="meetings", format="parquet", start=START, end=END))
    assert sorted(column(table, "meetingId")) == sorted(m["meetingId"] for m in meetings)
    assert sorted(column(table, "createdAt")) == sorted(m["createdAt"] for m in meetings)
    assert sum(column(table, "publisherMinutes")) == pytest.approx(sum(m["publisherMinutes"] for m in meetings))
    earliest = parquet(export(server, creds, kind="meetings", format="parquet", start="0"))  # 0: all kept data
    assert earliest.equals(table)  # nothing was simulated before START or from today on
    for kind in ("connections", "publishers", "subscribers"):
        table = parquet(export(server, creds, kind=kind, format="parquet", start=START, end=END))
        assert table.num_rows == sum(m[kind]["totalCount"] for m in meetings) > 0, kind
        assert set(column(table, "meetingId")) <= {m["meetingId"] for m in meetings}

    stats = parquet(export(server, creds, kind="stats", format="parquet", start=START, end=END))
    assert stats.num_rows > 0
    subscriber_rows = [r for r in stats.to_pylist() if r["subscriberId"] is not None]
    publisher_rows = [r for r in stats.to_pylist() if r["subscriberId"] is None]
    assert subscriber_rows and publisher_rows
    assert all(r["streamId"] and r["sessionId"] for r in publisher_rows)


def test_csv_holds_the_same_rows_as_parquet(world: tuple[Server, ProjectCreds, Path]) -> None:
    server, creds, _ = world
    table = parquet(export(server, creds, kind="connections", format="parquet", start=START, end=END))
    response = export(server, creds, kind="connections", format="csv", start=START, end=END)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{creds.project_id}-connections.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == table.column_names
    assert [r["connectionId"] for r in rows] == column(table, "connectionId")
    assert [r["createdAt"] for r in rows] == column(table, "createdAt")
    assert [r["region"] or None for r in rows] == column(table, "region")  # null: an empty cell


def test_cli_export_through_the_server_and_on_the_file(world: tuple[Server, ProjectCreds, Path]) -> None:
    server, creds, tmp = world
    expected = parquet(export(server, creds, kind="projectData", format="parquet", start=START, end=END,
                              interval="DAILY"))
    through_server = tmp / "through-server.parquet"
    cli(server.db, "export", "--project", creds.project_id, "--kind", "projectData", "--start", START, "--end", END,
        "--interval", "DAILY", "--out", str(through_server))
    assert pq.read_table(through_server).equals(expected)
    server.stop()
    try:
        offline = tmp / "offline.parquet"
        cli(server.db, "export", "--project", creds.project_id, "--kind", "projectData", "--start", START,
            "--end", END, "--interval", "DAILY", "--out", str(offline))
        assert pq.read_table(offline).equals(expected)
        meetings_csv = tmp / "meetings.csv"
        cli(server.db, "export", "--project", creds.project_id, "--kind", "meetings", "--start", START,
            "--out", str(meetings_csv))
        assert meetings_csv.read_text().startswith("sessionId,meetingId,createdAt,destroyedAt,publisherMinutes,")
    finally:
        server.start()


def test_bad_requests_are_refused_before_any_byte(world: tuple[Server, ProjectCreds, Path]) -> None:
    server, creds, _ = world
    url = f"{server.url}/v1/projects/{creds.project_id}/export"
    assert httpx.get(url, params={"kind": "meetings", "start": START}).status_code == 401
    cases = [
        ({"kind": "everything", "start": START}, 400, "`kind` must be one of"),
        ({"kind": "meetings"}, 400, "`start` is required"),
        ({"kind": "meetings", "start": "yesterday"}, 400, "`start`"),
        ({"kind": "meetings", "start": END, "end": START}, 400, "`end` is before `start`"),
        ({"kind": "meetings", "start": START, "format": "xlsx"}, 400, "csv or parquet"),
        ({"kind": "projectData", "start": START, "groupBy": "PLANET"}, 400, "PLANET"),
        ({"kind": "projectData", "start": START, "sdkVersion": "latest"}, 400, "0.0.0"),
        ({"kind": "meetings", "start": START, "groupBy": "COUNTRY"}, 400, "projectData only"),
    ]
    for params, status, message in cases:
        response = httpx.get(url, params=params, headers=creds.headers())
        assert (response.status_code, response.json()["error"]["status"]) == (status, status), params
        assert message in response.json()["error"]["message"], (params, response.text)
    other = create_project(server.db, "other", advanced=False)
    response = httpx.get(url, params={"kind": "meetings", "start": START}, headers=other.headers())
    assert (response.status_code, response.json()["error"]["errorCode"]) == (403, 1021)
    standard = f"{server.url}/v1/projects/{other.project_id}/export"
    response = httpx.get(standard, params={"kind": "meetings", "start": START}, headers=other.headers())
    assert (response.status_code, response.json()["error"]["errorCode"]) == (403, 1014)
    response = httpx.get(standard, params={"kind": "projectData", "start": START}, headers=other.headers())
    assert response.status_code == 200
    assert response.text.splitlines()[0].startswith("intervalStart,intervalEnd,sdkType,")
    assert len(response.text.splitlines()) == 1  # no traffic: the header alone
