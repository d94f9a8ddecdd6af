"""Ingest tokens (one session, write-only) and the geolocation of browser traffic, over real HTTP."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from tests.conftest import cli, create_project
from tests.keys.helpers import APP, connections, create_key, event, send
from videoinsights.ingest.geolocate import GeoError, Geolocator

# 193.0.6.139 is RIPE NCC's own address block in Amsterdam: NL in the RIR data that iptocc ships
# (checked with `iptocc.country_code`), and unlikely ever to move.
RIPE_NL = "193.0.6.139"
PROXIED = {"VIDEOINSIGHTS_TRUSTED_PROXIES": "127.0.0.1"}


def signed(project_id: str, secret: str, **claims: Any) -> str:
    now = int(time.time())
    base = {"iss": project_id, "ist": "project", "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


def test_ingest_tokens_send_one_session_and_read_nothing(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    create_key(db, creds.project_id, APP)  # its origin is where the project's ingest tokens may come from too
    server = server_factory()
    token = cli(db, "token", "--project", creds.project_id, "--scope", "ingest", "--session", "room-42",
                "--ttl", "600").strip()
    claims = jwt.decode(token, creds.secret, algorithms=["HS256"])
    assert (claims["iss"], claims["scope"], claims["sid"], claims["exp"] - claims["iat"]) == (
        creds.project_id, "ingest", "room-42", 600)
    auth = {"X-OPENTOK-AUTH": token}
    ok = send(server, [event("connectionCreated", 1, "room-42"), event("publisherStats", 1, "room-42")], **auth)
    assert ok.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    other = send(server, [event("connectionCreated", 2, "room-42"), event("connectionCreated", 2, "room-43")], **auth)
    assert other.status_code == 403 and "room-42" in other.json()["error"]["message"]
    archive = send(server, [event("archiveStarted", 3, "room-42")], **auth)
    assert archive.status_code == 403
    # in the URL, for sendBeacon; a project token may not travel there
    assert send(server, [event("connectionCreated", 4, "room-42")], params={"token": token}).status_code == 200
    assert send(server, [event("connectionCreated", 5, "room-42")], params={"token": creds.token()}).status_code == 401
    # browsers: from the project's key origins, not from others
    from_app = send(server, [event("connectionCreated", 6, "room-42")], Origin=APP, **auth)
    assert from_app.status_code == 200 and from_app.headers["access-control-allow-origin"] == APP
    evil = send(server, [event("connectionCreated", 7, "room-42")], Origin="https://evil.example.com", **auth)
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert set(connections(server, creds, "room-42")) == {"conn-1", "conn-4", "conn-6"}
    assert connections(server, creds, "room-43") == {}
    # reading: refused, whatever the query
    query = {"query": f"{{ project(projectId: {creds.project_id}) {{ projectData {{ totalCount }} }} }}"}
    read = httpx.post(f"{server.url}/graphql", json=query, headers=auth)
    assert read.status_code == 401 and "ingest token" in read.json()["errors"][0]["message"]
    # hand-made tokens: an unknown scope, a missing session, more than an hour of life
    for bad in (signed(creds.project_id, creds.secret, scope="read", sid="room-42"),
                signed(creds.project_id, creds.secret, scope="ingest"),
                signed(creds.project_id, creds.secret, scope="ingest", sid="room-42", exp=int(time.time()) + 7200)):
        refused = send(server, [event("connectionCreated", 8, "room-42")], **{"X-OPENTOK-AUTH": bad})
        assert refused.status_code == 401 and refused.json()["error"]["errorCode"] == 1011


def test_browser_traffic_is_located_from_its_address(tmp_path: Path, server_factory: Any) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    key = create_key(db, creds.project_id)["key"]
    server = server_factory(env=PROXIED)
    send(server, [event("connectionCreated", 1, "geo")], key=key)  # from 127.0.0.1: loopback, no country
    send(server, [event("connectionCreated", 2, "geo")], key=key, **{"X-Forwarded-For": "10.1.2.3"})  # private
    send(server, [event("connectionCreated", 3, "geo")], key=key, **{"X-Forwarded-For": RIPE_NL})
    send(server, [event("connectionCreated", 4, "geo", country="FR")], key=key, **{"X-Forwarded-For": RIPE_NL})
    # the app's server (project token) reports for its clients: its own address says nothing about them
    send(server, [event("connectionCreated", 5, "geo")], **creds.headers(), **{"X-Forwarded-For": RIPE_NL})
    located = {cid: (c["country"], c["region"], c["city"]) for cid, c in connections(server, creds, "geo").items()}
    assert located == {"conn-1": (None, None, None), "conn-2": (None, None, None), "conn-3": ("NL", None, None),
                       "conn-4": ("FR", None, None), "conn-5": (None, None, None)}


def test_the_users_mmdb_gives_region_and_city(tmp_path: Path, server_factory: Any) -> None:
    # a GeoLite2-City-shaped database whose answer differs from the RIR data (81.2.69.160 is GB there)
    mmdb = tmp_path / "city.mmdb"
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-City")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {"country": {"iso_code": "SE"},
                                                     "subdivisions": [{"iso_code": "AB"}],
                                                     "city": {"names": {"en": "Stockholm"}}})
    writer.to_db_file(str(mmdb))
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    key = create_key(db, creds.project_id)["key"]
    server = server_factory(env={**PROXIED, "VIDEOINSIGHTS_GEOIP_DB": str(mmdb)})
    send(server, [event("connectionCreated", 1, "geo")], key=key, **{"X-Forwarded-For": "81.2.69.160"})
    send(server, [event("connectionCreated", 2, "geo")], key=key, **{"X-Forwarded-For": RIPE_NL})  # not in it
    located = {cid: (c["country"], c["region"], c["city"]) for cid, c in connections(server, creds, "geo").items()}
    assert located == {"conn-1": ("SE", "AB", "Stockholm"), "conn-2": (None, None, None)}


def test_geolocator_sources(tmp_path: Path) -> None:
    bundled = Geolocator()
    assert bundled.locate(RIPE_NL).country == "NL"  # type: ignore[union-attr]
    assert bundled.locate("::ffff:" + RIPE_NL).country == "NL"  # type: ignore[union-attr]
    assert [bundled.locate(a) for a in ("127.0.0.1", "192.168.1.9", "::1", "fe80::1", "-", "")] == [None] * 6
    assert Geolocator("off").locate(RIPE_NL) is None
    (tmp_path / "bad.mmdb").write_bytes(b"not a database")
    with pytest.raises(GeoError, match="VIDEOINSIGHTS_GEOIP_DB"):
        Geolocator(str(tmp_path / "bad.mmdb"))
    with pytest.raises(GeoError):
        Geolocator(str(tmp_path / "missing.mmdb"))
