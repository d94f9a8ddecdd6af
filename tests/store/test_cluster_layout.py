"""The ClickHouse cluster layout (`videoinsights store init|ddl --cluster NAME`, store/clickhouse/cluster.py).

There is no Keeper here, so ReplicatedMergeTree tables and ON CLUSTER statements cannot run. What is checked:
every statement of the layout parses in ClickHouse's own parser (chdb's `formatQuery`) and says what it should
(engines, Keeper paths, sharding keys, which tables the views read); the single-node DDL has none of it; and the
same layout without Keeper (plain engines, no ON CLUSTER) on a cluster of one local shard declared to chdb
behind the test HTTP front: ingest, derivation, re-derivation and the purge through the Distributed tables give
the rows one DuckDB store derives from the same events."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.store.test_backends_agree import load, traffic
from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.support.ch_http import running_front
from tests.support.stores import chdb_dir, new_store_url, open_store, rows
from videoinsights.derive.engine import derive_pending, derive_until_clean
from videoinsights.store.base import Retention
from videoinsights.store.clickhouse.client import ChdbClient, HttpClient, quote
from videoinsights.store.clickhouse.cluster import ClusterLayout, LayoutError
from videoinsights.store.clickhouse.schema import create_statements
from videoinsights.store.clickhouse.store import ClickHouseStore
from videoinsights.web.pages.state import SECRET_KEY

LAYOUT = ClusterLayout("prod", "insights")
RETENTION = Retention(48)
# one shard, this very process (is_local: the host and tcp_port are its own), and the macros a node would have
CONFIG = """<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers><one><shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard></one></remote_servers>
  <macros><shard>01</shard><replica>r1</replica></macros>
</clickhouse>
"""


def formatted(statement: str) -> str:
    """The statement as ClickHouse's parser reads it (raises on a syntax error), on one line."""
    client = ChdbClient(chdb_dir(), "parse_only")
    text = client.query_rows(f"SELECT formatQuerySingleLine({quote(statement)})")[0][0]
    return str(text)


def by_name(statements: list[str]) -> dict[str, str]:
    out = {}
    for s in statements:
        line = formatted(s)
        name = re.match(r"CREATE (?:TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", line)
        assert name, line
        out[name.group(1)] = line
    return out


def test_every_cluster_statement_parses_and_says_where_its_rows_live() -> None:
    ddl = by_name(LAYOUT.statements(RETENTION))
    assert all(" ON CLUSTER prod " in s for s in ddl.values())
    # a session's rows: a replicated local table per shard, and the Distributed table the application uses
    assert ("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/insights/events_local', '{replica}') "
            "PARTITION BY toYYYYMM(day) ORDER BY (project_id, session_id, ts) "
            "SETTINGS replicated_deduplication_window = 10000") in ddl["events_local"]
    assert ddl["events"].endswith(
        "AS events_local ENGINE = Distributed(prod, insights, events_local, cityHash64(project_id, session_id))")
    assert ("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/insights/dirty_sessions_local', "
            "'{replica}', cleared)") in ddl["dirty_sessions_local"]
    for table in ("sessions", "meetings", "connections", "quality_scores", "session_endpoint_days",
                  "session_endpoint_minutes", "stats_samples", "session_bounds", "dirty_sessions"):
        assert f"Distributed(prod, insights, {table}_local, cityHash64(project_id, session_id))" in ddl[table]
        assert "ENGINE = Replicated" in ddl[f"{table}_local"]
    # a table without sessions (the monthly rollup's stored sums) is spread by its sort key
    assert ("Distributed(prod, insights, rollup_project_monthly_sums_local, cityHash64(tuple(project_id, month)))"
            in ddl["rollup_project_monthly_sums"])
    # metadata: one replica on every node of the cluster, read directly (no Distributed)
    assert ("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/insights/projects', '{shard}-{replica}', "
            "version, is_deleted) ORDER BY (project_id)") in ddl["projects"]
    assert "projects_local" not in ddl and "Distributed" not in ddl["alert_meetings_sent"]
    # the engine-kept session bounds: fed on each shard from its local raw rows, into its local table
    assert "TO session_bounds_local" in ddl["session_bounds_from_events"]
    assert "FROM events_local" in ddl["session_bounds_from_events"]
    # rollup views read the Distributed stored sums (all shards)
    assert "FROM rollup_endpoint_daily_sums GROUP BY" in ddl["rollup_endpoint_daily"]
    assert "_local" not in ddl["rollup_endpoint_daily"]
    # the sums are fed on each shard from its local contribution rows, into its local sums
    assert "TO rollup_endpoint_daily_sums_local" in ddl["rollup_endpoint_daily_feed"]
    assert ddl["rollup_endpoint_daily_feed"].endswith("FROM session_endpoint_days_local")
    # the names the application reads are the single-node names
    single = by_name(create_statements(RETENTION))
    assert set(single) <= set(ddl)
    assert set(ddl) - set(single) == {f"{t}_local" for t in LAYOUT.sharded_tables(RETENTION)}


def store_ddl(*args: str) -> subprocess.CompletedProcess[str]:
    """`videoinsights store ddl` (nothing listens at the URL: printing the DDL connects to nothing)."""
    env = {**os.environ, "VIDEOINSIGHTS_RAW_RETENTION_DAYS": "90", "VIDEOINSIGHTS_MINUTE_RETENTION_HOURS": "48"}
    return subprocess.run([sys.executable, "-m", "videoinsights", "store", "ddl", *args, "--store",
                           "clickhouse://u:p@127.0.0.1:1/insights"],
                          capture_output=True, text=True, timeout=120, env=env)


