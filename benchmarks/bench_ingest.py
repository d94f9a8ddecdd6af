"""Ingest throughput: POST /v1/events (batches of 1,000 stats events, several
connections) against appending the same rows straight into the store, in the
same run; plus freshness (acknowledged -> visible in the derived tables) and the
server's CPU time per 1,000 events (less sensitive than throughput to a busy machine).

    .venv/bin/python -m benchmarks.bench_ingest [--seconds 10] [--clients 8]
        [--baseline-python /work/main/.venv/bin/python]   # that checkout's server first, same bodies
        [--py-spy /tmp/ingest.txt]                         # py-spy the server (raw folded stacks)
        [--overlapping]                                    # the bodies of before 2026-12-02 15:00 (see stats_batch)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from benchmarks.common import ServerProcess, create_project, derivation_idle, percentile
from videoinsights.auth.tokens import issue_project_token
from videoinsights.ingest.fast import fast_validate
from videoinsights.store.duckdb.store import DuckDBStore

BATCH = 1000
SESSIONS = 50  # per client: its n-th body is for session n % SESSIONS
BODIES = 400  # per client
ROUND_MS = BATCH * 1000  # the time one body's samples span


def stats_batch(worker: int, n: int, now: int, overlapping: bool = False) -> list[dict]:
    """The n-th body of a client: 1,000 publisherStats of one of its sessions, 20 streams, one sample a second.

    A session's later bodies carry its streams' later samples, as a real client sends them (round n // SESSIONS
    is ROUND_MS after the one before). With `overlapping` (the bodies before 2026-12-02 15:00), every round
    re-sent the same timestamps for the same streams under new ids: each commit then re-linked its streams'
    quality samples (store/duckdb/quality.py, `_REDO` and `_SET_PREV`), a cost real traffic does not have."""
    shift = 0 if overlapping else (BODIES // SESSIONS - 1 - n // SESSIONS) * ROUND_MS
    return [
        {"id": f"w{worker}-{n}-{i}", "type": "publisherStats", "sessionId": f"sess-{worker}-{n % SESSIONS}",
         "timestamp": now - shift - 1000 * i, "streamId": f"stream-{worker}-{i % 20}", "videoBitrateKbps": 300.0 + i,
         "audioBitrateKbps": 40.0, "videoLatencyMs": 80.0 + i % 300, "audioLatencyMs": 60.0,
         "videoPacketLoss": 0.01, "audioPacketLoss": 0.0, "videoResolution": "1280x720", "hasVideo": True}
        for i in range(BATCH)
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of a process, by thread id."""
    out = {}
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def thread_names(pid: int) -> dict[int, str]:
    """Python thread names by thread id, from `py-spy dump` (threads it doesn't list are DuckDB's own)."""
    dump = subprocess.run([str(Path(sys.executable).parent / "py-spy"), "dump", "-p", str(pid)],
                          capture_output=True, text=True).stdout
    names = {}
    for line in dump.splitlines():
        if line.startswith("Thread "):
            tid, _, rest = line[len("Thread "):].partition(" ")
            names[int(tid)] = rest.partition('"')[2].rstrip('"')
    return names


def cpu_by_part(before: dict[int, float], after: dict[int, float], names: dict[int, str]) -> dict[str, float]:
    """Server CPU seconds split: the event loop (HTTP, auth, validation), the writer thread (appends),
    the derive thread, and the rest (DuckDB's own threads, executor threads)."""
    parts = {"event loop": 0.0, "writer": 0.0, "derive": 0.0, "other": 0.0}
    for tid, cpu in after.items():
        name = names.get(tid, "")
        part = {"MainThread": "event loop", "videoinsights-writer": "writer",
                "videoinsights-derive": "derive"}.get(name, "other")
        parts[part] += cpu - before.get(tid, 0.0)
    return parts


