"""Derivation split between `videoinsights derive --shard K/N --once` processes on one ClickHouse store,
for each N of `--shards`: the same sessions derived from scratch each round (a rebuild's clear and mark
between rounds), timed from the processes' start to their exit.

ClickHouse here is chdb behind the test HTTP front (tests/support/ch_http.py), which executes one
request at a time: the engine's share of the work cannot run in parallel, only the derive processes'
own (Python) share can. So besides the wall-clock rate, the CPU of the derive processes and of the
front (the engine) are given per session: what a ClickHouse server would take on its own cores. A
round with nothing dirty measures a process's fixed cost (start-up, imports), subtracted.

    .venv/bin/python -m benchmarks.bench_derive_shards [--events 30000] [--shards 1 2 1]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import httpx

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, cpu_seconds, loadavg, now_ms
from tests.conftest import free_port
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.base import Project
from videoinsights.store.open import open_store

PROJECT = "12345678"


def _front(directory: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.ch_http", str(directory), str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the ClickHouse test front did not start"
            time.sleep(0.2)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _round(url: str, shards: int, front_pid: int) -> tuple[float, float, float]:
    """(wall s, derive processes' CPU s, front CPU s) of `shards` processes deriving until clean."""
    env = {**os.environ, "VIDEOINSIGHTS_STORE": url}
    cpu0, front0, t0 = _children_cpu(), cpu_seconds(front_pid), time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "videoinsights", "derive", "--once", "--shard", f"{k}/{shards}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in range(shards)]
    codes = [p.wait() for p in procs]
    assert codes == [0] * shards, codes
    return time.monotonic() - t0, _children_cpu() - cpu0, cpu_seconds(front_pid) - front0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--rate", type=float, default=10_000, help="density of bench_load's traffic at this rate")
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 1])
    args = parser.parse_args()
    spd = round(args.rate * 86_400 / EVENTS_PER_SESSION)
    now = now_ms()
    with tempfile.TemporaryDirectory() as tmp:
        front, port = _front(Path(tmp) / "chdb", Path(tmp) / "front.log")
        try:
            url = f"clickhouse://default@127.0.0.1:{port}/shards"
            store = open_store(url)
            store.insert_project(Project(PROJECT, "project", "bench", "s" * 40, None, "cb", True, 0))
            events = (e for e in islice(generate(PROJECT, now - DAY_MS, 1, spd, 7), args.events)
                      if e["timestamp"] <= now)
            loaded = load_events(store, PROJECT, events, batch_size=5000)
            sessions = store.dirty_session_count()
            print(f"{loaded.accepted:,} events, {sessions:,} sessions; load average {loadavg()}", flush=True)
            idle = {}
            print("| derive processes | wall s | sessions/s (wall) | derive processes CPU ms / session | "
                  "front (engine) CPU ms / session | load average |")
            print("| --- | --- | --- | --- | --- | --- |")
            for i, shards in enumerate(args.shards):
                if i:
                    store.clear_derived()
                    store.mark_all_dirty()
                wall, cpu, front_cpu = _round(url, shards, front.pid)
                if shards not in idle:  # each process's fixed cost: the same processes with nothing dirty
                    idle[shards] = _round(url, shards, front.pid)
                cpu_net, front_net = cpu - idle[shards][1], front_cpu - idle[shards][2]
                print(f"| {shards} | {wall:.1f} | {sessions / wall:,.1f} | {cpu_net * 1000 / sessions:.2f} | "
                      f"{front_net * 1000 / sessions:.2f} | {loadavg()} |", flush=True)
            print(f"fixed cost of a process with nothing to derive (wall s, CPU s): "
                  f"{ {k: (round(v[0], 1), round(v[1], 2)) for k, v in idle.items()} }")
            store.close()
        finally:
            front.terminate()
            front.wait(30)


if __name__ == "__main__":
    main()
