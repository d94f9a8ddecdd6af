"""What one statement costs on each store backend: the same small statements, and the three report
statements of bench_backend_reads (through each backend's `reads.project_report`, no GraphQL), run on
DuckDB and on ClickHouse's engine in-process (chdb), interleaved, with their CPU time (time.process_time:
the process's, engine threads included). For chdb also `EXPLAIN` of the statement alone: the analysis and
planning a run pays before reading anything.

This is the floor under every API read on chdb: a report is one statement there, so it cannot cost less
than chdb's statement of the same shape, whatever the SQL.

    .venv/bin/python -m benchmarks.bench_statement_floor --data-dir DIR [--events 50000] [--repeat 30]

DIR is bench_backend_reads' `--data-dir` (its duckdb:1 and chdb:1 runs are loaded there if missing).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_backend_reads import DAY_MS, PROJECT, _open_run
from benchmarks.bench_load import loadavg
from videoinsights.query.report import ReportQuery

ENDPOINT8 = ("published_minutes", "subscribed_minutes", "sub_br_sum", "sub_br_count", "sub_lat_sum",
             "sub_lat_count", "subscribe_attempts", "subscribe_failures")
PROJECT_COLUMNS = ("individual_archive_minutes", "hls_minutes", "pm_from1to2", "pm_from3to6")
_NAMES = "project_id, kind, name, api_secret, public_key, callback_token, advanced_insights, created_at"
_SUMS8 = ", ".join(f"sum({c})" for c in ENDPOINT8)


def statements(yesterday: date) -> dict[str, tuple[tuple[str, list[Any]], tuple[str, dict[str, Any] | None]]]:
    """name -> ((DuckDB SQL, parameters), (ClickHouse SQL, parameters)): the same read on each schema (the
    rollups: DuckDB's stored rows, ClickHouse's sums with their live groups)."""
    return {
        "SELECT 1": (("SELECT 1", []), ("SELECT 1", None)),
        "one row of a tiny table (meta, by key)": (
            ("SELECT value FROM meta WHERE key = ?", ["schema_version"]),
            ("SELECT value FROM meta WHERE key = {k:String}", {"k": "schema_version"})),
        "the project's row (chdb: FINAL)": (
            (f"SELECT {_NAMES} FROM projects WHERE project_id = ?", [PROJECT]),
            (f"SELECT {_NAMES} FROM projects FINAL WHERE project_id = {{p:String}}", {"p": PROJECT})),
        "GROUP BY day over the daily rollup (1 sum)": (
            ("SELECT day, sum(subscribed_minutes) FROM rollup_endpoint_daily WHERE project_id = ? GROUP BY day",
             [PROJECT]),
            ("SELECT day, sum(subscribed_minutes) FROM rollup_endpoint_daily_sums WHERE project_id = {p:String} "
             "GROUP BY day HAVING sum(contributions) > 0", {"p": PROJECT})),
        "GROUP BY day, SDK, country over it (8 sums)": (
            (f"SELECT day, sdk_type, country, {_SUMS8} FROM rollup_endpoint_daily WHERE project_id = ? "
             "AND day >= ? GROUP BY day, sdk_type, country", [PROJECT, yesterday]),
            (f"SELECT day, sdk_type, country, {_SUMS8} FROM rollup_endpoint_daily_sums WHERE project_id = "
             "{p:String} AND day >= {d:Date} GROUP BY day, sdk_type, country HAVING sum(contributions) > 0",
             {"p": PROJECT, "d": yesterday})),
    }


def reports(now: int) -> dict[str, ReportQuery]:
    """bench_backend_reads' three reports as the API asks them (its GraphQL queries' ReportQuery)."""
    today = datetime.fromtimestamp(now / 1000, UTC).date()

    def report(**kw: Any) -> ReportQuery:
        base: dict[str, Any] = dict(
            project_id=PROJECT, first_day=today - timedelta(days=1), last_day=today, interval="DAILY", filters=(),
            group_by=(), endpoint_columns=ENDPOINT8, project_columns=(), include_project=False,
            monthly_before=today.replace(day=1), offset=0, limit=50, start_ms=now - DAY_MS, end_ms=now + 1)
        return ReportQuery(**{**base, **kw})

    return {
        "report: daily x country, SDK": report(group_by=("sdk_type", "country")),
        "report: one bucket, all usage": report(interval=None, endpoint_columns=ENDPOINT8[:2],
                                                project_columns=PROJECT_COLUMNS, include_project=True),
        "report: minutes of the last hour": report(interval="MINUTE", endpoint_columns=("subscribed_minutes",),
                                                   start_ms=now - 3_600_000),
    }


def _cpu_ms(run: Callable[[], Any]) -> float:
    t0 = time.process_time()
    run()
    return (time.process_time() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    data = Path(args.data_dir).resolve()
    duck, now = _open_run(data, "duckdb", 1, args.events, args.rate)
    ch, _ = _open_run(data, "chdb", 1, args.events, args.rate)
    dcur, client = duck.reader(), ch.client
    yesterday = datetime.fromtimestamp(now / 1000, UTC).date() - timedelta(days=1)
    runs: dict[str, tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any] | None]] = {}
    for name, ((dsql, dparams), (csql, cparams)) in statements(yesterday).items():
        runs[name] = (lambda s=dsql, p=dparams: dcur.execute(s, p).fetchall(),
                      lambda s=csql, p=cparams: client.query_arrow(s, p).to_pylist(),
                      lambda s=csql, p=cparams: client.query_arrow("EXPLAIN " + s, p))
    for name, q in reports(now).items():
        runs[name] = (lambda q=q: duck.sql.reads.project_report(dcur, q),
                      lambda q=q: ch.sql.reads.project_report(client, q), None)
    for run in (r for trio in runs.values() for r in trio if r is not None):
        run()  # warm-up
    times: dict[tuple[str, int], list[float]] = {(n, i): [] for n in runs for i in range(3)}
    for _ in range(args.repeat):
        for name, trio in runs.items():
            for i, run in enumerate(trio):
                if run is not None:
                    times[(name, i)].append(_cpu_ms(run))
    print(f"{args.repeat} runs each, interleaved; load average {loadavg()}; median CPU ms (process_time)")
    print("| statement | DuckDB | chdb | chdb EXPLAIN alone | chdb / DuckDB |")
    print("| --- | --- | --- | --- | --- |")
    for name, trio in runs.items():
        duck_ms, ch_ms = statistics.median(times[(name, 0)]), statistics.median(times[(name, 1)])
        explain = f"{statistics.median(times[(name, 2)]):.2f}" if trio[2] is not None else ""
        print(f"| {name} | {duck_ms:.2f} | {ch_ms:.2f} | {explain} | {ch_ms / duck_ms:.1f}x |")
    duck.close()
    ch.close()


if __name__ == "__main__":
    main()
