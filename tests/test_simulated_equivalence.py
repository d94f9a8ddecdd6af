"""Issue 5's end-to-end guarantee: a seeded simulated run posted over HTTP twice
(with late and duplicated deliveries) derives exactly what loading it straight
into the store once derives."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from pathlib import Path

from tests.conftest import cli, create_project
from tests.support import duckdb_file
from videoinsights.derive.engine import derive_until_clean
from videoinsights.derive.model import ENDPOINT_MEASURES, PROJECT_MEASURES
from videoinsights.domain.days import la_day
from videoinsights.ingest.load import load_events
from videoinsights.simulate.output import read_ndjson
from videoinsights.store.duckdb.store import DuckDBStore

SIM = ["--days", "2", "--sessions-per-day", "6", "--seed", "5"]


def derived_totals(db: Path) -> dict[str, list[tuple]]:
    """Everything derived, without project ids, floats rounded (summation order may differ)."""
    con = duckdb_file.connect(db, read_only=True)
    endpoint = ", ".join(f"round(sum({m}), 6)" for m in ENDPOINT_MEASURES)
    project = ", ".join(f"round(sum({m}), 6)" for m in PROJECT_MEASURES)
    queries = {
        "endpoint_daily": f"SELECT day, sdk_type, sdk_version, country, region, browser, browser_version, {endpoint} "
                          "FROM rollup_endpoint_daily GROUP BY ALL ORDER BY ALL",
        "project_daily": f"SELECT day, {project} FROM rollup_project_daily GROUP BY ALL ORDER BY ALL",
        "monthly": f"SELECT month, {endpoint} FROM rollup_endpoint_monthly GROUP BY ALL ORDER BY ALL",
        "meetings": "SELECT session_id, meeting_index, meeting_id, created_at, destroyed_at, "
                    "round(publisher_minutes, 6), round(subscriber_minutes, 6), max_concurrent_connections, "
                    "total_subscribers FROM meetings ORDER BY ALL",
        "publishers": "SELECT session_id, stream_id, created_at, ended_at FROM publishers ORDER BY ALL",
        "subscribers": "SELECT session_id, subscriber_id, created_at, ended_at FROM subscribers ORDER BY ALL",
    }
    try:
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        con.close()


def same_rows(a: list[tuple], b: list[tuple]) -> bool:
    """Equal rows; floats to 1e-12 relative (sums near 1e10, e.g. of time-weighted scores, differ in their
    17th digit with the order of addition, which rounding to 6 decimals does not hide)."""
    def same(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-6)
        return x == y

    return len(a) == len(b) and all(
        len(r) == len(q) and all(same(x, y) for x, y in zip(r, q, strict=True)) for r, q in zip(a, b, strict=True)
    )


def test_http_twice_with_late_and_duplicates_equals_direct_load(tmp_path, server_factory) -> None:
    start = (la_day(int(time.time() * 1000)) - timedelta(days=4)).isoformat()
    direct_db, served_db = tmp_path / "direct.duckdb", tmp_path / "served.duckdb"
    creds = create_project(served_db, project_id="12345678")
    ndjson = tmp_path / "run.ndjson"
    cli(direct_db, "simulate", "--project", creds.project_id, *SIM, "--start", start, "--out", str(ndjson))

    store = DuckDBStore(str(direct_db))
    with ndjson.open("rb") as fh:
        loaded = load_events(store, creds.project_id, read_ndjson(fh))
    assert loaded.accepted > 10_000 and loaded.rejected == 0
    derive_until_clean(store)
    store.close()

    server = server_factory(db=served_db)
    for seed_round in ("0.05", "0.10"):
        cli(served_db, "simulate", "--project", creds.project_id, *SIM, "--start", start, "--url", server.url,
            "--late-fraction", seed_round, "--duplicate-fraction", seed_round, "--concurrency", "3")
    server.wait_derived(timeout=60)
    server.stop()

    direct, served = derived_totals(direct_db), derived_totals(served_db)
    for table in direct:
        assert same_rows(served[table], direct[table]), table
    assert len(direct["meetings"]) > 10 and len(direct["endpoint_daily"]) > 10
