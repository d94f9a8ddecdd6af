"""Ingest throughput: POST /v1/events (batches of 1,000 stats events, several
connections) against appending the same rows straight into the store, in the
same run; plus freshness (acknowledged -> visible in the derived tables).

    .venv/bin/python benchmarks/bench_ingest.py [--seconds 10] [--clients 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from benchmarks.common import ServerProcess, create_project, derivation_idle, percentile
from videoinsights.auth.tokens import issue_project_token
from videoinsights.ingest.batch import validate_events
from videoinsights.store.duckdb.store import DuckDBStore

BATCH = 1000


def stats_batch(worker: int, n: int, now: int) -> list[dict]:
    return [
        {"id": f"w{worker}-{n}-{i}", "type": "publisherStats", "sessionId": f"sess-{worker}-{n % 50}",
         "timestamp": now - 1000 * i, "streamId": f"stream-{worker}-{i % 20}", "videoBitrateKbps": 300.0 + i,
         "audioBitrateKbps": 40.0, "videoLatencyMs": 80.0 + i % 300, "audioLatencyMs": 60.0,
         "videoPacketLoss": 0.01, "audioPacketLoss": 0.0, "videoResolution": "1280x720", "hasVideo": True}
        for i in range(BATCH)
    ]


def bench_http(seconds: float, clients: int) -> tuple[float, list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        project = create_project(db)
        server = ServerProcess(db)
        pid, secret = str(project["projectId"]), project["apiSecret"]
        now = int(time.time() * 1000)
        bodies = [[orjson.dumps(stats_batch(w, n, now)) for n in range(400)] for w in range(clients)]
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

        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(w,)) for w in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        freshness = measure_freshness(server.url, pid, secret)
        server.stop()
        return sum(acked) / elapsed, latencies, freshness


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


def bench_direct(batches: int) -> float:
    """Baseline: the same validation + append, in-process, no HTTP, one batch per commit."""
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "direct.duckdb"))
        now = int(time.time() * 1000)
        raw = [stats_batch(0, n, now) for n in range(batches)]
        started = time.monotonic()
        for events in raw:
            batch = validate_events(events, "12345678", now, 0, now + 300_000)
            store.append_events([batch.columns])
        elapsed = time.monotonic() - started
        store.close()
        return batches * BATCH / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    direct = bench_direct(100)
    rate, latencies, freshness = bench_http(args.seconds, args.clients)
    print(f"direct append (validate + append, 1,000-row batches): {direct:,.0f} events/s")
    print(f"POST /v1/events ({args.clients} clients, 1,000-event batches): {rate:,.0f} events/s "
          f"({rate / direct:.2f}x direct)")
    print(f"request latency: p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms")
    print(f"freshness (ack -> derived), median of 5: {freshness:.0f} ms")


if __name__ == "__main__":
    main()
