"""What keeping stats samples clustered by session would save `sessions` of scattered sessions (issue 9).

The product reads the samples of far-apart sessions as one ts-bounded scan per session
(store/duckdb/reads.py: _windowed_stats_sql). In `stats_samples`, kept in arrival order, a session's
rows are scattered among all sessions' samples of the same minutes. This benchmark copies two days
of `bench_api`'s stats_samples into a scratch database file (compressed and checkpointed like the
product's, unlike an in-memory database) twice, in arrival order and ordered by an
integer session key (what a compaction of ended sessions could keep), and times, in CPU of the
process, reading the samples of 50 of those sessions:

  scattered, ts window + session_id   the product's statement shape (one part per session)
  scattered, no row in the windows    the same statement with windows matching nothing: planning
  clustered, session key = K          one part per session on the integer key (zone maps prune)
  scattered / clustered, index        `session_id IN (...)` through an ART index on session_id

    .venv/bin/python -m benchmarks.bench_stats_layout            # ~1-2 min (the bench_api database must exist)

Nothing is written to the bench_api database (it is attached read-only).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import duckdb

from benchmarks.apidata import BUSY, Spec, build
from videoinsights.domain.days import DAY_MS, la_day

COLUMNS = ("project_id, session_id, type, ts, event_id, stream_id, has_video, video_codec, audio_latency_ms, "
           "video_latency_ms, audio_bitrate_kbps, video_bitrate_kbps, audio_packet_loss, video_packet_loss, "
           "video_resolution")  # what the bench_api sessions query reads (10 StreamStatistics fields + keys)


def _cpu_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    fn()
    samples, out = [], None
    for _ in range(runs):
        started = time.process_time()
        out = fn()
        samples.append((time.process_time() - started) * 1000)
    return statistics.median(samples), out


def _load(con: duckdb.DuckDBPyConnection, path: str, days: int) -> None:
    con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
    lo = con.execute("SELECT min(ts) FROM src.stats_samples WHERE project_id = ?", [BUSY]).fetchone()[0]
    con.execute(f"CREATE TABLE scattered AS SELECT * FROM src.stats_samples WHERE project_id = '{BUSY}' "
                f"AND ts BETWEEN {lo} AND {lo + days * DAY_MS} ORDER BY ts")  # arrival order
    con.execute("CREATE TABLE bounds AS SELECT session_id, min(ts) AS first_ts, max(ts) AS last_ts, "
                "row_number() OVER (ORDER BY min(ts), session_id) AS k FROM scattered GROUP BY session_id")
    con.execute("CREATE TABLE clustered AS SELECT s.*, b.k FROM scattered s JOIN bounds b USING (session_id) "
                "ORDER BY b.k, s.type, s.stream_id, s.subscriber_id, s.ts")
    con.execute("CREATE INDEX scattered_sid ON scattered (session_id)")
    con.execute("CREATE INDEX clustered_sid ON clustered (session_id)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2, help="days of stats samples copied")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    built = build(Spec(today=la_day(int(time.time() * 1000))))
    with tempfile.TemporaryDirectory(prefix="vi-stats-layout-") as scratch:
        con = duckdb.connect(f"{scratch}/layout.duckdb")
        try:
            return _compare(con, str(built.path), args)
        finally:
            con.close()


def _compare(con: duckdb.DuckDBPyConnection, path: str, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    _load(con, path, args.days)
    con.execute("CHECKPOINT")
    rows = con.execute("SELECT count(*) FROM scattered").fetchone()[0]
    print(f"copied {rows:,} samples ({args.days} days of project {BUSY}) in {time.perf_counter() - started:.0f} s")
    picks = con.execute("SELECT session_id, first_ts, last_ts, k FROM bounds ORDER BY hash(session_id, 7) LIMIT ?",
                        [args.sessions]).fetchall()
    windowed = " UNION ALL ".join(f"SELECT {COLUMNS} FROM scattered WHERE ts BETWEEN {lo} AND {hi} "
                                  f"AND session_id = '{sid}'" for sid, lo, hi, _ in picks)
    nothing = re.sub(r"ts BETWEEN \d+ AND \d+", "ts BETWEEN 0 AND 1", windowed)
    keyed = " UNION ALL ".join(f"SELECT {COLUMNS} FROM clustered WHERE k = {k}" for *_, k in picks)
    in_list = ", ".join(f"'{sid}'" for sid, *_ in picks)
    cases = {
        "scattered, ts window + session_id (product)": windowed,
        "scattered, no row in the windows (planning)": nothing,
        "clustered, session key = K": keyed,
        "scattered, session_id index": f"SELECT {COLUMNS} FROM scattered WHERE session_id IN ({in_list})",
        "clustered, session_id index": f"SELECT {COLUMNS} FROM clustered WHERE session_id IN ({in_list})",
    }
    results = {}
    print(f"\n{args.sessions} sessions, CPU ms of the process, median of {args.runs}:")
    for name, sql in cases.items():
        ms, table = _cpu_ms(lambda sql=sql: con.sql(sql).to_arrow_table(), args.runs)
        results[name] = sorted(map(repr, table.to_pylist()))
        print(f"  {name:<46} {ms:7.1f}  ({table.num_rows:,} rows)")
    base = results["scattered, ts window + session_id (product)"]
    same = all(r == base for n, r in results.items() if "planning" not in n)
    print(f"\nsame rows in every layout: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
