"""Derivation recovers when its worker processes die, against a real server: a killed worker breaks the
pool, the cycle fails (nothing of it written, its sessions stay dirty), a new pool is started and the
sessions are derived. While cycles keep failing the loop backs off instead of re-picking the same sessions
at once, and every failure is logged and counted at /metrics."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import ProjectCreds, Server, create_project, metric_values

FAILURES = "videoinsights_derive_cycle_failures_total"
RESTARTS = "videoinsights_derive_pool_restarts_total"


def workers(server: Server) -> list[int]:
    """The server's derive worker processes (multiprocessing `spawn` children, not its resource tracker)."""
    assert server.proc is not None
    out = []
    for children in Path(f"/proc/{server.proc.pid}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    out.append(int(pid))
            except OSError:
                pass  # it just exited
    return out


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # it just exited
            os.kill(pid, signal.SIGKILL)


def connect(creds: ProjectCreds, server: Server, session: str, n: int = 1) -> None:
    event = {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session,
             "timestamp": int(time.time() * 1000) - 60_000, "connectionId": f"c{n}"}
    r = httpx.post(f"{server.url}/v1/events", json=[event], headers=creds.headers())
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def derived_sessions(server: Server, creds: ProjectCreds, ids: list[str]) -> list[str]:
    query = """query ($pid: Int!, $ids: [String]!) { project(projectId: $pid) {
                 sessionData { sessions(sessionIds: $ids) { resources { sessionId } } } } }"""
    r = httpx.post(f"{server.url}/graphql", headers=creds.headers(),
                   json={"query": query, "variables": {"pid": int(creds.project_id), "ids": ids}})
    assert r.status_code == 200, r.text
    return sorted(s["sessionId"] for s in r.json()["data"]["project"]["sessionData"]["sessions"]["resources"])


def wait_for_workers(server: Server) -> list[int]:
    deadline = time.monotonic() + 30
    while not (pids := workers(server)):
        assert time.monotonic() < deadline, "no derive worker process started"
        time.sleep(0.05)
    return pids


def test_a_killed_worker_is_replaced_and_derivation_goes_on(tmp_path: Path, server_factory) -> None:
    creds = create_project(tmp_path / "vi.duckdb")
    server = server_factory()
    connect(creds, server, "before")
    server.wait_derived()
    kill(wait_for_workers(server))
    connect(creds, server, "after")  # its cycle finds the pool broken
    server.wait_derived(timeout=60)
    assert derived_sessions(server, creds, ["after", "before"]) == ["after", "before"]
    counts = metric_values(server.url, FAILURES, RESTARTS)
    assert counts[RESTARTS] == 1
    assert counts[FAILURES] >= 1  # the cycle that met the broken pool
    assert workers(server)  # a new worker serves the new pool


def test_failing_cycles_back_off_then_derivation_recovers(tmp_path: Path, server_factory) -> None:
    creds = create_project(tmp_path / "vi.duckdb")
    server = server_factory({"VIDEOINSIGHTS_DERIVE_INTERVAL_MS": "250"})
    wait_for_workers(server)
    stop = threading.Event()

    def killer() -> None:  # every worker dies as soon as it appears: every cycle fails
        while not stop.is_set():
            kill(workers(server))
            time.sleep(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        window_s = 4.0
        ends = time.monotonic() + window_s
        n = 0
        while time.monotonic() < ends:  # commits keep waking the derive loop, as under load
            n += 1
            connect(creds, server, "s", n)
            time.sleep(0.05)
        failed = metric_values(server.url, FAILURES)[FAILURES]
    finally:
        stop.set()
        thread.join()
    # Backing off from 0.25 s and doubling, 4 s hold at most 1 + log2(4 / 0.25) = 5 failed cycles in a row (one
    # more if the window opened mid-wait); a loop that retried at once would fail on every commit's wake-up.
    assert 1 <= failed <= 6
    server.wait_derived(timeout=60)  # the backoff is at most 0.25 * 2**6 s by now
    assert derived_sessions(server, creds, ["s"]) == ["s"]
    counts = metric_values(server.url, FAILURES, RESTARTS)
    assert counts[RESTARTS] == counts[FAILURES]  # each failure met a broken pool, and replaced it
    assert server.log is not None and "derivation cycle failed" in server.log.read_text()
