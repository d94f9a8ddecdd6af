"""Insights API benchmark (issue 3): GraphQL in-process beside raw SQL, and HTTP throughput.

At 10,000 sessions a day (90 days of rollups, 21 days of session data with stats
samples; see benchmarks/apidata.py), each query below is timed through the real
executor (parse/validate cache, resolvers, batched loaders, orjson), beside the
SQL statements the product issued for it (recorded, then replayed alone) and
beside hand-written SQL answering the same question, interleaved in the same run:

  project_data_*    projectData, 90 days, DAILY, groupBy SDK_TYPE, first: 1000: usage minutes only,
                    and a full dashboard selection (usage, quality histograms, errors)       goal <= 20 ms
  sessions_*        sessions(sessionIds: 50 ids) with meetings, publishers (stream, stats),
                    subscribers (stream)                                                     goal <= 200 ms
  summaries_*       sessionSummaries pages (first and deep, default size and first: 1000)

then HTTP requests/s of a small projectData query on one `videoinsights serve`
worker over 127.0.0.1 with wrk (benchmarks/api_wrk.lua): identical requests
(response-cache hits) and cache-busting ones (`end` varied per request) goal >= 5,000/s.

    .venv/bin/python -m benchmarks.bench_api --experiments    # full scale: ~4-5 min (+3-5 min for the first build)
    .venv/bin/python -m benchmarks.bench_api --scale 0.1 --runs 15 --wrk-seconds 5   # quick (~1 min build)
    .venv/bin/python -m benchmarks.bench_api --skip-http --only sessions --profile sessions_scattered
    .venv/bin/python -m benchmarks.bench_api --only none --http-baseline-env VIDEOINSIGHTS_API_THREADS=40

--http-baseline-env measures the HTTP part on a second server with those variables set as well (a setting's
before/after): each round starts the baseline's server, then ours, and the ratio of the medians is printed.
--experiments also times the SQL of proposed fixes (per-SDK rollup, ART indexes on session tables) on TEMP
tables of the benchmark's own connection; --profile prints a cProfile of 10 GraphQL runs of one case.

The database is cached under /tmp (see apidata.CACHE_DIR) per parameters and LA day.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.apidata import BUSY, SMALL, Built, Spec, build, session_window
from benchmarks.common import ServerProcess, percentile
from videoinsights.auth.tokens import AuthContext, issue_project_token
from videoinsights.derive.model import ENDPOINT_MEASURES
from videoinsights.domain.days import DAY_MS, day_start_ms, la_day
from videoinsights.domain.quality import BITRATE_FIELDS, LATENCY_FIELDS
from videoinsights.domain.tiers import TIERS
from videoinsights.query.executor import Executor
from videoinsights.query.pagination import encode_cursor
from videoinsights.query.report import KNOWN_VALUES
from videoinsights.settings import Settings, load_settings
from videoinsights.store.duckdb.rawfile import database_files
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.open import duckdb_options

WRK = "/usr/bin/wrk"
LUA = Path(__file__).with_name("api_wrk.lua")
SETTINGS = Settings()

# -- queries ------------------------------------------------------------------------------------------

_LAT = " ".join(LATENCY_FIELDS)
_BR = " ".join(BITRATE_FIELDS)
_SIDE = f"latencyMsAvg videoBitrateKbpsAvg latencyDistribution {{ {_LAT} }} videoBitrateDistribution {{ {_BR} }}"
_ERR = "attempts failures failureRate"
PROJECT_DATA_USAGE = """query ($p: IntOrString!, $start: Date!, $end: Date) { project(projectId: $p) {
  projectData(start: $start, end: $end, interval: DAILY, groupBy: SDK_TYPE, first: 1000) {
    interval totalCount pageInfo { hasNextPage endCursor }
    resources { intervalStart intervalEnd sdkType
      usage { streamedPublishedMinutes streamedSubscribedMinutes } } } } }"""
PROJECT_DATA_FULL = f"""query ($p: IntOrString!, $start: Date!, $end: Date) {{ project(projectId: $p) {{
  projectData(start: $start, end: $end, interval: DAILY, groupBy: SDK_TYPE, first: 1000) {{
    interval totalCount pageInfo {{ hasNextPage endCursor }}
    resources {{ intervalStart intervalEnd sdkType
      usage {{ streamedPublishedMinutes streamedSubscribedMinutes }}
      quality {{ publisher {{ {_SIDE} }} subscriber {{ {_SIDE} }} }}
      errors {{ connect {{ {_ERR} }} publish {{ {_ERR} }} subscribe {{ {_ERR} }} }} }} }} }} }}"""

_STATS = ("createdAt videoBitrateKbps videoLatencyMs audioBitrateKbps audioLatencyMs videoPacketLoss "
          "audioPacketLoss videoResolution videoCodec hasVideo")
_TIERS = " ".join(t.field for t in TIERS)
SESSIONS = f"""query ($p: IntOrString!, $ids: [String]!) {{ project(projectId: $p) {{ sessionData {{
  sessions(sessionIds: $ids) {{ totalCount resources {{ sessionId mediaMode publisherMinutes subscriberMinutes
    participantMinutes {{ {_TIERS} }}
    meetings {{ totalCount resources {{ meetingId createdAt destroyedAt publisherMinutes subscriberMinutes
      publishers {{ totalCount resources {{ connectionId createdAt destroyedAt
        stream {{ streamId videoType hasAudioTrack hasVideoTrack }}
        streamStatsCollection {{ totalCount resources {{ {_STATS} }} }} }} }}
      subscribers {{ totalCount resources {{ subscriberId connectionId createdAt destroyedAt
        stream {{ streamId videoType hasVideoTrack }} }} }} }} }} }} }} }} }} }}"""

SUMMARIES = f"""query ($p: IntOrString!, $start: Date!, $end: Date, $first: Int, $after: String) {{
  project(projectId: $p) {{ sessionData {{
  sessionSummaries(start: $start, end: $end, first: $first, endCursor: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }}
    resources {{ sessionId mediaMode publisherMinutes subscriberMinutes participantMinutes {{ {_TIERS} }}
      meetings {{ totalCount resources {{ meetingId createdAt destroyedAt publisherMinutes subscriberMinutes
        maxConcurrentStreams maxConcurrentConnections maxConcurrentSubscribers
        totalStreams totalConnections totalSubscribers }} }} }} }} }} }} }}"""


# -- raw SQL answering the same questions -------------------------------------------------------------

def _reported(column: str) -> str:
    values, fallback = KNOWN_VALUES[column]
    listed = ", ".join(f"'{v}'" for v in values)
    return f"CASE WHEN {column} IS NULL THEN NULL WHEN {column} IN ({listed}) THEN {column} ELSE '{fallback}' END"


def _side_sql(side: str) -> str:
    cols = [f"sum({side}_lat_sum) / nullif(sum({side}_lat_count), 0)",
            f"sum({side}_br_sum) / nullif(sum({side}_br_count), 0)"]
    cols += [f"sum({side}_lat_{f.lower()})" for f in LATENCY_FIELDS]
    cols += [f"sum({side}_br_{f.lower()})" for f in BITRATE_FIELDS]
    return ", ".join(cols)


RAW_PROJECT_DATA_USAGE = f"""
SELECT day, {_reported("sdk_type")} AS sdk, sum(published_minutes), sum(subscribed_minutes)
FROM rollup_endpoint_daily WHERE project_id = $p AND day BETWEEN $first AND $last
GROUP BY ALL ORDER BY day, sdk NULLS LAST"""
RAW_PROJECT_DATA_FULL = f"""
SELECT day, {_reported("sdk_type")} AS sdk, sum(published_minutes), sum(subscribed_minutes),
       {_side_sql("pub")}, {_side_sql("sub")},
       sum(connect_attempts), sum(connect_failures), sum(publish_attempts), sum(publish_failures),
       sum(subscribe_attempts), sum(subscribe_failures)
