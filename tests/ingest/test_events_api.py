"""POST /v1/events against a real server over HTTP, with real tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import jwt
import orjson

from tests.conftest import ProjectCreds, Server, cli
from tests.support import duckdb_file

NOW = int(time.time() * 1000)


def conn(i: int, ts: int = NOW - 60_000, session: str = "s1") -> dict:
    return {"id": f"c{i}", "type": "connectionCreated", "sessionId": session, "timestamp": ts,
            "connectionId": f"conn-{i}", "sdkType": "js", "browser": "Chrome", "country": "us"}


def post(server: Server, creds: ProjectCreds, body: object, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return httpx.post(f"{server.url}/v1/events", content=content,
                      headers={"X-OPENTOK-AUTH": creds.token(), "Content-Type": "application/json", **headers})


def metric(server: Server, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(name)


def test_mixed_batch_reports_each_event(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    iso = datetime.fromtimestamp((NOW - 30_000) / 1000, UTC).isoformat().replace("+00:00", "Z")
    body = [
        conn(1),
        {"id": "c2", "type": "connectionCreated", "sessionId": "s1", "timestamp": iso, "connectionId": "conn-2"},
        {"id": "bad-type", "type": "connectionExploded", "sessionId": "s1", "timestamp": NOW},
        {"id": "no-conn", "type": "connectionCreated", "sessionId": "s1", "timestamp": NOW},
        {"id": "wrong-type", "type": "publisherStats", "sessionId": "s1", "timestamp": NOW, "streamId": "x",
         "videoBitrateKbps": "fast"},
        {"id": "future", "type": "connectionCreated", "sessionId": "s1", "timestamp": NOW + 86_400_000,
         "connectionId": "c9"},
        {"id": "typo", "type": "connectionCreated", "sessionId": "s1", "timestamp": NOW, "connectionId": "c",
         "sdkTyep": "JS"},
        conn(1),  # same id twice in one request
    ]
    r = post(server, creds, body)
    assert r.status_code == 200
    data = r.json()
    assert data["accepted"] == 2
    assert data["duplicates"] == 1
    assert [x["index"] for x in data["rejected"]] == [2, 3, 4, 5, 6]
    errors = [x["error"] for x in data["rejected"]]
    assert "unknown event type" in errors[0]
    assert "connectionId is required" in errors[1]
    assert "videoBitrateKbps must be a number" in errors[2]
    assert "future" in errors[3]
    assert "sdkTyep" in errors[4]
    assert data["rejected"][0]["id"] == "bad-type"


def test_retry_is_a_no_op_and_ndjson_works(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    ndjson = b"\n".join(orjson.dumps(conn(i)) for i in range(5)) + b"\n"
    first = post(server, creds, ndjson, **{"Content-Type": "application/x-ndjson"})
    assert first.json() == {"accepted": 5, "duplicates": 0, "rejected": []}
    again = post(server, creds, [conn(i) for i in range(3, 8)])
    assert again.json() == {"accepted": 3, "duplicates": 2, "rejected": []}
    assert metric(server, "videoinsights_events_inserted_total") == 8


def test_bad_bodies_get_clear_4xx_and_write_nothing(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    r = post(server, creds, b'[{"id": "a", "type": ')
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]["message"]
    r = post(server, creds, b'{"id": "a"}\nnot json\n')
    assert r.status_code == 400 and "line 2" in r.json()["error"]["message"]
    r = post(server, creds, b"")
    assert r.status_code == 400
    r = post(server, creds, [{"id": "x", "type": "nope", "sessionId": "s", "timestamp": NOW}])
    assert r.status_code == 400
    assert r.json()["accepted"] == 0 and r.json()["rejected"][0]["index"] == 0
    r = post(server, creds, {"id": "x"})  # an object that is not an array: NDJSON of one non-event
    assert r.status_code == 400
    assert metric(server, "videoinsights_events_inserted_total") == 0


def test_body_size_limit(tmp_path, server_factory) -> None:
    from tests.conftest import create_project

    creds = create_project(tmp_path / "vi.duckdb")
    server = server_factory(env={"VIDEOINSIGHTS_MAX_BODY_BYTES": "2000"})
    r = post(server, creds, [conn(i) for i in range(40)])
    assert r.status_code == 413
    assert metric(server, "videoinsights_events_inserted_total") == 0
    assert post(server, creds, [conn(1)]).status_code == 200


def test_auth_errors_carry_spec_codes(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    url = f"{server.url}/v1/events"
    body = orjson.dumps([conn(1)])

    def code(headers: dict[str, str]) -> tuple[int, int]:
        r = httpx.post(url, content=body, headers=headers)
        return r.status_code, r.json()["error"]["errorCode"]

    assert code({}) == (401, 1001)
    assert code({"X-OPENTOK-AUTH": "garbage"}) == (401, 1011)
    now = int(time.time())
    expired = jwt.encode({"iss": creds.project_id, "ist": "project", "iat": now - 900, "exp": now - 600},
                         creds.secret, algorithm="HS256")
    assert code({"X-OPENTOK-AUTH": expired}) == (401, 1011)
    forged = jwt.encode({"iss": creds.project_id, "ist": "project", "iat": now, "exp": now + 60},
                        "0" * 40, algorithm="HS256")
    assert code({"X-OPENTOK-AUTH": forged}) == (401, 1020)
    unknown = jwt.encode({"iss": "99999999", "ist": "project", "iat": now, "exp": now + 60},
                         creds.secret, algorithm="HS256")
    assert code({"X-OPENTOK-AUTH": unknown}) == (401, 1020)  # unknown projects answer like bad signatures
    no_exp = jwt.encode({"iss": creds.project_id, "ist": "project", "iat": now}, creds.secret, algorithm="HS256")
    assert code({"X-OPENTOK-AUTH": no_exp}) == (401, 1011)
    none_alg = jwt.encode({"iss": creds.project_id, "ist": "project", "exp": now + 60}, None, algorithm="none")
    assert code({"X-OPENTOK-AUTH": none_alg}) == (401, 1011)
    assert code({"Authorization": f"Bearer {creds.token()}"}) == (401, 1011)  # HS token where RS256 is required
    assert metric(server, "videoinsights_events_inserted_total") == 0


def test_vonage_callbacks_map_and_deduplicate(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    url = f"{server.url}/v1/projects/{creds.project_id}/callbacks/vonage?token={creds.callback_token}"
    created = {"sessionId": "2_MX4xM", "projectId": creds.project_id, "event": "connectionCreated",
               "timestamp": NOW - 5000,
               "connection": {"id": "c053fcc8", "createdAt": NOW - 5100, "data": "TOKENDATA"}}
    stream = {"sessionId": "2_MX4xM", "projectId": creds.project_id, "event": "streamCreated",
              "timestamp": NOW - 4000,
              "stream": {"id": "63245362", "connection": {"id": "c053fcc8", "createdAt": NOW - 5100, "data": ""},
                         "createdAt": NOW - 4100, "name": "", "videoType": "camera"}}
    assert httpx.post(url, json=created).json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert httpx.post(url, json=created).json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert httpx.post(url, json=stream).json()["accepted"] == 1
    bad_token = url.replace(creds.callback_token, "nope")
    assert httpx.post(bad_token, json=created).status_code == 401
    unknown = dict(created, event="archiveExploded")
    r = httpx.post(url, json=unknown)
    assert r.status_code == 400 and "unsupported" in r.json()["error"]["message"]


def test_cli_works_while_server_runs(served_project: tuple[Server, ProjectCreds]) -> None:
    server, creds = served_project
    out = cli(server.db, "projects", "list", "--json")
    assert creds.project_id in out
    new = cli(server.db, "projects", "create", "--name", "second", "--json")
    assert '"apiSecret"' in new
    token = cli(server.db, "token", "--project", creds.project_id).strip()
    r = httpx.post(f"{server.url}/v1/events", json=[conn(1)], headers={"X-OPENTOK-AUTH": token})
    assert r.json()["accepted"] == 1


def test_event_schema_is_served(served_project: tuple[Server, ProjectCreds]) -> None:
    server, _ = served_project
    schema = httpx.get(f"{server.url}/v1/events/schema").json()
    titles = {v["title"] for v in schema["oneOf"]}
    assert {"connectionCreated", "publisherStats", "archiveStarted", "experienceComposerStopped"} <= titles


def test_vonage_application_tokens_are_accepted(tmp_path, server_factory) -> None:
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from vonage_jwt import JwtClient

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public = tmp_path / "app.pub.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    db = tmp_path / "vi.duckdb"
    app = json.loads(cli(db, "applications", "create", "--name", "vonage app", "--public-key", str(public), "--json"))
    server = server_factory()
    token = JwtClient(app["applicationId"], private_pem.decode()).generate_application_jwt()
    token = token.decode() if isinstance(token, bytes) else token
    r = httpx.post(f"{server.url}/v1/events", json=[conn(1)], headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    forged = JwtClient(app["applicationId"], other.decode()).generate_application_jwt()
    forged = forged.decode() if isinstance(forged, bytes) else forged
    r = httpx.post(f"{server.url}/v1/events", json=[conn(2)], headers={"Authorization": f"Bearer {forged}"})
    assert (r.status_code, r.json()["error"]["errorCode"]) == (401, 1020)


def test_purge_and_rebuild_commands_offline_and_through_the_server(tmp_path, server_factory) -> None:
    import json

    from tests.conftest import create_project

    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    offline = json.loads(cli(db, "purge"))
    assert offline["events"] == 0 and "rollup_project_monthly" in offline
    server = server_factory()
    assert post(server, creds, [conn(1)]).json()["accepted"] == 1
    server.wait_derived()
    online = json.loads(cli(db, "purge"))
    assert online["events"] == 0  # the event is recent: nothing expired
    assert "rebuilt 1 sessions" in cli(db, "rebuild")


def test_publisher_only_stats_fields_are_validated_and_stored(tmp_path, served_project) -> None:
    """qualityLimitationReason and availableOutgoingBitrateKbps (issue 8): publisherStats only."""
    server, creds = served_project
    pub = {"id": "p1", "type": "publisherStats", "sessionId": "s1", "timestamp": NOW, "streamId": "st1",
           "qualityLimitationReason": "Bandwidth", "availableOutgoingBitrateKbps": 812.5}
    body = [
        pub,
        {**pub, "id": "p2", "qualityLimitationReason": "network"},
        {**pub, "id": "p3", "availableOutgoingBitrateKbps": -1},
        {"id": "s1", "type": "subscriberStats", "sessionId": "s1", "timestamp": NOW, "subscriberId": "sub1",
         "qualityLimitationReason": "cpu"},
        {**pub, "id": "p4", "qualityLimitationReason": "none", "availableOutgoingBitrateKbps": 0},
        {**pub, "id": "p5", "freezeCount": -1},  # e.g. a collector's delta across a counter reset
    ]
    data = post(server, creds, body).json()
    assert data["accepted"] == 2
    errors = {x["id"]: x["error"] for x in data["rejected"]}
    assert "qualityLimitationReason must be one of none, bandwidth, cpu, other" in errors["p2"]
    assert "availableOutgoingBitrateKbps must be a number in 0..1,000,000" in errors["p3"]
    assert "qualityLimitationReason" in errors["s1"]
    assert "freezeCount must be an integer in 0..100,000" in errors["p5"]
    server.stop()
    con = duckdb_file.connect(tmp_path / "vi.duckdb", read_only=True)
    rows = con.execute("SELECT event_id, quality_limitation_reason, available_outgoing_bitrate_kbps"
                       " FROM stats_samples ORDER BY event_id").fetchall()
    assert rows == [("p1", "bandwidth", 812.5), ("p4", "none", 0.0)]
