"""Live benchmark (issue 13): what the hour and minute rollups cost, and how fast they answer.

  derive   simulated traffic (the simulator, `--sessions` sessions over one day) loaded into a fresh
           DuckDB file, then derive_until_clean timed: run it once on this tree and once with
           PYTHONPATH pointing at a checkout without the fine rollups to compare.
  minute   projectData(interval: MINUTE) for today through the real executor, in-process, on minute
           rollups filled at the table level for 48 hours at 10,000 sessions a day (about 200 live
           sessions x 2.6 endpoints, ~`--combos` dimension combinations a minute); also live(windowMinutes: 60).
           goal <= 20 ms

    .venv/bin/python -m benchmarks.bench_live minute
    .venv/bin/python -m benchmarks.bench_live derive --sessions 2000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from videoinsights.auth.tokens import AuthContext
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import DAY_MS, day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.settings import Settings
from videoinsights.simulate.generator import generate
from videoinsights.store.base import Project
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"


def bench_derive(sessions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "derive.duckdb"))
        now = int(time.time() * 1000)
        start = day_start_ms(la_day(now)) - DAY_MS
        t0 = time.perf_counter()
        loaded = load_events(store, PROJECT, generate(PROJECT, start, 1, sessions, 5))
        t1 = time.perf_counter()
        derived = derive_until_clean(store)
        t2 = time.perf_counter()
        tables = [t for t in ("session_endpoint_minutes", "rollup_endpoint_minutely", "rollup_endpoint_hourly")
                  if store._con.execute(f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{t}'"
                                        ).fetchone()[0]]
        counts = {t: store._con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        store.close()
    print(f"events {loaded.accepted:,} loaded in {t1 - t0:.1f} s; {derived:,} sessions derived in {t2 - t1:.2f} s "
          f"({(t2 - t1) / max(derived, 1) * 1000:.2f} ms/session); fine rows: {counts or 'none (no fine rollups)'}")


def _fill_minutes(store: DuckDBStore, now: int, combos: int) -> int:
    con = store._con
    con.execute("CREATE OR REPLACE TEMP MACRO h(a, b, i) AS (hash(a, b, i) % 1000003)::BIGINT")
    first = now - now % 60_000 - 48 * 3_600_000
    con.execute(f"""
        INSERT INTO rollup_endpoint_minutely (project_id, bucket, sdk_type, sdk_version, country, region, browser,
          browser_version, published_minutes, subscribed_minutes, connect_attempts, connect_failures,
          publish_attempts, publish_failures, subscribe_attempts, subscribe_failures)
        SELECT '{PROJECT}', m, ['JS', 'IOS', 'ANDROID', 'WINDOWS', 'OTHER'][1 + h(m, c, 1) % 5],
          '2.' || (20 + h(m, c, 2) % 8) || '.0',
          ['US', 'GB', 'DE', 'FR', 'IN', 'BR', 'JP', 'CA'][1 + h(m, c, 3) % 8],
          'R' || h(m, c, 4) % 5, ['CHROME', 'FIREFOX', 'SAFARI', 'EDGE'][1 + h(m, c, 5) % 4],
          (100 + h(m, c, 6) % 30) || '.0', 1 + h(m, c, 7) % 3, 2 + h(m, c, 8) % 5, h(m, c, 9) % 3,
          (h(m, c, 10) % 20 = 0)::INT, h(m, c, 11) % 2, 0, h(m, c, 12) % 3, 0
        FROM range({first}, {now + 1}, 60000) r(m), range({combos}) k(c)""")
    return int(con.execute("SELECT count(*) FROM rollup_endpoint_minutely").fetchone()[0])


def _time(executor, auth, query: str, runs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = executor.run(auth, query, {})
        times.append((time.perf_counter() - t0) * 1000)
        if "errors" in result:
            raise RuntimeError(result["errors"])
    return statistics.median(times), sorted(times)[int(len(times) * 0.9)]


def bench_minute(combos: int, runs: int) -> None:
    from videoinsights.query.executor import Executor

    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "minute.duckdb"))
        store.insert_project(Project(PROJECT, "project", "bench", "secret", None, "cb", True, 0))
        now = int(time.time() * 1000)
        rows = _fill_minutes(store, now, combos)
        store._con.execute("CHECKPOINT")
        executor = Executor(Settings(), store.reader, store.get_project)
        auth = AuthContext(PROJECT, "project")
        usage = "usage { streamedPublishedMinutes streamedSubscribedMinutes }"
        errors = "errors { connect { attempts failures } publish { failureRate } }"
        today = la_day(now).isoformat()
        hour_ago = now - 3_600_000
        cases = {
            "MINUTE last 60 min, totals": f"projectData(start: {hour_ago}, interval: MINUTE, first: 1000) "
                                          f"{{ resources {{ intervalStart {usage} {errors} }} }}",
            "MINUTE last 60 min, by SDK": f"projectData(start: {hour_ago}, interval: MINUTE, groupBy: SDK_TYPE, "
                                          f"first: 1000) {{ resources {{ intervalStart sdkType {usage} }} }}",
            "MINUTE today, totals": f"projectData(start: \"{today}\", interval: MINUTE, first: 1000) "
                                    f"{{ resources {{ intervalStart {usage} {errors} }} }}",
            "HOURLY today, by COUNTRY": f"projectData(start: \"{today}\", interval: HOURLY, groupBy: COUNTRY, "
                                        f"first: 1000) {{ resources {{ intervalStart country {usage} {errors} }} }}",
            "live(windowMinutes: 60)": "live(windowMinutes: 60) { sessions participants minutesPerMinute failureRate "
                                       "perMinute { minute minutes participants failures videoBitrateKbpsAvg } }",
        }
        print(f"rollup_endpoint_minutely: {rows:,} rows (48 h x {combos} combinations a minute)")
        for name, field in cases.items():
            query = f"{{ project(projectId: \"{PROJECT}\") {{ {field} }} }}"
            _time(executor, auth, query, 3)  # warm-up
            median, p90 = _time(executor, auth, query, runs)
            print(f"  {name:<28} median {median:6.2f} ms   p90 {p90:6.2f} ms")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("derive")
    d.add_argument("--sessions", type=int, default=2000)
    m = sub.add_parser("minute")
    m.add_argument("--combos", type=int, default=200)
    m.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if args.what == "derive":
        bench_derive(args.sessions)
    else:
        bench_minute(args.combos, args.runs)


if __name__ == "__main__":
    main()