def bench_http(seconds: float, clients: int, python: str | None = None, py_spy: str | None = None,
               overlapping: bool = False) -> tuple[float, list[float], float, float, dict[str, float],
                                                   dict[str, float]]:
    """events/s acknowledged, request latencies (ms), freshness (ms), server CPU ms per 1,000 events, that
    CPU by part, and the server's commit and derivation counters at the end of the load."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        project = create_project(db)
        server = ServerProcess(db, python=python)
        pid, secret = str(project["projectId"]), project["apiSecret"]
        now = int(time.time() * 1000)
        bodies = [[orjson.dumps(stats_batch(w, n, now, overlapping)) for n in range(BODIES)] for w in range(clients)]
        latencies: list[float] = []
        acked = [0] * clients
        stop = time.monotonic() + seconds

        def run(worker: int) -> None:
            headers = {"X-OPENTOK-AUTH": issue_project_token(pid, secret, 3600), "Content-Type": "application/json"}
            with httpx.Client(timeout=30) as http:
                n = 0
                while time.monotonic() < stop and n < len(bodies[worker]):
                    started = time.perf_counter()
                    r = http.post(f"{server.url}/v1/events", content=bodies[worker][n], headers=headers)
                    latencies.append((time.perf_counter() - started) * 1000)
                    acked[worker] += r.json()["accepted"]
                    n += 1

        spy = None
        if py_spy:
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--threads", "-f", "raw",
                                    "-o", py_spy, "-d", str(int(seconds)), "-p", str(server.proc.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu0, threads0 = cpu_seconds(server.proc.pid), thread_cpu(server.proc.pid)
        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(w,)) for w in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        grouping = counters(server.url)
        cpu = cpu_seconds(server.proc.pid) - cpu0  # includes the derive thread's share, as a real server has
        parts = cpu_by_part(threads0, thread_cpu(server.proc.pid), thread_names(server.proc.pid))
        if spy:
            spy.wait()
        freshness = measure_freshness(server.url, pid, secret)
        server.stop()
        per_k = 1000 * 1000 / max(1, sum(acked))
        return (sum(acked) / elapsed, latencies, freshness, cpu * per_k, {k: v * per_k for k, v in parts.items()},
                grouping)


def counters(url: str) -> dict[str, float]:
    """The server's commit and derivation counters (/metrics), to say how the work was grouped."""
    wanted = {"videoinsights_commits_total": "commits", "videoinsights_sessions_derived_total": "derivations",
              "videoinsights_derive_seconds_total": "derive s"}
    values = {}
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            values[wanted[name]] = float(value)
    return values


def measure_freshness(url: str, pid: str, secret: str, rounds: int = 5) -> float:
    """Median ms from the 200 of a new session's events to the server reporting nothing left to derive."""
    headers = {"X-OPENTOK-AUTH": issue_project_token(pid, secret, 3600)}
    samples = []
    for r in range(rounds):
        now = int(time.time() * 1000)
        events = [{"id": f"fresh-{r}", "type": "connectionCreated", "sessionId": f"fresh-{r}",
                   "timestamp": now, "connectionId": f"fc-{r}"}]
        httpx.post(f"{url}/v1/events", json=events, headers=headers).raise_for_status()
        acked = time.perf_counter()
        while not derivation_idle(url):
            time.sleep(0.01)
        samples.append((time.perf_counter() - acked) * 1000)
    return statistics.median(samples)


def bench_direct(batches: int, overlapping: bool = False) -> float:
    """Baseline: the same decoding, validation and append, in-process, no HTTP, one batch per commit."""
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "direct.duckdb"))
        now = int(time.time() * 1000)
        raw = [orjson.dumps(stats_batch(0, n, now, overlapping)) for n in range(batches)]
        started = time.monotonic()
        for body in raw:
            batch = fast_validate(body, "12345678", now, 0, now + 300_000, BATCH)
            assert batch is not None
            store.append_events([batch.columns])
        elapsed = time.monotonic() - started
        store.close()
        return batches * BATCH / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--baseline-python", help="also run the HTTP part with this interpreter's checkout, first")
    parser.add_argument("--overlapping", action="store_true",
                        help="each session's rounds repeat the same sample timestamps (the bodies used before)")
    parser.add_argument("--py-spy", help="record the server (ours) with py-spy into this file (raw folded stacks)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    direct = bench_direct(100, args.overlapping)
    print(f"direct append (decode + validate + append, 1,000-row batches): {direct:,.0f} events/s")
    runs = [("baseline", args.baseline_python), ("ours", None)] if args.baseline_python else [("ours", None)]
    for label, python in runs:
        rate, latencies, freshness, cpu_ms, parts, grouping = bench_http(args.seconds, args.clients, python,
                                                               args.py_spy if python is None else None,
                                                               args.overlapping)
        print(f"[{label}] POST /v1/events ({args.clients} clients, 1,000-event batches): {rate:,.0f} events/s, "
              f"server CPU {cpu_ms:.0f} ms per 1,000 events; request p50 {statistics.median(latencies):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms; freshness (ack -> derived), median of 5: {freshness:.0f} ms; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"[{label}] server CPU ms per 1,000 events by thread: "
              + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
        print(f"[{label}] " + ", ".join(f"{k} {v:,.0f}" for k, v in grouping.items()))


if __name__ == "__main__":
    main()
