"""Sustained load: the real server under a steady `--rate` of simulated traffic for a fixed time,
and what a dashboard sees meanwhile.

For each rate, on a fresh copy of the same preloaded DuckDB file (a week of simulated history,
already derived, so reports have something to aggregate):

1. idle baseline (`--idle-seconds`, no load): `projectData` latency, freshness;
2. load: the simulator's events (the day from a day ago, where the history ends; 1% delivered late,
   0.5% twice) posted by `post_events(rate=, concurrency=)` for `--seconds`, while separate threads measure
   `projectData` latency (a DAILY report over the last 7 days grouped by SDK_TYPE, every 200 ms,
   with a new `end` each time so the response cache cannot answer it), freshness (every second a
   new session's `connectionCreated`; one `sessionData` query polls every 50 ms for all markers not
   yet visible: ack -> visible, markers not seen in 30 s count as 30 s; once a marker is seen, its session gets a
   second connection, a change to a live session, polled every 250 ms until sessionData shows it) and /metrics
   every second;
3. /metrics at the end of the load, then how long derivation needs to catch up (`--drain-timeout`).

Traffic density: by default the simulated platform has `--rate` events/s in steady state
(rate x 36 sessions/day at 2,400 events per session), so thousands of sessions are live at once
and each gets events every second or so, as in production; the run replays the first minutes of
that day. `--sessions-per-day 300` instead replays a small platform's whole day ~1,000x faster
(few live sessions, each receiving a lot): much less derivation work per event.

The events are generated before the server starts (the first rate's in a separate process while
the history loads), so the client spends CPU only on posting during the load.

    .venv/bin/python -m benchmarks.bench_load [--rate 5000 10000 20000] [--seconds 60]
        [--concurrency N] [--sessions-per-day N] [--env VIDEOINSIGHTS_X=Y]
        [--baseline-python /work/main/.venv/bin/python]
        [--py-spy OUT_PREFIX --py-spy-bin PATH --py-spy-at SECONDS --py-spy-seconds SECONDS]

Several rates run one after the other, each on its own server and copy of the database. With
`--baseline-python`, each rate runs first on a server started by that interpreter (another checkout,
e.g. main), then on ours, on the same traffic and copy of the history: the ratio is what to read on a
noisy machine. With `--pairs N` each rate runs N such pairs, the order alternated pair by pair (the server
that runs second tends to do better), and the ratios' geometric means are printed at the end. Every run prints
the load averages (`uptime`) before and after it, the CPU used by each process (server, its child processes, this
client), freshness p50/p95/p99 and the backlog over time.


Soak (`--soak SECONDS`, e.g. 3600): one server at a moderate `--soak-rate` (default 500 events/s,
generated while posting) for that long, with a dashboard's projectData every 2 s and the freshness
markers; the server's RSS, its database size and the machine's load average every `--soak-every`
seconds, then RSS at the start, end and peak and its trend (goal: flat). With `--baseline-python`
the soak runs on a server started by that interpreter instead (e.g. main's checkout, for a before/after).

    .venv/bin/python -m benchmarks.bench_load --soak 3600 [--soak-rate 500] [--soak-every 10]

Quality under live load: the same traffic on a server with quality and one without (setting quality_scoring), e.g.
`--env VIDEOINSIGHTS_QUALITY_SCORING=0 --baseline-python W` where W is a wrapper script that sets it to 1 before
running this venv's python (docs/benchmarks.md, "Quality on and off under live load").

Quality cost (`--quality-cost ROUNDS`): the preloaded history re-derived ROUNDS times with quality
scoring and issue detection (derive/quality.py) and as many times without, alternating, in this
process (no server; VIDEOINSIGHTS_DUCKDB_* apply), each round from a checkpointed file: the derive time
each way and the overhead, as the ratio of the medians and as the median of the rounds' own ratios
(docs/benchmarks.md; goal <= 15%).

    .venv/bin/python -m benchmarks.bench_load --quality-cost 15 [--history-days 7] [--history-sessions-per-day 20]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks import trace_report
from benchmarks.common import ServerProcess, copy_database, create_project, derivation_idle, percentile
from videoinsights.auth.tokens import issue_project_token
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.settings import load_settings
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.simulate.poster import PostStats, post_events
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.open import duckdb_options

DAY_MS = 86_400_000
PROBE_TIMEOUT_S = 30.0
# The live changes are polled this often, not at the markers' 50 ms: a server behind has ~30 of them outstanding, and
# a query of their meetings and connections every 50 ms took CPU from its derivation (1.1x the derivations a second
# for the server that kept up with them, docs/benchmarks.md)
LIVE_POLL_EVERY_S = 0.25
EVENTS_PER_SESSION = 2_400  # simulator default mix, docs/simulator.md
PROJECT_DATA = """
query Load($pid: IntOrString!, $start: Date!, $end: Date) {
  project(projectId: $pid) {
    projectData(start: $start, end: $end, interval: DAILY, groupBy: SDK_TYPE) {
      totalCount
      resources {
        intervalStart sdkType
        usage { streamedPublishedMinutes streamedSubscribedMinutes }
        quality { subscriber { latencyMsAvg videoBitrateKbpsAvg } publisher { latencyMsAvg } }
        errors { connect { attempts failures } subscribe { failureRate } }
      }
    }
  }
}"""
SESSION_DATA = """
query Fresh($pid: IntOrString!, $ids: [String]!) {
  project(projectId: $pid) { sessionData { sessions(sessionIds: $ids) { resources { sessionId } } } }
}"""
# A live marker's connections: its second one is the change looked for
LIVE_DATA = """
query Live($pid: IntOrString!, $ids: [String]!) {
  project(projectId: $pid) { sessionData { sessions(sessionIds: $ids) { resources {
    sessionId meetings { resources { connections { totalCount } } } } } } }
}"""


# -- helpers -------------------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def metrics(http: httpx.Client, url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in http.get(f"{url}/metrics").text.splitlines():
        if line.startswith("videoinsights_"):
            name, _, value = line.partition(" ")
            out[name.removeprefix("videoinsights_")] = float(value)
    return out


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of a process: this one, or `pid` (Linux /proc); NaN when unknown."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan


def child_pids(pid: int) -> list[int]:
    """The child processes of `pid` (derive workers, if the server starts any), from /proc."""
    out: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out.extend(int(c) for c in children.read_text().split())
    return sorted(set(out))


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them (the machine is shared)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def pct(values: list[float], p: float) -> float:
    return percentile(values, p) if values else math.nan


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"p50 {statistics.median(values):,.0f} ms, p95 {pct(values, 95):,.0f} ms, p99 {pct(values, 99):,.0f} ms, "
            f"max {max(values):,.0f} ms (n={len(values)})")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a"


# -- preload -------------------------------------------------------------------------------------


def replay_start() -> int:
    """Where the replayed traffic begins: a day ago (the simulator's day from there)."""
    return now_ms() - DAY_MS


def fill_template(path: Path, pid: str, days: int, sessions_per_day: int, seed: int,
                  until_ms: int | None = None) -> int:
    """`days` days of derived history for the project (the server is not running yet), up to `until_ms` (None: now).
    The load runs' history ends where their replayed day begins (`replay_start`): the traffic is then the newest
    data, as a live platform's is, at whatever hour the run starts. (Up to stop 46 it ran to the start of today in
    Los Angeles, past that point: a run started earlier in the LA day than the history's last session on its last
    day had stats samples older than the history's newest, absorbed as late ones: docs/benchmarks.md.)"""
    store = DuckDBStore(str(path))
    try:
        now = now_ms()
        until = now if until_ms is None else until_ms
        start = day_start_ms(la_day(now) - timedelta(days=days))
        events = (e for e in generate(pid, start, days, sessions_per_day, seed) if e["timestamp"] <= until)
        loaded = load_events(store, pid, events)
        derive_until_clean(store)
    finally:
        store.close()
    return loaded.accepted


# -- the samplers (each in its own thread, own HTTP connection) ------------------------------------


@dataclass
class Samples:
    project_data_ms: list[float] = field(default_factory=list)
    project_data_errors: int = 0
    freshness_ms: list[float] = field(default_factory=list)
    marker_post_ms: list[float] = field(default_factory=list)
    freshness_timeouts: int = 0
    # a live session's change (a marker's second connection, posted once the marker was seen): ack -> visible
    live_ms: list[float] = field(default_factory=list)
    live_timeouts: int = 0
    # per marker seen: session id, wall-clock times of its POST, ack, the poll that saw it (start) and its answer
    markers: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def session_resources(r: httpx.Response) -> list[dict[str, Any]]:
    """The sessions of a `sessionData { sessions { resources } }` answer (none where it has none)."""
    data = ((r.json().get("data") or {}).get("project") or {}).get("sessionData") or {}
    return (data.get("sessions") or {}).get("resources") or []


def expire(outstanding: dict[str, float], timeout: float) -> int:
    """Forget the markers acknowledged (perf_counter) over `timeout` s ago; how many."""
    now = time.perf_counter()
    late = [sid for sid, acked in outstanding.items() if now - acked > timeout]
    for sid in late:
        del outstanding[sid]
    return len(late)


class Samplers:
    """projectData every `pd_every` s, a freshness marker every second, /metrics every second."""

    def __init__(self, url: str, pid: str, secret: str, tag: str, pd_every: float = 0.2,
                 probe_timeout: float = PROBE_TIMEOUT_S, poll_every: float = 0.05) -> None:
        self.url, self.pid, self.tag = url, pid, tag
        self.token = issue_project_token(pid, secret, 3600)
        self.pd_every, self.probe_timeout, self.poll_every = pd_every, probe_timeout, poll_every
        self.samples = Samples()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=t, daemon=True, name=t.__name__)
                        for t in (self.project_data_loop, self.freshness_loop, self.poll_loop, self.metrics_loop)]
        self.lock = threading.Lock()
        self.outstanding: dict[str, float] = {}  # marker session id -> ack time (perf_counter)
        self.posted: dict[str, tuple[float, float]] = {}  # marker session id -> wall-clock POST and ack (--trace)
        self.markers_done = threading.Event()
        self.seen: list[str] = []  # markers seen, whose second connection is still to be posted (oldest first)
        self.live_outstanding: dict[str, float] = {}  # marker session id -> its second connection's ack time
        self.live_polled = 0.0  # perf_counter of the last live poll
        self.week_ago = now_ms() - 7 * DAY_MS
        self.last_end = 0

    def __enter__(self) -> Samplers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=self.probe_timeout + 10)

    def headers(self) -> dict[str, str]:
        return {"X-OPENTOK-AUTH": self.token, "Content-Type": "application/json"}

    def note(self, message: str) -> None:
        if len(self.samples.errors) < 10:
            self.samples.errors.append(message)

    def project_data_loop(self) -> None:
        with httpx.Client(timeout=60) as http:
            next_at = time.monotonic()
            while not self.stop.is_set():
                self.last_end = max(self.last_end + 1, now_ms())  # a new `end` each time: never a cache hit
                body = {"query": PROJECT_DATA,
                        "variables": {"pid": self.pid, "start": self.week_ago, "end": self.last_end}}
                started = time.perf_counter()
                try:
                    r = http.post(f"{self.url}/graphql", json=body, headers=self.headers())
                    took = (time.perf_counter() - started) * 1000
                    data = r.json()
                    if r.status_code != 200 or data.get("errors") or not data["data"]["project"]["projectData"]:
                        self.samples.project_data_errors += 1
                        self.note(f"projectData: {r.status_code} {r.text[:200]}")
                    else:
                        self.samples.project_data_ms.append(took)
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    self.samples.project_data_errors += 1
                    self.note(f"projectData: {exc!r}")
                next_at += self.pd_every
                self.stop.wait(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic() - self.pd_every)

    def freshness_loop(self) -> None:
        """A marker (a new session's connectionCreated) every second, and the second connection of the oldest marker
        seen and not yet given one (a change to a live session); `poll_loop` watches for both."""
        with httpx.Client(timeout=60) as http:
            n = 0
            next_at = time.monotonic()
            while not self.stop.is_set():
                sid = f"marker-{self.tag}-{n}"
                n += 1
                wall = time.time()
                posted = self.post_connection(http, sid, sid, f"{sid}-c", "marker post")
                if posted is not None:
                    started, acked = posted
                    self.samples.marker_post_ms.append((acked - started) * 1000)
                    with self.lock:
                        self.outstanding[sid] = acked
                        self.posted[sid] = (wall, wall + acked - started)
                self.post_live_change(http)
                next_at = max(next_at + 1.0, time.monotonic())
                self.stop.wait(max(0.0, next_at - time.monotonic()))
            self.markers_done.set()

    def post_connection(self, http: httpx.Client, sid: str, event_id: str, connection_id: str,
                        what: str) -> tuple[float, float] | None:
        """A connectionCreated of session `sid`, now: (perf_counter before the POST, at its ack) once accepted, None
        (noted as `what`) otherwise."""
        event = {"id": event_id, "type": "connectionCreated", "sessionId": sid, "timestamp": now_ms(),
                 "connectionId": connection_id, "sdkType": "JS", "browser": "CHROME", "country": "US"}
        try:
            started = time.perf_counter()
            r = http.post(f"{self.url}/v1/events", json=[event], headers=self.headers())
            acked = time.perf_counter()
            if r.status_code == 200 and r.json().get("accepted") == 1:
                return started, acked
            self.note(f"{what}: {r.status_code} {r.text[:200]}")
        except (httpx.HTTPError, ValueError) as exc:
            self.note(f"{what}: {exc!r}")
        return None

    def post_live_change(self, http: httpx.Client) -> None:
        """The second connection of the oldest marker seen and not yet given one."""
        with self.lock:
            sid = self.seen.pop(0) if self.seen else None
        if sid is None:
            return
        posted = self.post_connection(http, sid, f"{sid}-2", f"{sid}-c2", "live change post")
        if posted is not None:
            with self.lock:
                self.live_outstanding[sid] = posted[1]

    def poll_live(self, http: httpx.Client) -> None:
        """One sessionData query for the live changes not yet visible (those past `probe_timeout` counted as it), at
        most every LIVE_POLL_EVERY_S."""
        if time.perf_counter() - self.live_polled < LIVE_POLL_EVERY_S:
            return
        self.live_polled = time.perf_counter()
        with self.lock:
            self.samples.live_timeouts += expire(self.live_outstanding, self.probe_timeout)
            ids = list(self.live_outstanding)
        if not ids:
            return
        body = {"query": LIVE_DATA, "variables": {"pid": self.pid, "ids": ids}}
        try:
            r = http.post(f"{self.url}/graphql", json=body, headers=self.headers())
            seen_at = time.perf_counter()
            found = [x["sessionId"] for x in session_resources(r)
                     if sum(m["connections"]["totalCount"] for m in x["meetings"]["resources"]) >= 2]
        except (httpx.HTTPError, ValueError, AttributeError, KeyError, TypeError) as exc:
            self.note(f"live poll: {exc!r}")
            return
        with self.lock:
            for sid in found:
                acked = self.live_outstanding.pop(sid, None)
                if acked is not None:
                    self.samples.live_ms.append((seen_at - acked) * 1000)

    def poll_loop(self) -> None:
        """One sessionData query for every marker not yet visible, and one for the live changes not yet visible
        (`poll_live`), every `poll_every` s. After the stop it keeps polling the markers and changes still outstanding,
        each for at most `probe_timeout` s from its ack."""
        with httpx.Client(timeout=60) as http:
            while True:
                with self.lock:
                    self.samples.freshness_timeouts += expire(self.outstanding, self.probe_timeout)
                    ids = list(self.outstanding)
                    live = bool(self.live_outstanding)
                self.poll_live(http)
                if not ids:
                    if self.markers_done.is_set() and not live:
                        return
                    time.sleep(self.poll_every)
                    continue
                body = {"query": SESSION_DATA, "variables": {"pid": self.pid, "ids": ids}}
                poll_wall, poll_started = time.time(), time.perf_counter()
                try:
                    r = http.post(f"{self.url}/graphql", json=body, headers=self.headers())
                    seen_at = time.perf_counter()
                    found = [x["sessionId"] for x in session_resources(r)]
                except (httpx.HTTPError, ValueError, AttributeError, KeyError, TypeError) as exc:
                    self.note(f"freshness poll: {exc!r}")
                    found, seen_at = [], time.perf_counter()
                with self.lock:
                    for sid in found:
                        acked = self.outstanding.pop(sid, None)
                        if acked is not None:
                            self.samples.freshness_ms.append((seen_at - acked) * 1000)
                            self.seen.append(sid)
                            post, ack = self.posted.pop(sid, (0.0, 0.0))
                            self.samples.markers.append({"sid": sid, "post": post, "ack": ack, "poll": poll_wall,
                                                         "seen": poll_wall + seen_at - poll_started})
                time.sleep(self.poll_every)

    def metrics_loop(self) -> None:
        with httpx.Client(timeout=30) as http:
            started = time.monotonic()
            while not self.stop.is_set():
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    self.samples.metrics.append((time.monotonic() - started, metrics(http, self.url)))
                self.stop.wait(1.0)


