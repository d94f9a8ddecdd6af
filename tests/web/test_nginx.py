"""Debian's nginx, configured with the block of docs/deployment.md, in front of a real server.

The client connects from 127.0.0.2 (another loopback address), nginx listens on 127.0.0.1 and is
the only trusted proxy: the server must see 127.0.0.2 as the client.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ProjectCreds, Server, admin, create_login, create_project, free_port

ROOT = Path(__file__).resolve().parents[2]
APP = "https://app.example.com"
CLIENT_ADDRESS = "127.0.0.2"
PASSWORD = "correct horse battery"


@dataclass
class Proxied:
    server: Server
    creds: ProjectCreds
    url: str  # nginx's https address
    cert: Path  # its self-signed certificate
    client_key: str  # a browser client key of the project, for APP


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        if os.geteuid() == 0:
            raise AssertionError("nginx is missing: ./run test installs Debian's nginx when run as root")
        pytest.skip("nginx is not installed and this is not root (sudo apt-get install nginx)")
    return found


def documented_config() -> str:
    """The nginx block of docs/deployment.md."""
    doc = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```nginx\n(.*?)```", doc, re.S)
    assert len(blocks) == 1
    return blocks[0]


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "insights.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_conf(tmp: Path, upstream_port: int, https_port: int, http_port: int, cert: Path, key: Path) -> str:
    site = documented_config()
    site = site.replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream_port};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("/etc/letsencrypt/live/insights.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/insights.example.com/privkey.pem", str(key))
    temp = "".join(f"  {kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    # as root, workers would run as nobody and could not write their temp files under pytest's private tmp
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"{user}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n  access_log {tmp}/access.log;\n{temp}{site}\n}}\n")


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited: {log.read_text() if log.exists() else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("nginx did not listen")


@pytest.fixture
def proxied(tmp_path: Path, server_factory: Any) -> Iterator[Proxied]:
    binary = nginx_binary()
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    create_login(db, "ops@example.com", PASSWORD, (creds.project_id,))
    client_key = admin(db, "create_client_key", project_id=creds.project_id, origins=[APP], name="web")["key"]
    server = server_factory({"VIDEOINSIGHTS_TRUSTED_PROXIES": "127.0.0.1", "VIDEOINSIGHTS_LOG_FORMAT": "json",
                             # 2 client-key requests per address per hour: the third from one address is refused
                             "VIDEOINSIGHTS_RATE_LIMIT_PER_CLIENT_ADDRESS": "2",
                             "VIDEOINSIGHTS_RATE_LIMIT_WINDOW_S": "3600"})
    cert, key = self_signed(tmp_path)
    https_port, http_port = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, server.port, https_port, http_port, cert, key))
    check = subprocess.run([binary, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(https_port, proc, tmp_path / "error.log")
        yield Proxied(server, creds, f"https://127.0.0.1:{https_port}", cert, client_key)
    finally:
        proc.terminate()
        proc.wait(10)


def access_lines(server: Server) -> list[dict[str, Any]]:
    assert server.log is not None
    lines = [orjson.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    return [e for e in lines if e.get("logger") == "videoinsights.access"]


def test_login_query_ingest_and_export_through_nginx(proxied: Proxied) -> None:
    server, creds, url, cert = proxied.server, proxied.creds, proxied.url, proxied.cert
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS, verify=ssl.create_default_context(cafile=cert))
    with httpx.Client(transport=transport, base_url=url, timeout=30) as client:
        # login, as a browser does: the form's CSRF token, the Origin of the https page
        form = client.get("/login")
        assert form.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        login = client.post("/login", data={"email": "ops@example.com", "password": PASSWORD, "csrf": csrf[1],
                                            "next": "/dashboard"}, headers={"Origin": url})
        assert login.status_code == 303 and login.headers["location"] == "/dashboard", login.text
        assert "vi_session=" in login.headers["set-cookie"] and "Secure" in login.headers["set-cookie"]
        assert client.get("/dashboard").status_code == 200

        query = {"query": f"{{ project(projectId: {creds.project_id}) {{ projectData(start: 0) {{ totalCount }} }} }}"}
        answer = client.post("/graphql", json=query, headers=creds.headers())
        assert answer.json() == {"data": {"project": {"projectData": {"totalCount": 0}}}}

        now = int(time.time() * 1000)
        events = [{"id": f"e{i}", "type": "connectionCreated", "sessionId": "s1", "timestamp": now - 60_000 + i,
                   "connectionId": f"c{i}", "sdkType": "js"} for i in range(50)]
        ingest = client.post("/v1/events", content=orjson.dumps(events), headers={
            **creds.headers(), "Content-Type": "application/json", "X-Forwarded-For": "6.6.6.6"})
        assert ingest.json() == {"accepted": 50, "duplicates": 0, "rejected": []}
        server.wait_derived()
        exported = client.get(f"/v1/projects/{creds.project_id}/export", headers=creds.headers(),
                              params={"kind": "connections", "start": str(now - 3_600_000)})
        assert exported.status_code == 200 and len(exported.text.splitlines()) == 51  # header + 50 connections

        # body limits: nginx refuses above 11 MiB, the server above its own 10 MiB, with its JSON error
        nine, ten_and_a_half, twelve = (b"[" + b" " * (n - 2) + b"]" for n in (9 << 20, 21 << 19, 12 << 20))
        assert client.post("/v1/events", content=twelve, headers=creds.headers()).status_code == 413
        refused = client.post("/v1/events", content=ten_and_a_half, headers=creds.headers())
        assert refused.status_code == 413 and refused.json()["error"]["errorCode"] == 1004
        assert client.post("/v1/events", content=nine, headers=creds.headers()).status_code == 200
        assert client.post("/-/admin/list_projects", json={}).status_code == 404  # never reaches the server

    deadline = time.monotonic() + 5  # the server logs a request once its response is sent: the last may lag
    while True:
        lines = access_lines(server)
        through = [e for e in lines if e["route"] in ("/login", "/graphql", "/v1/events", "/dashboard",
                                                         "/v1/projects/{project_id}/export")]
        if len(through) >= 8 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(through) >= 8
    assert {e["client"] for e in through} == {CLIENT_ADDRESS}  # not nginx's 127.0.0.1, not the forged 6.6.6.6
    ingest_line = next(e for e in through if e["route"] == "/v1/events" and e["status"] == 200)
    assert ingest_line["project"] == creds.project_id
    assert re.fullmatch(r"[0-9a-f]{32}", ingest_line["request_id"])  # nginx's $request_id, kept by the server
    assert not any(e["path"].startswith("/-/admin") for e in lines)


def test_http_redirects_to_https(proxied: Proxied, tmp_path: Path) -> None:
    conf = (tmp_path / "nginx.conf").read_text()
    http_port = re.search(r"listen 127\.0\.0\.1:(\d+);", conf)
    assert http_port
    response = httpx.get(f"http://127.0.0.1:{http_port[1]}/graphql", headers={"Host": "insights.example.com"})
    assert response.status_code == 301
    assert response.headers["location"] == "https://insights.example.com/graphql"


def test_client_key_ingest_is_throttled_by_the_forwarded_address(proxied: Proxied) -> None:
    url, cert, key = proxied.url, proxied.cert, proxied.client_key

    def send(source: str, i: int) -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=source, verify=ssl.create_default_context(cafile=cert))
        with httpx.Client(transport=transport, base_url=url, timeout=30) as client:
            event = {"id": f"k{source}-{i}", "type": "connectionCreated", "sessionId": "browser",
                     "timestamp": int(time.time() * 1000) - 1000, "connectionId": f"c{source}-{i}", "sdkType": "JS"}
            return client.post("/v1/events", content=orjson.dumps([event]), headers={
                "X-VideoInsights-Key": key, "Origin": APP, "Content-Type": "application/json"})

    first = send(CLIENT_ADDRESS, 1)
    assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
    assert first.headers["access-control-allow-origin"] == APP
    assert send(CLIENT_ADDRESS, 2).status_code == 200
    limited = send(CLIENT_ADDRESS, 3)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # another address behind the same nginx has its own budget: the server counts the forwarded address
    assert send("127.0.0.3", 1).status_code == 200