FROM rollup_endpoint_daily WHERE project_id = $p AND day BETWEEN $first AND $last
GROUP BY ALL ORDER BY day, sdk NULLS LAST"""

_TIER_COLS = ", ".join(t.column for t in TIERS)
# One statement per level; stats restricted by session id (a scan: stats_samples has no index since schema 17).
RAW_SESSIONS = [
    f"""SELECT session_id, media_mode, last_seen_at, publisher_minutes, subscriber_minutes, {_TIER_COLS}
        FROM sessions WHERE project_id = $p AND session_id IN ({{ids}})""",
    f"""SELECT session_id, meeting_index, meeting_id, created_at, destroyed_at, publisher_minutes,
               subscriber_minutes, {_TIER_COLS}, count(*) OVER (PARTITION BY session_id) AS total
        FROM meetings WHERE project_id = $p AND session_id IN ({{ids}})
        QUALIFY row_number() OVER (PARTITION BY session_id ORDER BY meeting_index) <= 10""",
    """SELECT session_id, meeting_index, stream_id, connection_id, created_at, destroyed_at, video_type,
              has_audio, has_video, count(*) OVER (PARTITION BY session_id, meeting_index) AS total
       FROM publishers WHERE project_id = $p AND session_id IN ({ids})
       QUALIFY row_number() OVER (PARTITION BY session_id, meeting_index ORDER BY created_at, stream_id) <= 50""",
    """SELECT s.session_id, s.meeting_index, s.subscriber_id, s.connection_id, s.created_at, s.destroyed_at,
              s.stream_id, p.video_type, p.has_video,
              count(*) OVER (PARTITION BY s.session_id, s.meeting_index) AS total
       FROM subscribers s LEFT JOIN (SELECT session_id, stream_id, any_value(video_type) AS video_type,
                                            any_value(has_video) AS has_video
                                     FROM publishers WHERE project_id = $p AND session_id IN ({ids}) GROUP BY ALL) p
            ON p.session_id = s.session_id AND p.stream_id = s.stream_id
       WHERE s.project_id = $p AND s.session_id IN ({ids})
       QUALIFY row_number() OVER (PARTITION BY s.session_id, s.meeting_index
                                  ORDER BY s.created_at, s.subscriber_id) <= 50""",
    # By id first, then filtered (the shape that used stats_samples' ART index, gone since schema 17).
    """CREATE OR REPLACE TEMP TABLE raw_stats AS
       SELECT session_id, stream_id, ts, event_id, project_id, type, video_bitrate_kbps, video_latency_ms,
              audio_bitrate_kbps, audio_latency_ms, video_packet_loss, audio_packet_loss, video_resolution,
              video_codec, has_video
       FROM stats_samples WHERE session_id IN ({ids})""",
    """SELECT session_id, stream_id, ts, video_bitrate_kbps, video_latency_ms, audio_bitrate_kbps, audio_latency_ms,
              video_packet_loss, audio_packet_loss, video_resolution, video_codec, has_video,
              count(*) OVER (PARTITION BY session_id, stream_id) AS total
       FROM raw_stats WHERE project_id = $p AND type = 'publisherStats'
       QUALIFY row_number() OVER (PARTITION BY session_id, stream_id ORDER BY ts, event_id) <= 50""",
]

RAW_SUMMARIES = [
    """SELECT count(DISTINCT session_id) FROM meetings
       WHERE project_id = $p AND created_at BETWEEN $start AND $end""",
    f"""CREATE OR REPLACE TEMP TABLE raw_page AS
        SELECT session_id, media_mode, created_at, publisher_minutes, subscriber_minutes, {_TIER_COLS}
        FROM sessions s WHERE project_id = $p AND EXISTS (
          SELECT 1 FROM meetings m WHERE m.project_id = $p AND m.session_id = s.session_id
            AND m.created_at BETWEEN $start AND $end)
        ORDER BY created_at, session_id LIMIT $limit OFFSET $offset""",
    "SELECT * FROM raw_page ORDER BY created_at, session_id",
    """SELECT m.session_id, meeting_index, meeting_id, m.created_at, destroyed_at, m.publisher_minutes,
              m.subscriber_minutes, max_concurrent_streams, max_concurrent_connections, max_concurrent_subscribers,
              total_streams, total_connections, total_subscribers,
              count(*) OVER (PARTITION BY m.session_id) AS total
       FROM meetings m JOIN raw_page USING (session_id) WHERE m.project_id = $p
       QUALIFY row_number() OVER (PARTITION BY m.session_id ORDER BY meeting_index) <= 10""",
]


def _in_list(ids: list[str]) -> str:
    return ", ".join("'" + i.replace("'", "''") + "'" for i in ids)


# -- measuring -----------------------------------------------------------------------------------------

class RecordingCursor:
    """A DuckDB cursor that remembers every statement (to replay the product's SQL alone).

    Entries are (sql, params, alias): alias is set for a statement whose rows the product
    registered as a relation (store/duckdb/reads.py fetches session rows first)."""

    def __init__(self, cursor: Any, log: list[tuple[str, Any, str | None]]) -> None:
        self._cursor, self._log = cursor, log

    def execute(self, sql: str, params: Any = None) -> Any:
        self._log.append((sql, dict(params) if isinstance(params, dict) else params, None))
        return self._cursor.execute(sql, params)

    def sql(self, sql: str, params: Any = None) -> Any:
        self._log.append((sql, dict(params) if isinstance(params, dict) else params, None))
        return self._cursor.sql(sql, params=params)

    def register(self, alias: str, rows: Any) -> Any:
        sql, params, _ = self._log[-1]
        self._log[-1] = (sql, params, alias)
        return self._cursor.register(alias, rows)

    def unregister(self, alias: str) -> Any:
        return self._cursor.unregister(alias)


def run_logged(cursor: Any, entry: tuple[str, Any, str | None]) -> Any:
    """Replay one recorded statement as the product ran it."""
    sql, params, alias = entry
    if alias is None:
        return cursor.execute(sql, params).fetchall()
    return cursor.register(alias, cursor.sql(sql, params=params).to_arrow_table())


def replay_all(cursor: Any, log: list[tuple[str, Any, str | None]]) -> None:
    for entry in log:
        run_logged(cursor, entry)
    for _, _, alias in log:
        if alias is not None:
            cursor.unregister(alias)


@dataclass
class Case:
    name: str
    what: str
    graphql: Callable[[], Any]
    raw: Callable[[], Any]
    statements: list[tuple[str, Any, str | None]] = field(default_factory=list)
    samples: dict[str, list[float]] = field(
        default_factory=lambda: {"graphql": [], "graphql_cpu": [], "product_sql": [], "raw": []})
    result_bytes: int = 0
    items: int = 0
    goal_ms: float | None = None


def _count_items(node: Any) -> int:
    if isinstance(node, dict):
        return sum(_count_items(v) for v in node.values())
    if isinstance(node, list):
        return len(node) + sum(_count_items(v) for v in node)
    return 0


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _timed_cpu(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall ms, CPU ms of the whole process: DuckDB's threads included). On a loaded machine only the
    CPU time says much: the wall time also counts the waits for a core."""
    started, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def measure(cases: list[Case], cursor: Any, runs: int, warmup: int) -> None:
    """Interleave GraphQL, replayed product SQL and raw SQL so the host's noise hits all three alike."""
    for case in cases:
        def replay(case: Case = case) -> None:
            replay_all(cursor, case.statements)
        for _ in range(warmup):
            case.graphql(), replay(), case.raw()
        for _ in range(runs):
            wall, cpu = _timed_cpu(case.graphql)
            case.samples["graphql"].append(wall)
            case.samples["graphql_cpu"].append(cpu)
            case.samples["product_sql"].append(_timed(replay))
            case.samples["raw"].append(_timed(case.raw))


def report(cases: list[Case], runs: int) -> None:
    print(f"\nIn-process, ms over {runs} runs after warm-up (median / p95). 'product SQL' = the statements the "
          "GraphQL run issued, replayed alone;\n'raw SQL' = hand-written SQL answering the same question; "
          "'GraphQL CPU' = CPU time of the process (all threads) per GraphQL run; "
          "ratio = GraphQL median / raw SQL median (wall).\n")
    head = (f"{'case':<22} {'GraphQL':>17} {'GraphQL CPU':>17} {'product SQL':>17} {'raw SQL':>17} {'ratio':>6} "
            f"{'stmts':>5} {'items':>7} {'JSON':>8}  goal")
    print(head)
    print("-" * len(head))
    for c in cases:
        cells = []
        for key in ("graphql", "graphql_cpu", "product_sql", "raw"):
            s = c.samples[key]
            cells.append(f"{statistics.median(s):8.1f} /{percentile(s, 95):7.1f}")
        ratio = statistics.median(c.samples["graphql"]) / statistics.median(c.samples["raw"])
        goal = ""
        if c.goal_ms is not None:
            med = statistics.median(c.samples["graphql"])
            goal = f"<= {c.goal_ms:g} ms: {'met' if med <= c.goal_ms else 'NOT met'}"
        print(f"{c.name:<22} {cells[0]:>17} {cells[1]:>17} {cells[2]:>17} {cells[3]:>17} {ratio:6.1f} "
              f"{len(c.statements):>5} {c.items:>7} {c.result_bytes / 1024:7.0f}K  {goal}")
    print()
    for c in cases:
        print(f"  {c.name:<22} {c.what}")


# -- the cases -----------------------------------------------------------------------------------------

class Bench:
    def __init__(self, built: Built, now_ms: int) -> None:
        self.built = built
        self.now_ms = now_ms
        # VIDEOINSIGHTS_DUCKDB_* apply here as in the server of the HTTP part
        self.store = DuckDBStore(str(built.path), **duckdb_options(load_settings()))
        self.cursor = self.store.reader()
        self.cursor.execute("SET enable_progress_bar = false")
        self.executor = Executor(SETTINGS, self.store.reader, self.store.get_project)
        self.auth = AuthContext(BUSY, "project")
        self.mismatches = 0

    def close(self) -> None:
        self.store.close()

    def gql(self, query: str, variables: dict[str, Any]) -> bytes:
        result = self.executor.run(self.auth, query, variables)
        if "errors" in result:
            raise RuntimeError(f"GraphQL errors: {result['errors'][:2]}")
        return orjson.dumps(result)

    def record(self, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Any, str | None]]]:
        log: list[tuple[str, Any, str | None]] = []
        executor = Executor(SETTINGS, lambda: RecordingCursor(self.store.reader(), log), self.store.get_project,
                            sql=self.store.sql)
        result = executor.run(self.auth, query, variables)
        if "errors" in result:
            raise RuntimeError(f"GraphQL errors: {result['errors'][:2]}")
        return result, log

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        if ok:
            print(f"  check ok: {what}")
        else:
            self.mismatches += 1
            print(f"  MISMATCH (GraphQL != raw SQL): {what} {detail}")

    def make_case(self, name: str, what: str, query: str, variables: dict[str, Any], raw: Callable[[], Any],
                  goal_ms: float | None = None) -> tuple[Case, dict[str, Any]]:
        result, statements = self.record(query, variables)
        case = Case(name, what, lambda: self.gql(query, variables), raw, statements, goal_ms=goal_ms)
        body = orjson.dumps(result, option=orjson.OPT_SORT_KEYS)
        case.result_bytes = len(body)
        print(f"  {name}: response sha256 {hashlib.sha256(body).hexdigest()[:16]} (compare across checkouts)")
        case.items = _count_items(result)
        return case, result

    # projectData --------------------------------------------------------------------------------------
    def project_data(self, full: bool) -> Case:
        today = la_day(self.now_ms)
        first, last = today - timedelta(days=90), today - timedelta(days=1)
        variables = {"p": BUSY, "start": first.isoformat(), "end": today.isoformat()}
        params = {"p": BUSY, "first": first, "last": last}
        sql = RAW_PROJECT_DATA_FULL if full else RAW_PROJECT_DATA_USAGE

        def raw() -> list[tuple[Any, ...]]:
            return self.cursor.execute(sql, params).fetchall()

        name = f"project_data_{'full' if full else 'usage'}"
        fields = ("usage + quality (both sides: 2 averages, 32 histogram buckets) + errors (3 x 3)" if full
                  else "usage (published and subscribed minutes)")
        case, result = self.make_case(
            name, f"projectData {first}..{last} (90 days) DAILY groupBy SDK_TYPE, first: 1000: {fields}",
            PROJECT_DATA_FULL if full else PROJECT_DATA_USAGE, variables, raw, 20)
        rows = raw()
        got = result["data"]["project"]["projectData"]["resources"]
        self.check(f"{name}: {len(got)} rows (GraphQL) vs {len(rows)} (raw)", len(got) == len(rows))
        bad = []
        for r, g in zip(rows, got, strict=False):
            day = la_day(int(datetime.fromisoformat(g["intervalStart"]).timestamp() * 1000))
            mine = [day, g["sdkType"], g["usage"]["streamedPublishedMinutes"], g["usage"]["streamedSubscribedMinutes"]]
            if full:
                pub, sub = g["quality"]["publisher"], g["quality"]["subscriber"]
                for side in (pub, sub):
                    mine += [side["latencyMsAvg"], side["videoBitrateKbpsAvg"],
                             *(side["latencyDistribution"][f] for f in LATENCY_FIELDS),
                             *(side["videoBitrateDistribution"][f] for f in BITRATE_FIELDS)]
                mine += [g["errors"][k][f] for k in ("connect", "publish", "subscribe")
                         for f in ("attempts", "failures")]
            if not _close(mine, list(r)):
                bad.append((r[:4], mine[:4]))
        self.check(f"{name}: every value of every row", not bad, f"first differences: {bad[:2]}")
        return case

    # sessions -------------------------------------------------------------------------------------------
    def session_ids(self, clustered: bool) -> list[str]:
        lo, _ = session_window(self.built.spec)
        if clustered:  # 50 consecutive sessions, 3 days ago around 13:00 LA
            at = day_start_ms(la_day(self.now_ms) - timedelta(days=3)) + 13 * 3_600_000
            sql = ("SELECT session_id FROM sessions WHERE project_id = ? AND created_at >= ? "
                   "ORDER BY created_at LIMIT 50")
            rows = self.cursor.execute(sql, [BUSY, at]).fetchall()
        else:  # 50 sessions anywhere in the last 20 days
            sql = ("SELECT session_id FROM sessions WHERE project_id = ? AND created_at >= ? "
                   "ORDER BY hash(session_id, 7) LIMIT 50")
            rows = self.cursor.execute(sql, [BUSY, max(lo, self.now_ms - 20 * DAY_MS)]).fetchall()
        return [r[0] for r in rows]

    def sessions(self, clustered: bool) -> Case:
        ids = self.session_ids(clustered)
        in_list = _in_list(ids)
        statements = [s.format(ids=in_list) for s in RAW_SESSIONS]

        def raw() -> list[list[tuple[Any, ...]]]:
            out = []
            for sql in statements:
                result = self.cursor.execute(sql, {"p": BUSY} if "$p" in sql else None)
                if not sql.lstrip().startswith("CREATE"):
                    out.append(result.fetchall())
            return out

        name = "sessions_clustered" if clustered else "sessions_scattered"
        where = "50 sessions created one after another (3 days ago)" if clustered else \
            "50 sessions spread over the 20 days kept"
        case, result = self.make_case(name, f"sessions(sessionIds: [50]) {where}: meetings, publishers (stream, "
                                      "stats: default page of 50), subscribers (stream)",
                                      SESSIONS, {"p": BUSY, "ids": ids}, raw, 200)
        s_rows, m_rows, p_rows, sub_rows, st_rows = raw()
        sessions = result["data"]["project"]["sessionData"]["sessions"]["resources"]
        meetings = [m for s in sessions for m in s["meetings"]["resources"]]
        pubs = [p for m in meetings for p in m["publishers"]["resources"]]
        subs = [s for m in meetings for s in m["subscribers"]["resources"]]
        stats = [x for p in pubs for x in p["streamStatsCollection"]["resources"]]
        st_total = sum(p["streamStatsCollection"]["totalCount"] for p in pubs)
        raw_total = sum(t for t in {(r[0], r[1]): r[-1] for r in st_rows}.values())
        self.check(f"{name}: sessions {len(sessions)}/{len(s_rows)}, meetings {len(meetings)}/{len(m_rows)}, "
                   f"publishers {len(pubs)}/{len(p_rows)}, subscribers {len(subs)}/{len(sub_rows)}, "
                   f"stats {len(stats)}/{len(st_rows)} (of {st_total}/{raw_total})",
                   (len(sessions), len(meetings), len(pubs), len(subs), len(stats), st_total)
                   == (len(s_rows), len(m_rows), len(p_rows), len(sub_rows), len(st_rows), raw_total))
        self.check(f"{name}: sum of returned videoBitrateKbps",
                   _close([sum(x["videoBitrateKbps"] or 0 for x in stats)], [sum(r[3] or 0 for r in st_rows)]))
        self.check(f"{name}: session order and publisherMinutes",
                   [(s["sessionId"], s["publisherMinutes"]) for s in sessions]
                   == [(i, m) for i in ids for (sid, _, _, m, *_rest) in s_rows if sid == i])
        return case

    # sessionSummaries -------------------------------------------------------------------------------------
    def summaries(self, first: int | None, deep: bool) -> Case:
        lo, hi = session_window(self.built.spec)
        start, end = lo + DAY_MS, hi + DAY_MS  # fixed bounds: the retention clip (now - 21 days) does not move them
        size = first or 50
        total = self.cursor.execute(RAW_SUMMARIES[0], {"p": BUSY, "start": start, "end": end}).fetchone()[0]
        offset = (total // 2 // size) * size if deep else 0
        variables = {"p": BUSY, "start": start, "end": end, "first": first,
                     "after": encode_cursor(offset) if offset else None}
        params = {"p": BUSY, "start": start, "end": end, "limit": size, "offset": offset}

        def raw() -> list[Any]:
            out = []
            for sql in RAW_SUMMARIES:
                names = re.findall(r"\$(\w+)", sql)
                out.append(self.cursor.execute(sql, {k: params[k] for k in names}).fetchall())
            return out

        name = f"summaries_{'deep' if deep else 'first'}_{size}"
        case, result = self.make_case(
            name, f"sessionSummaries over {total:,} sessions (20 days), page of {size}"
            f"{' (default)' if first is None else ''} at offset {offset:,}, with meetings",
            SUMMARIES, variables, raw)
        count, _, page, meetings = raw()
        got = result["data"]["project"]["sessionData"]["sessionSummaries"]
        self.check(f"{name}: totalCount {got['totalCount']} vs {count[0][0]}", got["totalCount"] == count[0][0])
        self.check(f"{name}: session ids of the page ({len(got['resources'])})",
                   [s["sessionId"] for s in got["resources"]] == [r[0] for r in page])
        n_meet = sum(len(s["meetings"]["resources"]) for s in got["resources"])
        self.check(f"{name}: meetings on the page {n_meet} vs {len(meetings)}", n_meet == len(meetings))
        return case


def _close(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float | int) and isinstance(y, float | int) and not isinstance(x, bool):
            if abs(x - y) > 1e-6 * max(1.0, abs(x), abs(y)):
                return False
        elif x != y:
            return False
    return True


# -- what-if experiments (proposed fixes, on TEMP tables of this connection only) ---------------------------

def experiments(bench: Bench, runs: int) -> None:
    """Time the SQL of the proposed fixes beside the product's SQL. TEMP tables shadow the real ones for this
    connection only; nothing is written to the database file."""
    cur = bench.cursor

    def med(fn: Callable[[], Any], n: int = runs) -> float:
        for _ in range(2):
            fn()
        return statistics.median(_timed(fn) for _ in range(n))

    def replay(log: list[tuple[str, Any, str | None]]) -> Callable[[], Any]:
        return lambda: replay_all(cur, log)

    print("\nWhat-if experiments (SQL only, median ms; TEMP tables, the database file is not changed):")
    today = la_day(bench.now_ms)
    first, last = today - timedelta(days=90), today - timedelta(days=1)
    v90 = {"p": BUSY, "start": first.isoformat(), "end": today.isoformat()}
    p90 = {"p": BUSY, "first": first, "last": last}
    for name, query, raw in (("usage", PROJECT_DATA_USAGE, RAW_PROJECT_DATA_USAGE),
                             ("full", PROJECT_DATA_FULL, RAW_PROJECT_DATA_FULL)):
        _, log = bench.record(query, v90)
        product = med(replay(log))
        sums = ", ".join(f"sum({m}) AS {m}" for m in ENDPOINT_MEASURES)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE rollup_sdk_daily AS SELECT project_id, day, "
                    f"{_reported('sdk_type')} AS sdk_type, {sums} FROM main.rollup_endpoint_daily "
                    "GROUP BY ALL ORDER BY project_id, day")
        pre = med(lambda raw=raw: cur.execute(raw.replace("rollup_endpoint_daily", "rollup_sdk_daily"), p90).fetchall())
        print(f"  project_data_{name:<6} product SQL {product:7.1f}  | same answer from a per-(day, SDK type) "
              f"rollup ({cur.execute('SELECT count(*) FROM rollup_sdk_daily').fetchone()[0]:,} rows): {pre:6.1f}")
    for clustered in (True, False):
        ids = bench.session_ids(clustered)
        _, log = bench.record(SESSIONS, {"p": BUSY, "ids": ids})
        per = [med(lambda entry=entry: run_logged(cur, entry)) for entry in log]
        print(f"  sessions_{'clustered' if clustered else 'scattered'}: product statements (sessions, meetings, "
              f"publishers, publisher stats, subscribers): {' + '.join(f'{x:.1f}' for x in per)} = {sum(per):.1f}")
    tables = ("sessions", "meetings", "publishers", "subscribers")
    for table in tables:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM main.{table}")
        cur.execute(f"CREATE INDEX bench_{table}_sid ON temp.{table} (session_id)")
    for clustered in (True, False):
        in_list = _in_list(bench.session_ids(clustered))
        per = [med(lambda t=t, ids=in_list: cur.execute(f"SELECT * FROM {t} WHERE session_id IN ({ids})").fetchall())
               for t in tables]
        stats = med(lambda ids=in_list: [
            cur.execute(sql.format(ids=ids), {"p": BUSY} if "$p" in sql else None).fetchall()
            for sql in RAW_SESSIONS[4:]])
        print(f"  sessions_{'clustered' if clustered else 'scattered'}: with an ART index on session_id and a lone "
              f"`session_id IN (...)` per table: {' + '.join(f'{x:.1f}' for x in per)} = {sum(per):.1f}; "
              f"publisher stats by session id (no index on the samples), then paged: {stats:.1f}")
    for table in (*tables, "rollup_sdk_daily"):
        cur.execute(f"DROP TABLE IF EXISTS temp.{table}")


