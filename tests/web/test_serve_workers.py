"""`videoinsights serve --workers 2` on a ClickHouse store (the test HTTP front over chdb, tests/support/ch_http.py):
two server processes on one port and the derive process the command starts; traffic posted over many
connections, a worker killed and replaced while the port keeps answering, the derived rows equal to one DuckDB
store's for the same events, and the API answering from them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx

from tests.conftest import cli, free_port
from tests.store.test_incremental_equals_rebuild import assert_same_rows, snapshot
from tests.support.stores import new_store_url, open_store
from tests.support.waiting import wait_until
from videoinsights.auth.tokens import issue_project_token
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.web.pages.state import SECRET_KEY


def spawned_children(pid: int) -> list[int]:
    """The processes `serve --workers` started (multiprocessing's spawned children, not its resource tracker)."""
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(line.split()[0]) for line in out.splitlines() if "spawn_main" in line)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_workers_on_one_port_ingest_derive_and_answer(tmp_path: Path, clickhouse_front: str) -> None:
    # (the traffic is of two days ago and the reference below never purges: every minute row kept, as in
    # test_scale_out; with the default 48 hours a purge met the day's first minutes, by time of day)
    env = {**os.environ, "VIDEOINSIGHTS_STORE": clickhouse_front, "VIDEOINSIGHTS_MINUTE_RETENTION_HOURS": str(24 * 30)}
    project = json.loads(cli(tmp_path / "unused.duckdb", "projects", "create", "--name", "workers", "--json",
                             "--advanced-insights", env=env))
    pid, secret = str(project["projectId"]), project["apiSecret"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "videoinsights", "serve", "--workers", "2", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    house = open_store(clickhouse_front, read_only=True)
    try:
        wait_until(lambda: healthy(url), 120, f"serve --workers 2 did not answer: {log.read_text()}")
        wait_until(lambda: len(spawned_children(serve.pid)) == 3, 60, "not 2 workers and 1 derive process")
        # written by the parent before the workers start: they all sign login cookies with it
        assert house.sql.accounts.meta_value(house.reader(), SECRET_KEY)

        start = day_start_ms(la_day(int(time.time() * 1000)) - timedelta(days=2))
        events = list(deliver(generate(pid, start, 1, 6, seed=13), seed=13, late_fraction=0.05,
                              duplicate_fraction=0.05))
        headers = {"X-OPENTOK-AUTH": issue_project_token(pid, secret, 600)}
        batches = [events[i : i + 1000] for i in range(0, len(events), 1000)]
        before = spawned_children(serve.pid)
        for n, batch in enumerate(batches):
            if n == len(batches) // 2:  # a worker dies mid-traffic: the other keeps the port, the parent replaces it
                os.kill(before[0], signal.SIGKILL)
            for attempt in range(20):
                try:  # a new connection per batch: the kernel spreads them over the workers
                    r = httpx.post(f"{url}/v1/events", json=batch, headers=headers, timeout=60)
                    break
                except httpx.TransportError:  # the connection the killed worker had accepted
                    assert attempt < 19
                    time.sleep(0.2)
            assert r.status_code == 200 and not r.json()["rejected"], r.text
        wait_until(lambda: len(spawned_children(serve.pid)) == 3 and before[0] not in spawned_children(serve.pid),
                   60, "the killed worker was not replaced")
        sessions = {e["sessionId"] for e in events}
        wait_until(lambda: house.dirty_session_count() == 0 and len(snapshot(house)["sessions"]) == len(sessions),
                   180, "the derive process did not catch up")

        query = ("query($s: Date!) { project(projectId: " + pid + ") { sessionData { "
                 "sessionSummaries(start: $s, first: 50) { totalCount } } } }")
        answers = set()
        for _ in range(6):  # whichever worker answers
            r = httpx.post(f"{url}/graphql", headers=headers, timeout=60, json={
                "query": query, "variables": {"s": la_day(start).isoformat()}})
            assert r.status_code == 200 and "errors" not in r.json(), r.text
            answers.add(r.json()["data"]["project"]["sessionData"]["sessionSummaries"]["totalCount"])
        assert answers == {len(sessions)}
        children = spawned_children(serve.pid)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(90)
    assert serve.returncode == 0, log.read_text()
    for child in children:  # stopped with it
        assert not Path(f"/proc/{child}").exists()
    assert "worker 0 exited (code -9): starting it again" in log.read_text()

    reference = open_store(new_store_url("duckdb", tmp_path))
    load_events(reference, pid, events, min_ts=0)
    derive_until_clean(reference)
    expected, got = snapshot(reference), snapshot(house)
    assert_same_rows(expected, got)
    reference.close()
