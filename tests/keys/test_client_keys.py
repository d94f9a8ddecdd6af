"""Client keys over real HTTP: the CLI offline and beside a server, what a key may send, and what it may not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, cli, create_project
from tests.keys.helpers import APP, connections, create_key, event, send

CLIENT_TYPES = ["connectionCreated", "streamCreated", "subscriberCreated", "publisherStats", "subscriberStats",
                "connectAttempt", "publishAttempt", "subscribeAttempt", "subscriberDestroyed", "streamDestroyed",
                "connectionDestroyed"]


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videoinsights", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=120)


def test_keys_offline_create_list_revoke(tmp_path: Path) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    key = create_key(db, creds.project_id, "https://App.Example.com/", "http://localhost:5173", name="web")
    assert key["key"].startswith("vik_") and len(key["key"]) == 36
    assert key["origins"] == ["https://app.example.com", "http://localhost:5173"]
    other = create_key(db, creds.project_id, name="native")
    listed = json.loads(cli(db, "keys", "list", "--project", creds.project_id, "--json"))
    assert [(k["prefix"], k["name"], k["origins"], k["revokedAt"]) for k in listed] == [
        (key["key"][:12], "web", ["https://app.example.com", "http://localhost:5173"], None),
        (other["key"][:12], "native", [], None)]
    assert key["key"] not in json.dumps(listed)  # only a prefix is kept and shown
    assert (tmp_path / "vi.duckdb").read_bytes().find(key["key"].encode()) == -1
    revoked = json.loads(cli(db, "keys", "revoke", key["key"][:12], "--json"))
    assert revoked["prefix"] == key["key"][:12] and revoked["revokedAt"] is not None
    text = cli(db, "keys", "list", "--project", creds.project_id)
    assert f"{key['key'][:12]}...\trevoked" in text and f"{other['key'][:12]}...\tactive" in text
    for bad in (["keys", "create", "--project", creds.project_id, "--origin", "https://a.example.com/path"],
                ["keys", "create", "--project", "99999999"], ["keys", "revoke", "vik_00000000"]):
        result = run_cli(db, *bad)
        assert result.returncode == 2 and result.stderr.startswith("error: "), (bad, result.stderr)


def test_a_key_sends_client_events_only_and_reads_nothing(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    key = create_key(server.db, creds.project_id)["key"]  # through the running server
    events = [event(kind, 1) for kind in CLIENT_TYPES]
    response = send(server, events, key=key)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": len(CLIENT_TYPES), "duplicates": 0, "rejected": []}
    # the key in the URL, as navigator.sendBeacon must send it (a text/plain body)
    beacon = httpx.post(f"{server.url}/v1/events", params={"key": key},
                        content=json.dumps([event("connectAttempt", 2)]),
                        headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert beacon.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    # server-side features are refused with the whole request: nothing of it is written
    for kind in ("archiveStarted", "broadcastStarted", "sipCallStarted", "experienceComposerStarted",
                 "sessionCreated"):
        refused = send(server, [event("connectionCreated", 3), event(kind, 3)], key=key)
        assert refused.status_code == 403, (kind, refused.text)
        assert refused.json()["error"]["status"] == 403 and kind in refused.json()["error"]["message"]
    assert send(server, [event("connectionCreated", 3)], key=key).json()["accepted"] == 1
    assert connections(server, creds, "s1").keys() == {"conn-1", "conn-3"}
    # reading: /graphql refuses the key, in the header or the URL
    query = {"query": f"{{ project(projectId: {creds.project_id}) {{ projectData {{ totalCount }} }} }}"}
    for kwargs in ({"headers": {"X-VideoInsights-Key": key}}, {"params": {"key": key}}):
        read = httpx.post(f"{server.url}/graphql", json=query, **kwargs)  # type: ignore[arg-type]
        assert read.status_code == 401 and "data" not in read.json()
    # ... and every other route: a key is no login and no admin token
    assert httpx.get(f"{server.url}/v1/events/schema", headers={"X-VideoInsights-Key": key}).status_code == 200
    assert httpx.post(f"{server.url}/-/admin/list_projects", json={},
                      headers={"Authorization": f"Bearer {key}"}).status_code == 403
    assert httpx.get(f"{server.url}/sessions", params={"key": key}, follow_redirects=False).status_code in (302, 303)


def test_unknown_and_revoked_keys_are_refused_at_once(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    key = create_key(server.db, creds.project_id)["key"]
    assert send(server, [event("connectionCreated", 1)], key=key).status_code == 200
    assert send(server, [event("connectionCreated", 2)], key="vik_" + "0" * 32).status_code == 401
    cli(server.db, "keys", "revoke", key)  # the server's own key cache is refreshed by the admin operation
    refused = send(server, [event("connectionCreated", 3)], key=key)
    assert refused.status_code == 401 and refused.json()["error"]["message"] == "Unknown or revoked client key."
    listed = json.loads(cli(server.db, "keys", "list", "--project", creds.project_id, "--json"))
    assert [(k["prefix"], k["revokedAt"] is not None) for k in listed] == [(key[:12], True)]


def test_cors_for_key_origins_and_cors_origins(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    key = create_key(db, creds.project_id, APP)["key"]
    server = server_factory(env={"VIDEOINSIGHTS_CORS_ORIGINS": "https://dash.example.com"})
    url = f"{server.url}/v1/events"

    def preflight(origin: str) -> httpx.Response:
        return httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "content-type,x-videoinsights-key"})

    for origin in (APP, "https://dash.example.com"):
        ok = preflight(origin)
        assert ok.status_code == 204, ok.text
        assert ok.headers["access-control-allow-origin"] == origin
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert "x-videoinsights-key" in ok.headers["access-control-allow-headers"]
    evil = preflight("https://evil.example.com")
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert httpx.options(url).status_code == 204  # not a preflight: no longer a 405

    allowed = send(server, [event("connectionCreated", 1)], key=key, Origin=APP)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == APP
    other = send(server, [event("connectionCreated", 2)], key=key, Origin="https://evil.example.com")
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    no_origin = send(server, [event("connectionCreated", 3)], key=key)  # a native app: no Origin header
    assert no_origin.status_code == 200 and "access-control-allow-origin" not in no_origin.headers
    # the project token from a cors_origins page (finding 15), and not from another page
    dash = send(server, [event("connectionCreated", 4)], Origin="https://dash.example.com", **creds.headers())
    assert dash.status_code == 200 and dash.headers["access-control-allow-origin"] == "https://dash.example.com"
    app_page = send(server, [event("connectionCreated", 5)], Origin=APP, **creds.headers())
    assert app_page.status_code == 200 and "access-control-allow-origin" not in app_page.headers
    assert set(connections(server, creds, "s1")) == {"conn-1", "conn-3", "conn-4", "conn-5"}


@pytest.mark.parametrize("limits", [{"VIDEOINSIGHTS_RATE_LIMIT_PER_CLIENT_KEY": "3",
                                     "VIDEOINSIGHTS_RATE_LIMIT_PER_CLIENT_ADDRESS": "5",
                                     "VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": "3600"}])
def test_rate_limits_per_key_and_per_address(tmp_path: Path, server_factory: Any, limits: dict[str, str]) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    key_a, key_b = (create_key(db, creds.project_id, APP)["key"] for _ in range(2))
    server = server_factory(env=limits)
    # window 3600 s: the buckets refill 3 (or 5) per hour, i.e. nothing during this test
    statuses = [send(server, [event("connectionCreated", i)], key=key_a).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]  # key A's 4th: over its key's 3
    limited = send(server, [event("connectionCreated", 9)], key=key_a, Origin=APP)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.headers["access-control-allow-origin"] == APP  # the collector can read Retry-After
    assert "retry-after" in limited.headers["access-control-expose-headers"].lower()
    assert limited.json()["error"] == {"errorCode": None, "status": 429,
                                       "message": limited.json()["error"]["message"]}
    # the address has spent 3 (refused requests take nothing): key B gets 2 more, then the address is out
    statuses = [send(server, [event("connectionCreated", 10 + i)], key=key_b).status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    # project tokens are not client-key traffic
    assert send(server, [event("connectionCreated", 20)], **creds.headers()).status_code == 200


def test_a_database_from_before_client_keys_gets_their_tables(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "old.duckdb"
    creds = create_project(db)
    con = duckdb.connect(str(db))  # make it look like a file written before these tables existed
    con.execute("DROP TABLE client_keys")
    con.execute("DROP TABLE livekit_keys")
    con.close()
    key = create_key(db, creds.project_id, APP)
    cli(db, "livekit", "add", "--project", creds.project_id, "--api-key", "K", "--api-secret", "S")
    listed = json.loads(cli(db, "keys", "list", "--project", creds.project_id, "--json"))
    assert [k["prefix"] for k in listed] == [key["prefix"]]