# -- HTTP -----------------------------------------------------------------------------------------------

@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(url: str, env: dict[str, str], seconds: float, connections: int) -> WrkResult:
    out = subprocess.run([WRK, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(LUA),
                          f"{url}/graphql"], capture_output=True, text=True, env={**os.environ, **env}, check=True)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(rps, _ms(p50.group(1)) if p50 else float("nan"), _ms(p99.group(1)) if p99 else float("nan"),
                     int(non2.group(1)) if non2 else 0, sum(int(x) for x in errs.groups()) if errs else 0)


HTTP_QUERY = ("{ project(projectId: %s) { projectData(start: %d, end: %s) "
              "{ resources { usage { streamedPublishedMinutes streamedSubscribedMinutes } } } } }")
HTTP_QUERY_VARS = ("query ($end: Date) { project(projectId: %s) { projectData(start: %d, end: $end) "
                   "{ resources { usage { streamedPublishedMinutes streamedSubscribedMinutes } } } } }")


def bench_http(built: Built, now_ms: int, seconds: float, repeats: int, connections: int,
               baseline_env: dict[str, str] | None = None, baseline_python: str | None = None) -> None:
    """wrk against a real server, `repeats` rounds of every mode. With `baseline_env` and/or `baseline_python` (the
    interpreter of another checkout: benchmarks/common.py ServerProcess), the same rounds on a server with those
    variables set too or that code, alternating with ours (baseline first: one server at a time, restarted each
    round, since a DuckDB file opens in one process), and each mode's ratio is printed. Without, one server for every
    round."""
    start = day_start_ms(la_day(now_ms) - timedelta(days=7))
    end = now_ms - 60_000
    modes = [
        ("identical", BUSY, "identical requests: response-cache hits"),
        ("vars", BUSY, "`end` varied per request as a variable: document cached, response cache missed"),
        ("inline", BUSY, "`end` varied per request inside the query text: parse + validate + execute every time"),
        ("vars", SMALL[2], "as `vars`, on a small project (500 sessions/day): per-request overhead"),
    ]
    print(f"\nHTTP: `videoinsights serve` (one uvicorn worker, real app) on 127.0.0.1, wrk -t1 -c{connections} "
          f"-d{seconds:g}s, median of {repeats} runs.\nQuery: projectData over the last 7 days, no interval, "
          "usage minutes (one row).")
    # Rate limits off: one wrk address sends thousands of requests a second, which the defaults (6,000 per 30 s per
    # address and per project, docs/configuration.md) answer with 429 after the first 6,000.
    env = {"VIDEOINSIGHTS_RATE_LIMIT_PER_ADDRESS": "0", "VIDEOINSIGHTS_RATE_LIMIT_PER_PROJECT": "0"}
    envs = {"ours": env}
    baseline = baseline_env is not None or baseline_python is not None
    if baseline:
        print("baseline: " + (f"the server of {baseline_python}" if baseline_python else "the same server")
              + (" with" if baseline_env else "") + "".join(f" {k}={v}" for k, v in (baseline_env or {}).items())
              + "; each round starts the baseline's server, then ours, and runs every mode once on each")
        envs = {"baseline": {**env, **(baseline_env or {})}, **envs}
    runs: dict[tuple[str, int], list[WrkResult]] = {}
    sizes: dict[int, int] = {}
    run_no = 0
    http = httpx.Client(timeout=30)
    kept = ServerProcess(built.path, env=env) if not baseline else None
    try:
        for _ in range(repeats):
            for name, server_env in envs.items():
                server = kept or ServerProcess(built.path, env=server_env,
                                               python=baseline_python if name == "baseline" else None)
                try:
                    for i, (mode, project, _what) in enumerate(modes):
                        token = issue_project_token(project, built.secrets[project], 3600)
                        wrk_env = {"VI_TOKEN": token, "VI_MODE": mode, "VI_PROJECT": project,
                                   "VI_START": str(start), "VI_END": str(end)}
                        # The first request wrk would send, checked by hand.
                        if mode == "vars":
                            body = {"query": HTTP_QUERY_VARS % (project, start), "variables": {"end": end - 1}}
                        else:
                            body = {"query": HTTP_QUERY % (project, start, end - (1 if mode == "inline" else 0))}
                        r = http.post(f"{server.url}/graphql", json=body, headers={"X-OPENTOK-AUTH": token})
                        if r.status_code != 200 or "errors" in r.json():
                            raise RuntimeError(f"HTTP pre-flight failed: {r.status_code} {r.text[:300]}")
                        sizes[i] = len(r.content)
                        # Every wrk run (and mode) starts from its own `end`, 1,000 s apart: no run repeats another's.
                        run_no += 1
                        runs.setdefault((name, i), []).append(
                            run_wrk(server.url, {**wrk_env, "VI_END": str(end - run_no * 1_000_000)}, seconds,
                                    connections))
                finally:
                    if server is not kept:
                        server.stop()
    finally:
        http.close()
        if kept is not None:
            kept.stop()
    print(f"\n{'server':<9} {'mode':<10} {'project':<9} {'req/s (median)':>15} {'runs':>24} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'bad':>4}  goal >= 5,000/s")
    for i, (mode, project, _what) in enumerate(modes):
        for name in envs:
            done = runs[(name, i)]
            rps = [x.rps for x in done]
            med = sorted(done, key=lambda x: x.rps)[len(done) // 2]
            goal = "met" if statistics.median(rps) >= 5000 else "NOT met"
            ratio = ""
            if name == "ours" and "baseline" in envs:
                base = statistics.median(x.rps for x in runs[("baseline", i)])
                ratio = f"  ours / baseline {statistics.median(rps) / base:.2f}x"
            bad = sum(x.non_2xx + x.errors for x in done)
            print(f"{name:<9} {mode:<10} {project:<9} {statistics.median(rps):>15,.0f} "
                  f"{' '.join(f'{x:,.0f}' for x in rps):>24} {med.p50_ms:7.2f} {med.p99_ms:7.2f} {bad:>4}  "
                  f"{goal}{ratio}")
    print()
    for i, (mode, project, what) in enumerate(modes):
        print(f"  {mode:<8} {project}: {what} ({sizes[i]} B response)")


# -- main -----------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies sessions per day (1.0 = 10,000/day)")
    parser.add_argument("--stats-per-entity", type=int, default=Spec.stats_per_entity,
                        help="stats samples per publisher/subscriber")
    parser.add_argument("--layout", choices=("sessions", "arrival"), default=Spec.layout,
                        help="stats samples in session order, as compaction leaves them (default), or as appended")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per case (after warm-up)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated case name prefixes (default: all)")
    parser.add_argument("--wrk-seconds", type=float, default=8)
    parser.add_argument("--wrk-repeats", type=int, default=3)
    parser.add_argument("--wrk-connections", type=int, default=16)
    parser.add_argument("--http-baseline-env", nargs="*", default=[], metavar="VAR=VALUE",
                        help="HTTP part: also measure a server with these variables set, alternating with ours")
    parser.add_argument("--http-baseline-python", default=None, metavar="PATH",
                        help="HTTP part: also measure the server run by this interpreter (a script running another "
                             "checkout's python: docs/benchmarks.md), alternating with ours")
    parser.add_argument("--experiments", action="store_true", help="also time the SQL of the proposed fixes")
    parser.add_argument("--profile", default="", help="cProfile (CPU) 10 GraphQL runs of this case")
    args = parser.parse_args()
    if args.runs < 15:
        print("note: fewer than 15 runs; medians are less stable")

    started = time.perf_counter()
    now_ms = int(time.time() * 1000)
    spec = Spec(today=la_day(now_ms), scale=args.scale, stats_per_entity=args.stats_per_entity, layout=args.layout)
    print(f"database: scale {spec.scale:g} ({spec.per_day()[BUSY]:,} sessions/day on project {BUSY}, small projects "
          f"{', '.join(f'{p}: {n}/day' for p, n in spec.per_day().items() if p != BUSY)}), {spec.rollup_days} days "
          f"of rollups, {spec.session_days} days of session data, {spec.stats_per_entity} stats samples per "
          f"publisher/subscriber (at most one per 30 s), stats in {spec.layout} order, seed {spec.seed}")
    built = build(spec, rebuild=args.rebuild)
    size = sum(Path(f).stat().st_size for f in database_files(str(built.path)) if Path(f).exists())
    print(f"  {'cached' if built.cached else 'built'}: {built.path} ({size / 2**20:,.0f} MiB), build took "
          f"{built.build_seconds:.0f} s {built.timings}")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in built.rows.items()))

    bench = Bench(built, now_ms)
    try:
        rows_per_day = bench.cursor.execute(
            "SELECT project_id, count(*) / count(DISTINCT day) FROM rollup_endpoint_daily GROUP BY 1 ORDER BY 1"
        ).fetchall()
        print("  rollup_endpoint_daily rows per day: " + ", ".join(f"{p} {n:,.0f}" for p, n in rows_per_day))
        print("\nsanity checks (GraphQL answer == raw SQL answer):")
        makers: list[tuple[str, Callable[[], Case]]] = [
            ("project_data_usage", lambda: bench.project_data(False)),
            ("project_data_full", lambda: bench.project_data(True)),
            ("sessions_clustered", lambda: bench.sessions(True)),
            ("sessions_scattered", lambda: bench.sessions(False)),
            ("summaries_first_50", lambda: bench.summaries(None, False)),
            ("summaries_first_1000", lambda: bench.summaries(1000, False)),
            ("summaries_deep_50", lambda: bench.summaries(None, True)),
            ("summaries_deep_1000", lambda: bench.summaries(1000, True)),
        ]
        only = [o for o in args.only.split(",") if o]
        cases = [make() for name, make in makers if not only or any(name.startswith(o) for o in only)]
        if args.profile:
            case = next(c for c in cases if c.name == args.profile)
            case.graphql()
            prof = cProfile.Profile(time.process_time)  # CPU time: wall time on a loaded machine is mostly waiting
            prof.enable()
            for _ in range(10):
                case.graphql()
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
            print(out.getvalue())
        measure(cases, bench.cursor, args.runs, args.warmup)
        report(cases, args.runs)
        if args.experiments:
            experiments(bench, max(5, args.runs // 2))
    finally:
        bench.close()

    if not args.skip_http:
        baseline = dict(item.split("=", 1) for item in args.http_baseline_env) or None
        bench_http(built, now_ms, args.wrk_seconds, args.wrk_repeats, args.wrk_connections, baseline,
                   args.http_baseline_python)
    print(f"\nmismatches: {bench.mismatches}; total time {time.perf_counter() - started:.0f} s")
    print(f"reproduce: .venv/bin/python -m benchmarks.bench_api {' '.join(sys.argv[1:])}".rstrip())
    return 1 if bench.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