def test_single_node_ddl_has_no_cluster_parts() -> None:
    single = [formatted(s) for s in create_statements(RETENTION)]
    assert not any(re.search(r"ON CLUSTER|Replicated|Distributed|_local\b", s) for s in single)
    printed = store_ddl()
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == ";\n\n".join(create_statements(RETENTION)) + ";\n"
    clustered = store_ddl("--cluster", "prod")
    assert clustered.returncode == 0, clustered.stderr
    assert clustered.stdout == ";\n\n".join(LAYOUT.statements(RETENTION)) + ";\n"


@pytest.mark.parametrize(("command", "store", "message"), [
    ("init", "chdb:///tmp/x", "--cluster needs a ClickHouse server store"),
    ("init", "duckdb:///tmp/x.duckdb", "--cluster needs a ClickHouse server store"),
    ("init", "clickhouse://u@127.0.0.1:1/db", "bad cluster name"),
    ("ddl", "chdb:///tmp/x", "--cluster needs a ClickHouse server store"),  # no DDL `init` would refuse
    ("ddl", "clickhouse://u@127.0.0.1:1/db", "bad cluster name"),
])
def test_cluster_refused_where_it_cannot_work(command: str, store: str, message: str) -> None:
    cluster = "no-dashes" if store.startswith("clickhouse") else "prod"
    result = subprocess.run([sys.executable, "-m", "videoinsights", "store", command, "--cluster", cluster,
                             "--store", store], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and message in result.stderr.splitlines()[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_distributed_tables_over_one_local_shard_derive_as_duckdb(tmp_path: Path) -> None:
    (tmp_path / "cluster.xml").write_text(CONFIG)
    batches = traffic()
    half = len(batches) // 2
    with running_front(tmp_path / "chdb", tmp_path / "front.log", tmp_path / "cluster.xml") as (host, port):
        layout = ClusterLayout("one", "vi", replicated=False)
        house = ClickHouseStore(HttpClient(host, port, "default", "", "vi"), cluster=layout)
        engines = dict(rows(house, "SELECT name, engine FROM system.tables WHERE database = 'vi'"))
        assert engines["events"] == "Distributed" and engines["events_local"] == "MergeTree"
        assert engines["projects"] == "ReplacingMergeTree" and "projects_local" not in engines
        before = house.data_version
        load(house, batches[:half])
        loaded = {event["sessionId"] for batch in batches[:half] for event in batch}
        # part of the traffic derived (up to 5 of its sessions; how many the first half holds depends on the
        # day the simulated traffic falls on), the rest re-derives these sessions
        assert len(loaded) >= 2 and derive_pending(house, 5)[0] == min(5, len(loaded))
        url = f"clickhouse://default@{host}:{port}/vi"
        other = open_store(url)  # another process's view: the layout is read from the database
        assert other.cluster == layout
        load(other, batches[half:])
        assert derive_until_clean(other, batch=7) > 0
        assert other.data_version != before
        got = snapshot(other)
        in_local = rows(other, "SELECT count() FROM events_local")

        duck = open_store(new_store_url("duckdb", tmp_path))
        load(duck, batches)
        derive_until_clean(duck)
        expected = snapshot(duck)
        assert len(expected["sessions"]) >= 10
        assert_same_rows(expected, got)
        assert in_local == rows(duck, "SELECT count(*) FROM events") == rows(other, "SELECT count() FROM events")

        # a layout is laid on a new database only: not over another cluster's, nor over single-node tables
        with pytest.raises(LayoutError, match=re.escape("has the cluster layout of one (without Keeper), not of two")):
            ClickHouseStore(HttpClient(host, port, "default", "", "vi"), cluster=ClusterLayout("two", "vi", False))
        ClickHouseStore(HttpClient(host, port, "default", "", "single")).close()
        with pytest.raises(LayoutError, match="database single was created single-node"):
            ClickHouseStore(HttpClient(host, port, "default", "", "single"), cluster=ClusterLayout("one", "single"))
        single = open_store(f"clickhouse://default@{host}:{port}/single")
        assert single.cluster is None
        single.close()

        # the purge's deletes reach the local tables (a Distributed table refuses DELETE)
        tomorrow = date.today() + timedelta(days=1)
        counts = other.purge(tomorrow, date(2000, 1, 1), date(2000, 1, 1))
        assert counts["events"] == in_local[0][0] > 0
        assert rows(other, "SELECT count() FROM events_local") == [(0,)]
        assert counts["sessions"] == len(expected["sessions"]) and rows(other, "SELECT count() FROM sessions") == [(0,)]
        # the day rows are kept (their window is longer)
        assert rows(other, "SELECT count() FROM rollup_endpoint_daily") == [(len(expected["rollup_endpoint_daily"]),)]
        duck.close()
        other.close()
        house.close()


def test_store_init_creates_the_tables_and_the_cookie_secret(tmp_path: Path) -> None:
    """Written once, before any server: servers creating it at their first logins could sign with two."""
    db = tmp_path / "vi.duckdb"
    result = subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(db), "store", "init"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"store duckdb://{db} is ready\n"
    store = open_store(f"duckdb://{db}", read_only=True)
    try:
        secret = store.sql.accounts.meta_value(store.reader(), SECRET_KEY)
        assert secret is not None and len(secret) >= 48
        assert rows(store, "SELECT count(*) FROM events") == [(0,)]
    finally:
        store.close()
