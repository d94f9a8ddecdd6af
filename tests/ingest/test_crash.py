"""kill -9 the server while acknowledged batches stream in: after a restart
every acknowledged event is there, and once clients have retried what was in flight,
every event is stored exactly once."""

from __future__ import annotations

import threading
import time

import httpx

from tests.conftest import create_project
from tests.support import duckdb_file


def test_acknowledged_events_survive_kill_9(tmp_path, server_factory) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory()
    acked: list[str] = []
    sent: list[list[dict]] = []  # every batch a client tried, acknowledged or not
    lock = threading.Lock()
    stop = threading.Event()
    now = int(time.time() * 1000)

    def client(worker: int) -> None:
        with httpx.Client(timeout=10) as http:
            for batch in range(10_000):
                if stop.is_set():
                    return
                ids = [f"w{worker}-b{batch}-e{i}" for i in range(200)]
                events = [{"id": i, "type": "publisherStats", "sessionId": f"s{worker}", "timestamp": now,
                           "streamId": f"st{worker}", "videoBitrateKbps": 500.0} for i in ids]
                with lock:
                    sent.append(events)
                try:
                    r = http.post(f"{server.url}/v1/events", json=events, headers=creds.headers())
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.extend(ids)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while len(acked) < 5_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 5_000

    server.start()  # restart on the same file: replays the WAL
    server.stop()
    stored = "SELECT event_id FROM events UNION ALL SELECT event_id FROM stats_samples"
    con = duckdb_file.connect(db, read_only=True)
    con.execute("CREATE TEMP TABLE acked (event_id VARCHAR)")
    con.executemany("INSERT INTO acked VALUES (?)", [[i] for i in acked])
    missing = con.execute(f"SELECT count(*) FROM acked WHERE event_id NOT IN ({stored})").fetchone()
    assert missing[0] == 0
    con.close()

    # Clients retry every batch whose answer they did not get (here: all of them, to be thorough).
    server.start()
    with httpx.Client(timeout=30) as http:
        for events in sent:
            r = http.post(f"{server.url}/v1/events", json=events, headers=creds.headers())
            assert r.status_code == 200 and r.json()["accepted"] + r.json()["duplicates"] == len(events)
    server.stop()
    con = duckdb_file.connect(db, read_only=True)
    total, distinct = con.execute(f"SELECT count(*), count(DISTINCT event_id) FROM ({stored})").fetchone()
    con.close()
    assert total == distinct == sum(len(events) for events in sent)  # every event once, none twice
