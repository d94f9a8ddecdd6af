"""Numbers outside their field's documented range are refused per event, over HTTP: the
attack (values past BIGINT or near the largest double) and the normal request beside it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import orjson

from tests.conftest import ProjectCreds
from videoinsights.domain.events import EVENT_TYPES, FIELDS, NUMERIC_KINDS
from videoinsights.ops import create_project
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)
# Hand-picked: the first sample of each event type that carries the field, with its required fields.
CARRIER = {"freezeCount": "publisherStats", "errorCode": "connectAttempt", "streamCount": "archiveStarted",
           "rtmpCount": "broadcastStarted"}
REQUIRED = {"publisherStats": {"streamId": "st"}, "connectAttempt": {"outcome": "failure"},
            "archiveStarted": {"archiveId": "a"}, "broadcastStarted": {"broadcastId": "b"}}


def make_projects(db: Path, n: int) -> list[ProjectCreds]:
    store = DuckDBStore(str(db))
    made = [create_project(store, f"p{i}") for i in range(n)]
    store.close()
    return [ProjectCreds(str(p["projectId"]), p["apiSecret"], p["callbackToken"]) for p in made]


def event(event_id: str, field: str, value: object) -> dict:
    kind = CARRIER.get(field, "publisherStats")
    return {"id": event_id, "type": kind, "sessionId": "s1", "timestamp": NOW, **REQUIRED[kind], field: value}


def post(url: str, creds: ProjectCreds, body: list[dict]) -> httpx.Response:
    return httpx.post(f"{url}/v1/events", content=orjson.dumps(body), timeout=30,
                      headers={"X-OPENTOK-AUTH": creds.token(), "Content-Type": "application/json"})


def stored(db: Path) -> dict[str, int]:
    store = DuckDBStore(str(db), read_only=True)
    rows = store.reader().execute(
        "SELECT project_id, count(*) FROM"
        " (SELECT project_id FROM events UNION ALL SELECT project_id FROM stats_samples) GROUP BY project_id"
    ).fetchall()
    store.close()
    return dict(rows)


def test_overflowing_integers_fail_one_event_not_other_tenants(tmp_path, server_factory) -> None:
    db = tmp_path / "vi.duckdb"
    projects = make_projects(db, 21)
    good, attacker = projects[:20], projects[20]
    server = server_factory()
    answers: dict[str, httpx.Response] = {}

    def send(creds: ProjectCreds, body: list[dict]) -> None:
        answers[creds.project_id] = post(server.url, creds, body)

    overflow = [event(f"x-{f}", f, 2**63 + 5) for f in CARRIER] + [event("x-max", "errorCode", 2**64 - 1)]
    attack = [event("ok-0", "errorCode", 1006), *overflow, event("ok-1", "freezeCount", 2)]
    threads = [threading.Thread(target=send, args=(attacker, attack))]
    for creds in good:
        body = [event(f"{creds.project_id}-{i}", "errorCode", 1500 + i) for i in range(50)]
        threads.append(threading.Thread(target=send, args=(creds, body)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for creds in good:
        assert answers[creds.project_id].status_code == 200
        assert answers[creds.project_id].json() == {"accepted": 50, "duplicates": 0, "rejected": []}
    data = answers[attacker.project_id].json()
    assert answers[attacker.project_id].status_code == 200
    assert data["accepted"] == 2
    assert [r["index"] for r in data["rejected"]] == [1, 2, 3, 4, 5]
    assert "errorCode must be an integer in -2,147,483,648..2,147,483,647" in data["rejected"][1]["error"]
    assert "freezeCount must be an integer in 0..100,000" in data["rejected"][0]["error"]
    server.stop()
    assert stored(db) == {**{c.project_id: 50 for c in good}, attacker.project_id: 2}


def test_every_number_is_bounded_and_its_bounds_are_accepted(tmp_path, server_factory) -> None:
    db = tmp_path / "vi.duckdb"
    (creds,) = make_projects(db, 1)
    server = server_factory()
    # The documented ranges, written out by hand: a change must be deliberate (and documented).
    ranges = {"audioBitrateKbps": (0, 1e6), "videoBitrateKbps": (0, 1e6), "audioLatencyMs": (0, 6e5),
              "videoLatencyMs": (0, 6e5), "audioPacketLoss": (0, 1), "videoPacketLoss": (0, 1), "jitterMs": (0, 6e5),
              "roundTripMs": (0, 6e5), "frameRate": (0, 1000), "freezeCount": (0, 100_000),
              "errorCode": (-(2**31), 2**31 - 1), "streamCount": (0, 100_000), "rtmpCount": (0, 10_000),
              "availableOutgoingBitrateKbps": (0, 1e6)}
    assert {n for n, f in FIELDS.items() if f.kind in NUMERIC_KINDS} == set(ranges)
    attacks, normal = [], []
    for name, (low, high) in ranges.items():
        integer = FIELDS[name].kind == "int"
        step = 1 if integer else 1e-6 * max(1.0, abs(high))
        attacks += [event(f"{name}-over", name, high + step), event(f"{name}-under", name, low - step)]
        if not integer:
            attacks += [event(f"{name}-huge", name, 1.7e308)]
        normal += [event(f"{name}-low", name, low), event(f"{name}-high", name, high)]
    r = post(server.url, creds, attacks)
    assert r.status_code == 400  # nothing accepted: the answer says why, event by event
    assert len(r.json()["rejected"]) == len(attacks)
    assert all(" must be " in x["error"] for x in r.json()["rejected"])
    r = post(server.url, creds, normal)
    assert r.status_code == 200 and r.json() == {"accepted": len(normal), "duplicates": 0, "rejected": []}
    schema = httpx.get(f"{server.url}/v1/events/schema").json()
    for variant in schema["oneOf"]:
        for name in EVENT_TYPES[variant["title"]].optional:
            if name in ranges:
                prop = variant["properties"][name]
                assert (prop["minimum"], prop["maximum"]) == ranges[name], name
