"""End to end: events over HTTP (shuffled, duplicated, in several requests) ->
raw store -> derived tables and rollups, checked against hand-computed values;
then `videoinsights rebuild` gives the same numbers."""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

import httpx
import pytest

from tests.conftest import ProjectCreds, cli, create_project
from tests.support import duckdb_file
from tests.support.stores import open_store, rows
from videoinsights.domain.days import day_start_ms, la_day

MIN = 60_000


def scenario(base: int) -> list[dict]:
    """Session A: the spec's 45-participant-minute check. Session B: a stream across LA midnight."""
    a = base + 10 * 3600_000  # 10:00 local
    ev: list[dict] = []

    def add(kind: str, session: str, t: int, **fields: object) -> None:
        ev.append({"id": f"{session}-{len(ev)}", "type": kind, "sessionId": session, "timestamp": t, **fields})

    endpoint = {"sdkType": "JS", "browser": "CHROME", "country": "US", "region": "CA", "sdkVersion": "2.27.3"}
    add("connectionCreated", "A", a, connectionId="u1", **endpoint)
    add("streamCreated", "A", a + 5 * MIN, streamId="s1", connectionId="u1", videoType="camera")
    add("connectionCreated", "A", a + 10 * MIN, connectionId="u2", **endpoint)
    add("connectionCreated", "A", a + 10 * MIN, connectionId="u3", **endpoint)
    add("streamCreated", "A", a + 10 * MIN, streamId="s2", connectionId="u2", videoType="camera")
    add("connectionDestroyed", "A", a + 15 * MIN, connectionId="u1")
    add("streamDestroyed", "A", a + 15 * MIN, streamId="s1")
    add("connectionDestroyed", "A", a + 25 * MIN, connectionId="u3")
    add("streamDestroyed", "A", a + 30 * MIN, streamId="s2")
    add("connectionDestroyed", "A", a + 30 * MIN, connectionId="u2")
    # B: connect 23:40 the day before `base`, publish 23:50 -> 00:20, leave 00:30
    add("connectionCreated", "B", base - 20 * MIN, connectionId="b1", sdkType="IOS", country="FR")
    add("streamCreated", "B", base - 10 * MIN, streamId="bs", connectionId="b1")
    add("streamDestroyed", "B", base + 20 * MIN, streamId="bs")
    add("connectionDestroyed", "B", base + 30 * MIN, connectionId="b1")
    for i in range(4):  # 4 stats samples of bs, latencies 40, 90, 150, 1500 ms
        add("publisherStats", "B", base - 9 * MIN + i * 30_000, streamId="bs",
            videoLatencyMs=[40.0, 90.0, 150.0, 1500.0][i], videoBitrateKbps=[50.0, 150.0, 950.0, 3500.0][i])
    add("connectAttempt", "B", base - 21 * MIN, outcome="failure", errorCode=1006, sdkType="IOS", country="FR")
    add("connectAttempt", "B", base - 20 * MIN, outcome="success", connectionId="b1")
    return ev


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_duplicated_http_ingest_derives_hand_computed_values(tmp_path, server_factory, seed: int) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory()
    base = base_of_test()
    run_pipeline(server, creds, seed, base)
    check(lambda sql, *p: duckdb_rows(db, sql, [creds.project_id, *p]), base)
    cli(db, "rebuild")
    check(lambda sql, *p: duckdb_rows(db, sql, [creds.project_id, *p]), base)


def test_the_same_on_a_clickhouse_store(tmp_path, server_factory, clickhouse_front) -> None:
    """The same values from a server on clickhouse:// (the test front over chdb), then `rebuild` on it."""
    env = {"VIDEOINSIGHTS_STORE": clickhouse_front}
    db = tmp_path / "unused.duckdb"
    created = json.loads(cli(db, "projects", "create", "--name", "ch", "--json", "--advanced-insights", env=env))
    creds = ProjectCreds(str(created["projectId"]), created["apiSecret"], created["callbackToken"])
    base = base_of_test()
    run_pipeline(server_factory(env=env), creds, 1, base)
    store = open_store(clickhouse_front, read_only=True)
    check(lambda sql, *p: rows(store, sql, [creds.project_id, *p]), base)
    cli(db, "rebuild", env=env)
    check(lambda sql, *p: rows(store, sql, [creds.project_id, *p]), base)
    store.close()


def base_of_test() -> int:
    return day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=3))


def duckdb_rows(db, sql: str, params: list) -> list:
    con = duckdb_file.connect(db, read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def run_pipeline(server, creds, seed: int, base: int) -> None:
    events = scenario(base)
    rng = random.Random(seed)
    delivered = events + rng.sample(events, 8)  # duplicates
    rng.shuffle(delivered)
    for chunk in (delivered[:7], delivered[7:15], delivered[15:]):
        r = httpx.post(f"{server.url}/v1/events", json=chunk, headers=creds.headers())
        assert r.status_code == 200 and not r.json()["rejected"]
    server.wait_derived()
    server.stop()


def check(q, base: int) -> None:
    """q(sql, *params): rows of sql with the project id as first parameter."""
    a = base + 10 * 3600_000
    meetings = q("SELECT created_at, destroyed_at, publisher_minutes, pm_from1to2, pm_from3to6, "
                 "max_concurrent_connections, total_connections FROM meetings WHERE project_id = ? "
                 "AND session_id = 'A'")
    assert meetings == [(a, a + 30 * MIN, 30.0, 45.0, 0.0, 3, 3)]
    day0, day1 = la_day(base - 1), la_day(base)
    daily = q("SELECT day, sdk_type, country, published_minutes FROM rollup_endpoint_daily "
              "WHERE project_id = ? AND sdk_type = 'IOS' AND published_minutes > 0 ORDER BY day")
    assert daily == [(day0, "IOS", "FR", 10.0), (day1, "IOS", "FR", 20.0)]
    quality = q("SELECT pub_samples, pub_lat_ms50, pub_lat_ms100, pub_lat_ms200, pub_lat_ms1000plus, "
                "pub_br_kbps100, pub_br_kbps200, pub_br_kbps1000, pub_br_kbps3000plus, pub_lat_sum "
                "FROM rollup_endpoint_daily WHERE project_id = ? AND day = ? AND sdk_type = 'IOS'", day0)
    assert quality == [(4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1780.0)]
    attempts = q("SELECT sum(connect_attempts), sum(connect_failures) FROM rollup_endpoint_daily "
                 "WHERE project_id = ? AND country = 'FR'")
    assert attempts == [(2.0, 1.0)]
    participants = q("SELECT pm_from1to2 FROM rollup_project_daily WHERE project_id = ? AND day = ?", day1)
    # A: 45; B on day1: 00:00-00:20 one publishing participant = 20 minutes
    assert participants == [(65.0,)]
    monthly = q("SELECT sum(published_minutes) FROM rollup_endpoint_monthly WHERE project_id = ?")
    assert monthly == [(60.0,)]  # A 30 + B 30
