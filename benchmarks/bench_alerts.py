"""Cost of alert evaluation (issue 12): one pass over 1,000 rules on a store with a day of traffic, as
the server runs it every `alert_eval_interval_ms`, in CPU time (all DuckDB threads counted).

    .venv/bin/python -m benchmarks.bench_alerts [--rules 1000] [--attempts 500000] [--sessions 20000]

Goal: at the default interval (5 s) a pass costs under 10% of one core, i.e. < 500 ms of CPU.
The rules are spread over 20 projects and every metric (attempt rates with and without filters,
minutes, score p10, issue share), windows of 5 minutes to 1 hour.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from videoinsights.alerts.evaluate import evaluate
from videoinsights.alerts.rules import METRICS, Rule, create_alert
from videoinsights.ops import create_project
from videoinsights.store.duckdb import alerts as alert_sql
from videoinsights.store.duckdb.store import DuckDBStore

PROJECTS = 20
DAY_MS = 86_400_000


def fill(store: DuckDBStore, projects: list[str], attempts: int, sessions: int, now: int) -> None:
    """A day of attempts, sessions with scores and issues, connections and streams, spread over the projects."""
    cur = store.reader()
    cur.execute("CREATE TEMP TABLE p AS SELECT unnest(?::VARCHAR[]) AS project_id, "
                "generate_subscripts(?::VARCHAR[], 1) - 1 AS k", [projects, projects])
    cur.execute(f"""
        INSERT INTO raw.events (project_id, event_id, type, session_id, ts, day, received_at, seq, outcome, country,
                            sdk_type, browser)
        SELECT p.project_id, 'e' || i, ['connectAttempt', 'publishAttempt', 'subscribeAttempt'][i % 3 + 1],
               's' || (i % {sessions}), {now} - (i * 7919) % {DAY_MS}, current_date, {now}, i,
               CASE WHEN i % 11 = 0 THEN 'failure' ELSE 'success' END, ['US', 'FR', 'DE', 'IN'][i % 4 + 1],
               ['JS', 'IOS', 'ANDROID'][i % 3 + 1], ['CHROME', 'SAFARI', 'FIREFOX'][i % 3 + 1]
        FROM range({attempts}) t(i) JOIN p ON p.k = i % {len(projects)}""")
    cur.execute(f"""
        INSERT INTO sessions (project_id, session_id, media_mode, created_at, last_seen_at, meeting_count,
                              publisher_minutes, subscriber_minutes)
        SELECT p.project_id, 's' || i, 'routed', {now} - (i * 7919) % {DAY_MS} - 600000,
               {now} - (i * 7919) % {DAY_MS}, 1, 10, 20
        FROM range({sessions}) t(i) JOIN p ON p.k = i % {len(projects)}""")
    cur.execute("""INSERT INTO quality_scores SELECT project_id, session_id, 'session', session_id, NULL, NULL, 20,
                   600000, 1 + (hash(session_id) % 400) / 100.0, 1 + (hash(session_id) % 300) / 100.0 FROM sessions""")
    cur.execute("""INSERT INTO quality_issues SELECT project_id, session_id, 0, 'high_packet_loss', 'stream', 'st',
                   'c', last_seen_at - 60000, last_seen_at, 'packetLoss', 0.05, 0.03, 2 FROM sessions
                   WHERE hash(session_id) % 7 = 0""")
    for n in range(3):
        cur.execute(f"""INSERT INTO connections (project_id, session_id, meeting_index, connection_id, created_at,
                        ended_at, country, sdk_type, browser)
                        SELECT project_id, session_id, 0, 'c{n}', created_at, last_seen_at,
                               ['US', 'FR', 'DE', 'IN'][((hash(session_id) + {n}) % 4 + 1)::BIGINT], 'JS', 'CHROME'
                        FROM sessions""")
        cur.execute(f"""INSERT INTO publishers (project_id, session_id, meeting_index, stream_id, connection_id,
                        created_at, ended_at, minutes) SELECT project_id, session_id, 0, 'st{n}', 'c{n}', created_at,
                        last_seen_at, 10 FROM sessions""")
        cur.execute(f"""INSERT INTO subscribers (project_id, session_id, meeting_index, subscriber_id, stream_id,
                        connection_id, created_at, ended_at, minutes) SELECT project_id, session_id, 0, 'sub{n}',
                        'st{n}', 'c{(n + 1) % 3}', created_at, last_seen_at, 10 FROM sessions""")


def make_rules(store: DuckDBStore, projects: list[str], count: int) -> None:
    windows = ("5m", "15m", "1h")
    for i in range(count):
        metric = METRICS[i % len(METRICS)]
        threshold = {"minutes": 100.0, "score_p10": 2.0}.get(metric, 0.1)
        create_alert(store, projects[i % len(projects)], metric, threshold, "https://hooks.example.com/x",
                     window=windows[i % 3], countries=["US"] if i % 4 == 0 else None,
                     sdks=["JS"] if i % 5 == 0 else None,
                     issue_type="high_packet_loss" if metric == "issue_share" else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=500_000)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "bench.duckdb"))
        now = int(time.time() * 1000)
        projects = [str(create_project(store, f"p{i}")["projectId"]) for i in range(PROJECTS)]
        fill(store, projects, args.attempts, args.sessions, now)
        make_rules(store, projects, args.rules)
        cpu, wall, fired = [], [], 0
        for _ in range(args.passes):
            c0, w0 = time.process_time(), time.perf_counter()
            cur = store.reader()
            rules = [Rule.from_row(r) for r in alert_sql.all_rules(cur)]
            fired = len(evaluate(cur, rules, now))
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        store.close()
    cpu_ms, wall_ms = statistics.median(cpu) * 1000, statistics.median(wall) * 1000
    print(f"{args.rules} rules, {args.attempts:,} attempts, {args.sessions:,} sessions, {PROJECTS} projects; "
          f"median of {args.passes} passes ({fired} rules past their threshold):")
    print(f"  one pass: {cpu_ms:.0f} ms CPU, {wall_ms:.0f} ms wall")
    for interval_s in (5, 10):
        print(f"  every {interval_s} s: {cpu_ms / (interval_s * 10):.1f}% of one core (goal < 10%)")


if __name__ == "__main__":
    main()