# -- one rate ------------------------------------------------------------------------------------


@dataclass
class Result:
    rate: float
    seconds: float
    idle: Samples
    load: Samples
    post: PostStats
    offered: int  # events handed to the poster before the deadline
    sessions_per_day: int
    generate_s: float
    generated: int
    end_metrics: dict[str, float]
    drain_s: float | None
    pre_metrics: dict[str, float]
    cpu: tuple[float, float]  # cores used while loaded: server, benchmark process
    label: str = "ours"  # "ours" or "baseline" (--baseline-python)
    loadavg: tuple[str, str] = ("", "")  # /proc/loadavg before and after the run
    cpu_children: dict[int, float] = field(default_factory=dict)  # server child pid -> cores while loaded
    trace: str = ""  # the server's derive trace (--trace), for trace_report
    rss_peak: tuple[float, float] = (math.nan, math.nan)  # MiB while loaded: the server, its child processes


# A poster thread has one request in flight: it offers at most batch / latency events/s. By default there are
# enough of them to offer the rate while a request takes up to this long (20,000 events/s: 10 threads); with 4,
# requests of ~350 ms capped what was offered near 11,000 events/s (docs/benchmarks.md).
POST_LATENCY_S = 0.5
MIN_CONCURRENCY = 4


def concurrency_for(rate: float, batch_size: int, asked: int) -> int:
    """Concurrent requests of the poster: `asked`, or (0) enough to offer `rate` at POST_LATENCY_S each."""
    return asked or max(MIN_CONCURRENCY, math.ceil(rate * POST_LATENCY_S / batch_size))


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the replayed traffic (`replayed_traffic`), for this benchmark and those that study its traffic."""
    parser.add_argument("--sessions-per-day", type=int, default=0,
                        help="simulated sessions/day of the load window (default: enough for the run)")
    parser.add_argument("--late-fraction", type=float, default=0.01)
    parser.add_argument("--duplicate-fraction", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=7)


def replayed_traffic(args: argparse.Namespace, pid: str, rate: float,
                     start_ms: int) -> tuple[int, Iterator[dict[str, Any]]]:
    """The simulated sessions a day, and the events in the order they are posted: the simulator's day from `start_ms`
    at the density of `rate` (unless `--sessions-per-day`), delivered with late and duplicate events."""
    spd = args.sessions_per_day or math.ceil(rate * 86_400 / EVENTS_PER_SESSION)
    return spd, deliver(generate(pid, start_ms, 1, spd, args.seed), args.seed, args.late_fraction,
                        args.duplicate_fraction)


def pregenerate(args: argparse.Namespace, pid: str, rate: float, start_ms: int) -> tuple[list[bytes], int, float]:
    """The events of the run, generated before the server starts (so generating costs no CPU during the
    load), kept serialised (about 450 bytes each instead of 2.4 kB as dicts).

    The window is the day from `start_ms` (a day ago: `replay_start`); `--sessions-per-day` defaults to the
    density of a platform that emits `rate` events/s in steady state (2,400 events per session), so thousands of
    sessions are live at once, as on a real platform. The run replays the first minutes of that window (the
    platform warming up: young sessions, more lifecycle events and fewer stats than at steady state)."""
    need = math.ceil(rate * args.seconds) + 2 * args.batch_size
    started = time.monotonic()
    spd, stream = replayed_traffic(args, pid, rate, start_ms)
    # copied to their size: each bytes object orjson returns keeps ~4-7 kB of allocation behind it (orjson 3.13;
    # 1.2 million events held 8.4 GB, and a run of 5,000 10,000 20,000 events/s was killed for lack of memory)
    events = [bytes(memoryview(orjson.dumps(e))) for e in islice(stream, need)]
    took = time.monotonic() - started
    print(f"generated {len(events):,} events ({spd:,} simulated sessions/day) in {took:.1f} s", flush=True)
    return events, spd, took


def timed(events: Iterable[dict[str, Any]], seconds: float, counter: list[int]) -> Iterator[dict[str, Any]]:
    """The events handed out until the deadline (starting at the first one), then stop."""
    deadline = None
    for ev in events:
        now = time.monotonic()
        if deadline is None:
            deadline = now + seconds
        elif now >= deadline:
            return
        counter[0] += 1
        yield ev


def start_py_spy(binary: str, pid: int, out: str, duration: int) -> subprocess.Popen[bytes]:
    """py-spy on the server and its worker processes (the derivation's pure part runs there), thread by thread."""
    cmd = [binary, "record", "--threads", "--subprocesses", "-o", out, "-f", "raw", "-d", str(duration),
           "-p", str(pid)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_rate(args: argparse.Namespace, template: Path, pid: str, secret: str, rate: float, tmp: Path,
             traffic: tuple[list[bytes], int, float], python: str | None = None, pair: int = 0) -> Result:
    label = "baseline" if python else "ours"
    run = f"{int(rate)}" if pair == 0 else f"{int(rate)}-{pair + 1}"  # (--pairs: each pair's files apart)
    db = tmp / f"load-{run}-{label}.duckdb"
    copy_database(template, db)
    events, spd, gen_s = traffic
    load_before = loadavg()
    env = dict(kv.split("=", 1) for kv in args.env)
    trace = ""
    if args.trace and not python:  # main's code has no trace
        Path(args.trace).mkdir(parents=True, exist_ok=True)  # the server only appends to the file
        trace = str(Path(args.trace) / f"trace-{run}.jsonl")
        Path(trace).unlink(missing_ok=True)
        env["VIDEOINSIGHTS_DERIVE_TRACE_PATH"] = trace
    server = ServerProcess(db, env=env, python=python)
    try:
        with httpx.Client(timeout=30) as http:
            deadline = time.monotonic() + 120
            while not derivation_idle(server.url) and time.monotonic() < deadline:
                time.sleep(0.2)
            pre = metrics(http, server.url)
        print(f"\n== rate {rate:,.0f} events/s ({label}): server pid {server.proc.pid}, {server.url}", flush=True)

        print(f"idle baseline ({args.idle_seconds:.0f} s) ...", flush=True)
        with Samplers(server.url, pid, secret, f"idle{int(rate)}") as idle:
            time.sleep(args.idle_seconds)

        offered = [0]
        token = issue_project_token(pid, secret, 3600)
        spies: list[subprocess.Popen[bytes]] = []
        spy_at: threading.Timer | None = None
        concurrency = concurrency_for(rate, args.batch_size, args.concurrency)
        print(f"load: {rate:,.0f} events/s for {args.seconds:.0f} s, concurrency {concurrency}, "
              f"batches of {args.batch_size} ...", flush=True)
        cpu0, own0, wall0 = cpu_seconds(server.proc.pid), cpu_seconds(), time.monotonic()
        kids0 = {k: cpu_seconds(k) for k in child_pids(server.proc.pid)}
        with Samplers(server.url, pid, secret, f"load{int(rate)}") as load, PeakRss(server.proc.pid) as rss:
            if args.py_spy:
                at = min(10.0, args.seconds / 3) if args.py_spy_at is None else args.py_spy_at
                spy_for = min(20.0, args.seconds / 2) if args.py_spy_seconds is None else args.py_spy_seconds
                spy_at = threading.Timer(at, lambda: spies.append(
                    start_py_spy(args.py_spy_bin, server.proc.pid, f"{args.py_spy}-{int(rate)}-{label}.txt",
                                 int(spy_for))))
                spy_at.start()
            post = post_events(server.url, lambda: token, timed(map(orjson.loads, events), args.seconds, offered),
                               batch_size=args.batch_size, concurrency=concurrency, rate=rate,
                               progress=sys.stderr if args.progress else None)
            load.stop.set()  # no new markers or projectData samples; markers in flight are still watched
            wall = time.monotonic() - wall0
            cpu = ((cpu_seconds(server.proc.pid) - cpu0) / wall, (cpu_seconds() - own0) / wall)
            kids = {k: (cpu_seconds(k) - kids0.get(k, 0.0)) / wall for k in child_pids(server.proc.pid)}
            with httpx.Client(timeout=30) as http:
                end = metrics(http, server.url)
                started = time.monotonic()
                drain_s: float | None = None
                while time.monotonic() - started < args.drain_timeout:
                    if derivation_idle(server.url):
                        drain_s = time.monotonic() - started
                        break
                    time.sleep(0.1)
        if spy_at is not None:
            spy_at.cancel()
            for spy in spies:
                spy.wait(timeout=60)
        if args.trace:  # the baseline's markers too (its server writes no trace, and may not make the directory)
            Path(args.trace).mkdir(parents=True, exist_ok=True)
            Path(args.trace, f"markers-{run}-{label}.jsonl").write_bytes(
                b"".join(orjson.dumps(m) + b"\n" for m in load.samples.markers))
        return Result(rate, args.seconds, idle.samples, load.samples, post, offered[0], spd, gen_s, len(events),
                      end, drain_s, pre, cpu, label, (load_before, loadavg()), kids, trace, rss.peak)
    finally:
        stop_server(server)


class PeakRss:
    """The highest RSS of a process, and of its children together, sampled every second on a thread of its own."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, (0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss")

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            own, kids = rss_mib(self.pid), sum(rss_mib(k) for k in child_pids(self.pid))
            self.peak = (max(self.peak[0], own), max(self.peak[1], kids))  # (NaN: a process gone, ignored)
            if self._stop.wait(1.0):
                return


def stop_server(server: ServerProcess) -> None:
    """SIGTERM, then SIGKILL after a few seconds: a graceful stop derives the whole backlog first, which
    this benchmark has no use for (its database is thrown away)."""
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=30)


# -- report --------------------------------------------------------------------------------------


def writer_share(samples: list[tuple[float, dict[str, float]]]) -> tuple[float, float]:
    """Share of wall time the writer spent deriving, and sessions derived per second, over the samples."""
    if len(samples) < 2:
        return math.nan, math.nan
    (t0, a), (t1, b) = samples[0], samples[-1]
    span = t1 - t0
    return ((b["derive_seconds_total"] - a["derive_seconds_total"]) / span,
            (b["sessions_derived_total"] - a["sessions_derived_total"]) / span)


def server_rate(samples: list[tuple[float, dict[str, float]]]) -> list[float]:
    """Events committed per second, one value per metrics interval."""
    out = []
    for (t0, a), (t1, b) in pairwise(samples):
        if t1 > t0:
            out.append((b["events_inserted_total"] + b["events_duplicate_total"]
                        - a["events_inserted_total"] - a["events_duplicate_total"]) / (t1 - t0))
    return out


def derive_lags(s: Samples) -> list[float]:
    """The server's derive lag in seconds at each /metrics sample (servers before it existed: none)."""
    return [m["derive_lag_seconds"] for _, m in s.metrics if "derive_lag_seconds" in m]


def with_timeouts(ms: list[float], timeouts: int) -> list[float]:
    """Latencies, the ones never seen counted at the timeout (so percentiles are lower bounds)."""
    return ms + [PROBE_TIMEOUT_S * 1000] * timeouts


def freshness(s: Samples) -> list[float]:
    """New sessions' (markers') latencies."""
    return with_timeouts(s.freshness_ms, s.freshness_timeouts)


def live_freshness(s: Samples) -> list[float]:
    """Live changes' latencies."""
    return with_timeouts(s.live_ms, s.live_timeouts)


def report(r: Result) -> None:
    p = r.post
    ack_rate = p.acknowledged / p.elapsed_s if p.elapsed_s else math.nan
    offered_rate = r.offered / r.seconds
    print(f"\n--- {r.rate:,.0f} events/s target, {r.seconds:.0f} s, {r.label} ---")
    print(f"load averages (1/5/15 min): before {r.loadavg[0]}, after {r.loadavg[1]}")
    print(f"traffic: {r.generated:,} events generated beforehand in {r.generate_s:.0f} s "
          f"({r.sessions_per_day:,} simulated sessions/day)")
    print(f"offered (handed to the poster in {r.seconds:.0f} s): {r.offered:,} events = {offered_rate:,.0f} events/s "
          f"({offered_rate / r.rate:.0%} of target)")
    if offered_rate < 0.95 * r.rate:
        print(f"  the poster fell short of the target, not (only) the server: each of its threads waits for its "
              f"request (p50 {p.latency_ms(0.5) or 0:,.0f} ms); more --concurrency offers more")
    print(f"acknowledged: {p.acknowledged:,} events in {p.elapsed_s:.1f} s = {ack_rate:,.0f} events/s "
          f"({ack_rate / r.rate:.0%} of target); {p.duplicates:,} duplicates, {p.rejected:,} rejected, "
          f"{p.retried:,} retried, {p.failed:,} failed")
    per_s = server_rate(r.load.metrics)
    if per_s:
        print(f"server commits per second while loaded: median {statistics.median(per_s):,.0f}, "
              f"min {min(per_s):,.0f}, max {max(per_s):,.0f}")
    lat = p.latencies_ms
    print(f"ingest request latency ({p.requests:,} requests of {r.offered and p.sent / max(1, len(lat)):,.0f} "
          f"events): p50 {statistics.median(lat) if lat else math.nan:,.0f} ms, p99 {pct(lat, 99):,.0f} ms")
    il, ll = r.idle, r.load
    print(f"marker POST (1 event): idle {fmt_ms(il.marker_post_ms)}; loaded {fmt_ms(ll.marker_post_ms)}")
    print(f"freshness ack -> visible: idle {fmt_ms(freshness(il))}")
    print(f"                        loaded {fmt_ms(freshness(ll))}"
          + (f" ({ll.freshness_timeouts} markers not visible within 30 s, counted as 30 s; "
             f"the ones seen: {fmt_ms(ll.freshness_ms)})" if ll.freshness_timeouts else ""))
    print(f"live change (a marker's second connection) ack -> visible in sessionData: loaded "
          f"{fmt_ms(live_freshness(ll))}" + (f" ({ll.live_timeouts} not visible within 30 s, counted as 30 s)"
                                             if ll.live_timeouts else ""))
    if r.trace and Path(r.trace).exists():
        trace_report.report(trace_report.read_jsonl(r.trace), ll.markers)
    idle_pd, load_pd = il.project_data_ms, ll.project_data_ms
    print(f"projectData (DAILY, 7 d, by SDK_TYPE, uncached): idle {fmt_ms(idle_pd)}")
    print(f"                                               loaded {fmt_ms(load_pd)}"
          + (f", {ll.project_data_errors} errors" if ll.project_data_errors else ""))
    if idle_pd and load_pd:
        print(f"projectData loaded / idle: p50 {ratio(statistics.median(load_pd), statistics.median(idle_pd))}, "
              f"p99 {ratio(pct(load_pd, 99), pct(idle_pd, 99))}")
    kids = "".join(f", server child {k} {v:.2f}" for k, v in sorted(r.cpu_children.items()))
    print(f"CPU while loaded: server {r.cpu[0]:.2f} cores{kids}, benchmark client {r.cpu[1]:.2f} cores "
          f"(of {os.cpu_count()})")
    print(f"peak RSS while loaded (sampled every second): server {r.rss_peak[0]:,.0f} MiB, "
          f"its child processes {r.rss_peak[1]:,.0f} MiB")
    share, derived = writer_share(ll.metrics)
    # main: the writer thread's time spent deriving; since issue 9: the derive thread's busy time
    print(f"deriving {share:.0%} of wall time while loaded, {derived:,.0f} session derivations/s")
    lags = derive_lags(ll)
    if lags:
        print(f"derive lag (age of the oldest acknowledged event not yet derived, every second while loaded): "
              f"p50 {statistics.median(lags):.1f} s, p95 {pct(lags, 95):.1f} s, max {max(lags):.1f} s")
    if ll.metrics:
        # the dirty sessions are the live ones (each dirty again within a second of its derivation): the derive lag
        # (the oldest underived event's age) is what tells a backlog that keeps up from one that falls behind
        print("backlog while loaded (s: dirty sessions / undigested commits / derive lag s): " + ", ".join(
            f"{t:.0f}: {m['dirty_sessions']:,.0f}/{m['undigested_commits']:,.0f}/{m.get('derive_lag_seconds', 0):.1f}"
            for t, m in ll.metrics[::5]))
    e = r.end_metrics
    pre = r.pre_metrics
    print(f"/metrics at the end of the load: dirty_sessions {e['dirty_sessions']:,.0f}, "
          f"undigested_commits {e['undigested_commits']:,.0f}, "
          f"commits {e['commits_total'] - pre['commits_total']:,.0f}, "
          f"events inserted {e['events_inserted_total'] - pre['events_inserted_total']:,.0f}, "
          f"session derivations {e['sessions_derived_total'] - pre['sessions_derived_total']:,.0f} "
          f"(quality kept in {e.get('quality_kept_total', 0) - pre.get('quality_kept_total', 0):,.0f})")
    print("backlog drained (derivation idle) " + (f"{r.drain_s:.1f} s after the load" if r.drain_s is not None
                                                  else "not within the drain timeout"))
    for msg in (p.errors + ll.errors)[:5]:
        print(f"  note: {msg}")


def summary(results: list[Result]) -> None:
    print("\n| server | target events/s | acknowledged | ingest p50 / p99 ms | freshness p50 / p95 / p99 / max ms "
          "(idle p50) | live change p50 / p99 ms | derive lag p95 / max s | max backlog | server CPU cores "
          "| projectData idle -> loaded p50 (p99) ms | drained after | load avg before / after |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        p, ll, il = r.post, r.load, r.idle
        lat = p.latencies_ms
        f = freshness(ll)
        fi = freshness(il)
        lf = live_freshness(ll)
        backlog = max((m["dirty_sessions"] for _, m in ll.metrics), default=math.nan)
        cpu = r.cpu[0] + sum(r.cpu_children.values())
        drained = f"{r.drain_s:.1f} s" if r.drain_s is not None else "not drained"
        lags = derive_lags(ll)
        lag = f"{pct(lags, 95):.1f} / {max(lags):.1f}" if lags else "n/a"
        print(f"| {r.label} | {r.rate:,.0f} | {p.acknowledged / p.elapsed_s:,.0f} "
              f"| {statistics.median(lat) if lat else math.nan:,.0f} / {pct(lat, 99):,.0f} "
              f"| {statistics.median(f) if f else math.nan:,.0f} / {pct(f, 95):,.0f} / {pct(f, 99):,.0f} "
              f"/ {max(f, default=math.nan):,.0f} ({statistics.median(fi) if fi else math.nan:,.0f}) "
              f"| {statistics.median(lf) if lf else math.nan:,.0f} / {pct(lf, 99):,.0f} "
              f"| {lag} | {backlog:,.0f} | {cpu:.2f} "
              f"| {statistics.median(il.project_data_ms) if il.project_data_ms else math.nan:,.0f} "
              f"({pct(il.project_data_ms, 99):,.0f}) -> "
              f"{statistics.median(ll.project_data_ms) if ll.project_data_ms else math.nan:,.0f} "
              f"({pct(ll.project_data_ms, 99):,.0f}) "
              f"| {drained} "
              f"| {r.loadavg[0]} / {r.loadavg[1]} |")


def pair_ratios(results: list[Result]) -> None:
    """Ours / baseline per pair (`--pairs`, the order alternated) and their geometric mean, per rate: what a noisy
    machine lets one read."""
    measures: dict[str, Callable[[Result], float]] = {
        "derivations/s": lambda r: writer_share(r.load.metrics)[1],
        "freshness p99 ms": lambda r: pct(freshness(r.load), 99),
        "live change p99 ms": lambda r: pct(live_freshness(r.load), 99),
        "derive lag p95 s": lambda r: pct(derive_lags(r.load), 95),  # (nan without lags)
        "acknowledged/s": lambda r: r.post.acknowledged / r.post.elapsed_s,
    }
    print("\n| target events/s | pair (first) | " + " | ".join(f"{m}: baseline / ours" for m in measures) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in measures) + " |")
    for rate in dict.fromkeys(r.rate for r in results):
        runs = [r for r in results if r.rate == rate]
        pairs = [runs[i:i + 2] for i in range(0, len(runs) - 1, 2)]
        logs: dict[str, list[float]] = {m: [] for m in measures}
        for n, (a, b) in enumerate(pairs):
            base, ours = (a, b) if a.label == "baseline" else (b, a)
            cells = []
            for m, get in measures.items():
                x, y = get(base), get(ours)
                cells.append(f"{x:,.1f} / {y:,.1f}")
                if x > 0 and y > 0:
                    logs[m].append(math.log(y / x))
            print(f"| {rate:,.0f} | {n + 1} ({a.label}) | " + " | ".join(cells) + " |")
        means = [f"{math.exp(statistics.fmean(v)):.2f}x" if v else "n/a" for v in logs.values()]
        print(f"| {rate:,.0f} | ours / baseline, geometric mean of {len(pairs)} | " + " | ".join(means) + " |")


# -- soak ----------------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB (Linux /proc); NaN when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return math.nan


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return math.nan
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / var * 3600 if var else math.nan


class SoakSamplers(Samplers):
    """The load run's samplers with a token renewed every few minutes (a soak outlives any one token)."""

    def __init__(self, url: str, pid: str, secret: str, tag: str, **kwargs: Any) -> None:
        super().__init__(url, pid, secret, tag, **kwargs)
        self.secret, self.issued = secret, time.monotonic()

    def headers(self) -> dict[str, str]:
        if time.monotonic() - self.issued > 300:
            self.issued = time.monotonic()
            self.token = issue_project_token(self.pid, self.secret, 900)
        return super().headers()


def run_soak(args: argparse.Namespace) -> None:
    """Moderate steady ingestion for `--soak` seconds, reporting the server's memory over time."""
    started = time.monotonic()
    rate = args.soak_rate
    with tempfile.TemporaryDirectory() as tmpdir:
        db = Path(tmpdir) / "soak.duckdb"
        project = create_project(db)
        pid, secret = str(project["projectId"]), project["apiSecret"]
        start_ms = replay_start()
        loaded = fill_template(db, pid, args.history_days, args.history_sessions_per_day, 1, until_ms=start_ms)
        print(f"preloaded {loaded:,} events in {time.monotonic() - started:.1f} s", flush=True)
        spd, stream = replayed_traffic(args, pid, rate, start_ms)
        server = ServerProcess(db, env=dict(kv.split("=", 1) for kv in args.env), python=args.baseline_python)
        points: list[tuple[float, float]] = []  # (seconds into the soak, RSS MiB of the server and its workers)
        server_points: list[tuple[float, float]] = []  # (seconds into the soak, RSS MiB of the server alone)
        stop = threading.Event()
        sent = [0]

        def sample() -> None:
            t0 = time.monotonic()
            while True:
                t = time.monotonic() - t0
                own = rss_mib(server.proc.pid)
                workers = sum(rss_mib(k) for k in child_pids(server.proc.pid))  # derive_processes
                rss = own + workers
                points.append((t, rss))
                server_points.append((t, own))
                if len(points) == 1 or int(t) // 60 != int(points[-2][0]) // 60:
                    size = sum(f.stat().st_size for f in db.parent.glob("soak.duckdb*")) / 2**20
                    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                    print(f"t={t:6.0f} s  RSS server {own:7.1f} + workers {workers:6.1f} MiB  "
                          f"database {size:7.1f} MiB  "
                          f"events sent {sent[0]:>10,}  load average {load}", flush=True)
                if stop.wait(args.soak_every):
                    return

        label = f"baseline {args.baseline_python}" if args.baseline_python else "ours"
        print(f"\n== soak ({label}): {rate:,.0f} events/s for {args.soak:,.0f} s ({spd:,} simulated sessions/day), "
              f"server pid {server.proc.pid}; uptime: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        sampler = threading.Thread(target=sample, daemon=True)
        try:
            with SoakSamplers(server.url, pid, secret, "soak", pd_every=2.0) as soak:
                sampler.start()

                def counted(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
                    for ev in events:
                        sent[0] += 1
                        yield ev

                post = post_events(server.url, lambda: issue_project_token(pid, secret, 300),
                                   counted(timed(stream, args.soak, [0])), batch_size=args.batch_size,
                                   concurrency=concurrency_for(rate, args.batch_size, args.concurrency), rate=rate,
                                   progress=None)
                soak.stop.set()
            stop.set()
            sampler.join()
        finally:
            stop_server(server)
    warm = [(t, v) for t, v in points if t >= 60] or points
    second_half = [(t, v) for t, v in points if t >= points[-1][0] / 2]
    rss = [v for _, v in warm]
    print(f"\n--- soak: {args.soak:,.0f} s at {rate:,.0f} events/s ---")
    print(f"acknowledged {post.acknowledged:,} events ({post.acknowledged / post.elapsed_s:,.0f}/s), "
          f"{post.failed:,} failed, {post.rejected:,} rejected")
    print(f"RSS of the server and its workers after 1 min {warm[0][1]:,.1f} MiB, at the end {warm[-1][1]:,.1f} MiB, "
          f"min {min(rss):,.1f}, max {max(rss):,.1f}; trend over the second half "
          f"{slope_per_hour(second_half):+,.1f} MiB/hour (the server alone: "
          f"{slope_per_hour([p for p in server_points if p[0] >= points[-1][0] / 2]):+,.1f} MiB/hour)")
    print("RSS every minute (server + workers, MiB): "
          + " ".join(f"{v:.0f}" for t, v in points if int(t) // 60 != int(t - args.soak_every) // 60))
    s = soak.samples
    print(f"projectData every 2 s: {fmt_ms(s.project_data_ms)}, {s.project_data_errors} errors")
    print(f"freshness ack -> visible: {fmt_ms(freshness(s))}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    for msg in (post.errors + s.errors)[:5]:
        print(f"  note: {msg}")
    print(f"\n.venv/bin/python -m benchmarks.bench_load {' '.join(sys.argv[1:])}  "
          f"({time.monotonic() - started:.0f} s in all)")


def run_quality_cost(args: argparse.Namespace) -> None:
    """Re-derive the same history with and without quality, alternating (docs/benchmarks.md)."""
    with tempfile.TemporaryDirectory() as tmpdir:
        template = derived_history(Path(tmpdir), args.history_days, args.history_sessions_per_day)
        store = DuckDBStore(str(template), **duckdb_options(load_settings()))  # as a server would open it
        times: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, list[float]] = {True: [], False: []}  # this process's CPU time, DuckDB's threads included
        try:
            for _ in range(args.quality_cost):
                for scoring in (False, True):
                    undo_derivation(store)
                    started, started_cpu = time.perf_counter(), time.process_time()
                    sessions = derive_until_clean(store, scoring=scoring)
                    times[scoring].append(time.perf_counter() - started)
                    cpu[scoring].append(time.process_time() - started_cpu)
            report_quality_cost(sessions, times, cpu)
        finally:
            store.close()


def derived_history(tmpdir: Path, days: int, sessions_per_day: int) -> Path:
    """`days` of derived history of one project in tmpdir/template.duckdb (the quality cost is measured on it;
    bench_derived_scans and bench_step_inputs grow it)."""
    template = tmpdir / "template.duckdb"
    pid = str(create_project(template)["projectId"])
    loaded = fill_template(template, pid, days, sessions_per_day, 1)
    print(f"preloaded {loaded:,} events ({days} days x {sessions_per_day} sessions/day)", flush=True)
    return template


def undo_derivation(store: DuckDBStore) -> None:
    """Every session dirty again and no derived row, checkpointed: each round derives from the same file (as the
    server's timer keeps it). Also re-scores every sample and finds its runs of offending samples (absorb's work,
    not part of what a round measures)."""
    store.clear_derived()
    store.mark_all_dirty()
    store.checkpoint()


def report_quality_cost(sessions: int, times: dict[bool, list[float]], cpu: dict[bool, list[float]]) -> None:
    """Medians of each mode, and the median of the rounds' own ratios: a round's two derivations run back to
    back, so its ratio is not moved by what the machine did minutes apart (the figure to read)."""
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    cpu_without, cpu_with = statistics.median(cpu[False]), statistics.median(cpu[True])
    paired = sorted(w / wo - 1 for wo, w in zip(cpu[False], cpu[True], strict=True))
    print(f"{sessions} sessions; derive without quality: {fmt_s(times[False])}, median {without:.2f} s")
    print(f"derive with quality: {fmt_s(times[True])}, median {with_:.2f} s; overhead {with_ / without - 1:+.1%}")
    print(f"CPU time without quality: {fmt_s(cpu[False])}, median {cpu_without:.2f} s; with: {fmt_s(cpu[True])}, "
          f"median {cpu_with:.2f} s; overhead {cpu_with / cpu_without - 1:+.1%}")
    quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
    print(f"CPU overhead round by round: median {statistics.median(paired):+.1%} (quartiles {quartiles[0]:+.1%} "
          f"{quartiles[2]:+.1%}, {len(paired)} rounds)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)",
          flush=True)


def fmt_s(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, nargs="+", default=[10_000], help="events/s; several = several runs")
    parser.add_argument("--seconds", type=float, default=60, help="load duration per rate")
    parser.add_argument("--concurrency", type=int, default=0,
                        help="concurrent requests of the poster (default: enough to offer the rate at 0.5 s each, "
                             "at least 4)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=10, help="baseline before the load")
    parser.add_argument("--drain-timeout", type=float, default=30, help="max wait for derivation after the load")
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--history-sessions-per-day", type=int, default=20)
    add_traffic_arguments(parser)
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="server setting, e.g. VIDEOINSIGHTS_DERIVE_BATCH_SESSIONS=50 (repeatable)")
    parser.add_argument("--baseline-python", metavar="PATH",
                        help="also run each rate on a server started by this interpreter (e.g. main's .venv)")
    parser.add_argument("--pairs", type=int, default=1,
                        help="with --baseline-python: this many pairs per rate, the order alternated (the second "
                             "server of a pair tends to do better), then the ratios' geometric means")
    parser.add_argument("--progress", action="store_true", help="the poster's progress line on stderr")
    parser.add_argument("--trace", metavar="DIR",
                        help="trace our server's derive steps and the markers into DIR and print where the slow "
                             "markers' seconds went (benchmarks/trace_report.py)")
    parser.add_argument("--py-spy", metavar="OUT_PREFIX", help="profile the server mid-load (raw folded stacks)")
    parser.add_argument("--py-spy-bin", default=shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"),
                        help="py-spy (default: on PATH, else beside this interpreter, as in the repository's venv)")
    parser.add_argument("--py-spy-at", type=float, metavar="SECONDS",
                        help="start profiling this long into the load (default: min(10, a third of it))")
    parser.add_argument("--py-spy-seconds", type=float, metavar="SECONDS",
                        help="profile this long (default: min(20, half the load))")
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="soak mode: one long run reporting memory")
    parser.add_argument("--soak-rate", type=float, default=500, help="events/s of the soak (default 500)")
    parser.add_argument("--soak-every", type=float, default=10, help="seconds between the soak's RSS samples")
    parser.add_argument("--quality-cost", type=int, metavar="ROUNDS",
                        help="derive the history with and without quality scoring, ROUNDS times each")
    args = parser.parse_args()
    if args.quality_cost:
        run_quality_cost(args)
        return
    if args.soak:
        run_soak(args)
        return
    if any("=" not in kv for kv in args.env):
        parser.error("--env takes VAR=VALUE")
    if args.py_spy and not shutil.which(args.py_spy_bin):
        parser.error(f"py-spy not found ({args.py_spy_bin}); pass --py-spy-bin PATH")

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        template = tmp / "template.duckdb"
        project = create_project(template)
        pid, secret = str(project["projectId"]), project["apiSecret"]
        # the first rate's traffic is generated in another process while the history loads (2 cores);
        # later ones only between runs, never while a server is measured
        pool = ProcessPoolExecutor(max_workers=1)
        start_ms = replay_start()
        first = pool.submit(pregenerate, args, pid, args.rate[0], start_ms)
        loaded = fill_template(template, pid, args.history_days, args.history_sessions_per_day, 1, until_ms=start_ms)
        print(f"preloaded {loaded:,} events ({args.history_days} days x {args.history_sessions_per_day} sessions/day), "
              f"derived, in {time.monotonic() - started:.1f} s", flush=True)
        traffic = first.result()
        pool.shutdown()
        results = []
        for i, rate in enumerate(args.rate):
            if i:
                traffic = pregenerate(args, pid, rate, start_ms)
            for pair in range(args.pairs if args.baseline_python else 1):
                # (the order alternates pair by pair: the server that runs second tends to do better)
                pythons = [args.baseline_python, None] if pair % 2 == 0 else [None, args.baseline_python]
                for python in pythons if args.baseline_python else [None]:
                    results.append(run_rate(args, template, pid, secret, rate, tmp, traffic, python, pair))
    for r in results:
        report(r)
    summary(results)
    if args.baseline_python and args.pairs > 1:
        pair_ratios(results)
    print(f"\n.venv/bin/python -m benchmarks.bench_load {' '.join(sys.argv[1:])}  "
          f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
