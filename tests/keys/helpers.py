"""Helpers of the client-key, ingest-token and webhook tests: events, keys and reads over real HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.conftest import ProjectCreds, Server, cli

NOW = int(time.time() * 1000)
APP = "https://app.example.com"


def event(kind: str, i: int, session: str = "s1", **fields: Any) -> dict[str, Any]:
    """One event of `kind` with the fields its type requires (ids numbered by i)."""
    required = {
        "connectionCreated": {"connectionId": f"conn-{i}", "sdkType": "JS"},
        "connectionDestroyed": {"connectionId": f"conn-{i}"},
        "streamCreated": {"streamId": f"st-{i}", "connectionId": f"conn-{i}"},
        "streamDestroyed": {"streamId": f"st-{i}"},
        "subscriberCreated": {"subscriberId": f"sub-{i}", "streamId": f"st-{i}", "connectionId": f"conn-{i}"},
        "subscriberDestroyed": {"subscriberId": f"sub-{i}"},
        "publisherStats": {"streamId": f"st-{i}", "videoBitrateKbps": 500.0},
        "subscriberStats": {"subscriberId": f"sub-{i}", "videoBitrateKbps": 400.0},
        "connectAttempt": {"outcome": "success", "connectionId": f"conn-{i}"},
        "publishAttempt": {"outcome": "failure", "errorCode": 1500, "streamId": f"st-{i}"},
        "subscribeAttempt": {"outcome": "success", "subscriberId": f"sub-{i}"},
        "archiveStarted": {"archiveId": f"ar-{i}"},
        "broadcastStarted": {"broadcastId": f"br-{i}"},
        "sipCallStarted": {"callId": f"sip-{i}"},
        "experienceComposerStarted": {"composerId": f"ec-{i}"},
        "sessionCreated": {},
    }[kind]
    return {"id": f"{kind}-{session}-{i}", "type": kind, "sessionId": session, "timestamp": NOW - 60_000 + i,
            **required, **fields}


def create_key(db: Path, project_id: str, *origins: str, name: str = "web") -> dict[str, Any]:
    args = ["keys", "create", "--project", project_id, "--name", name, "--json"]
    for origin in origins:
        args += ["--origin", origin]
    return dict(json.loads(cli(db, *args)))


def send(server: Server, events: Any, *, key: str | None = None, params: dict[str, str] | None = None,
         **headers: str) -> httpx.Response:
    """POST /v1/events with a client key header (when given) and any other headers."""
    all_headers = {"Content-Type": "application/json", **headers}
    if key:
        all_headers["X-VideoInsights-Key"] = key
    return httpx.post(f"{server.url}/v1/events", content=orjson.dumps(events), headers=all_headers, params=params)


def connections(server: Server, creds: ProjectCreds, session: str) -> dict[str, dict[str, Any]]:
    """The session's connections (by id) as the Insights API returns them, once derivation caught up."""
    server.wait_derived()
    query = """query($s: [String]!, $p: IntOrString!) { project(projectId: $p) { sessionData {
      sessions(sessionIds: $s) { resources { meetings { resources { connections { resources {
        connectionId guid country region city } } } } } } } } }"""
    body = httpx.post(f"{server.url}/graphql", headers=creds.headers(),
                      json={"query": query, "variables": {"s": [session], "p": int(creds.project_id)}}).json()
    assert "errors" not in body, body
    out: dict[str, dict[str, Any]] = {}
    for session_row in body["data"]["project"]["sessionData"]["sessions"]["resources"]:
        for meeting in session_row["meetings"]["resources"]:
            for c in meeting["connections"]["resources"]:
                out[c["connectionId"]] = c
    return out
