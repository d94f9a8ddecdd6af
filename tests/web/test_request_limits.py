"""Request size limits against a real server: oversized bodies (declared or chunked) get 413, oversized or
too many headers 431, and the server stays small and keeps answering normal requests."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, Server, create_login, create_project, free_port
from videoinsights.control import sidecar_path

PASSWORD = "open sesame 42"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, ProjectCreds]]:
    db = tmp_path_factory.mktemp("limits") / "vi.duckdb"
    creds = create_project(db, "Limits")
    create_login(db, "ann@example.com", PASSWORD)
    server = Server(db, free_port())
    server.start()
    yield server, creds
    server.stop()


def rss_kib(server: Server) -> int:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body (no Content-Length) of `total` bytes."""
    block = b"a" * size
    for _ in range(total // size):
        yield block


def login(client: httpx.Client, email: str = "ann@example.com", password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/login", data={"csrf": token.group(1), "next": "/", "email": email, "password": password})


def assert_413(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["status"] == 413 and error["errorCode"] == 1004 and str(limit) in error["message"]


def test_chunked_50_mib_login_body_is_refused_and_memory_stays_low(site: Any) -> None:
    server, _ = site
    before = rss_kib(server)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post("/login", content=chunks(50 * MIB),
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert_413(response, 64 * 1024)
        assert response.request.headers["transfer-encoding"] == "chunked"
    assert rss_kib(server) - before < 100 * 1024
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ok = login(client)
        assert ok.status_code == 303 and ok.headers["location"] == "/"


@pytest.mark.parametrize("path", ["/logout", "/account/project", "/-/admin/list_projects"])
def test_every_other_route_stops_at_the_form_limit(site: Any, path: str) -> None:
    server, _ = site
    admin_token = json.loads(sidecar_path(str(server.db)).read_text())["token"]
    with httpx.Client(base_url=server.url, timeout=60, headers={"authorization": f"Bearer {admin_token}"}) as client:
        assert_413(client.post(path, content=b"x" * (64 * 1024 + 1)), 64 * 1024)  # declared length
        if path != "/account/project":  # that one sends strangers to /login before reading anything
            assert_413(client.post(path, content=chunks(2 * MIB)), 64 * 1024)
    with httpx.Client(base_url=server.url, timeout=60, headers={"authorization": f"Bearer {admin_token}"}) as client:
        ok = client.post("/-/admin/list_projects", json={})
        assert ok.status_code == 200 and [p["name"] for p in ok.json()["result"]] == ["Limits"]


def test_graphql_body_limit(site: Any) -> None:
    server, creds = site
    with httpx.Client(base_url=server.url, timeout=60, headers=creds.headers()) as client:
        chunked = client.post("/graphql", content=chunks(8 * MIB), headers={"content-type": "application/graphql"})
        assert_413(chunked, MIB)
        assert chunked.json()["errors"][0]["extensions"]["code"] == 1004  # GraphQL clients read `errors`
        assert_413(client.post("/graphql", json={"query": "{ __typename }", "pad": "x" * MIB}), MIB)
        # just under the limit: the rest of the body is whitespace, and the query runs
        padded = b'{"query": "{ __typename }"}' + b" " * (MIB - 100)
        ok = client.post("/graphql", content=padded, headers={"content-type": "application/json"})
        assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}


def test_ingestion_keeps_its_own_larger_limit(site: Any) -> None:
    server, creds = site
    with httpx.Client(base_url=server.url, timeout=60, headers=creds.headers()) as client:
        assert_413(client.post("/v1/events", content=chunks(12 * MIB)), 10 * MIB)
        callback = f"/v1/projects/{creds.project_id}/callbacks/vonage?token={creds.callback_token}"
        assert_413(client.post(callback, content=chunks(12 * MIB)), 10 * MIB)
        # a 2 MiB body (over the form and GraphQL limits) reaches the ingestion handler: 400 for bad JSON
        big = client.post("/v1/events", content=b"[" + b" " * (2 * MIB) + b"nope]")
        assert big.status_code == 400 and big.json()["error"]["errorCode"] == 1022


def raw_request(server: Server, head: bytes) -> bytes:
    """Send a raw request head; return everything the server answers before closing."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may hang up while we are still sending: its answer is already on the way
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_32_mib_header_gets_431_and_the_server_stays_healthy(site: Any) -> None:
    server, creds = site
    before = rss_kib(server)
    head = (b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-OPENTOK-AUTH: " + b"a" * (32 * MIB) + b"\r\n"
            b"Content-Length: 0\r\n\r\n")
    answer = raw_request(server, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"status":431' in answer
    assert rss_kib(server) - before < 100 * 1024
    ok = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"}, headers=creds.headers())
    assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}


def test_a_head_just_under_the_limit_is_served(site: Any) -> None:
    server, _ = site
    big_cookie = "c=" + "v" * (60 * 1024)
    response = httpx.get(f"{server.url}/health", headers={"cookie": big_cookie})
    assert response.status_code == 200


def test_too_many_header_lines_get_431(site: Any) -> None:
    server, creds = site
    many = [(f"x-filler-{i}", "1") for i in range(150)]
    response = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"},
                          headers=[*creds.headers().items(), *many])
    assert response.status_code == 431 and response.json()["error"]["status"] == 431
    few = [(f"x-filler-{i}", "1") for i in range(50)]
    ok = httpx.post(f"{server.url}/graphql", json={"query": "{ __typename }"},
                    headers=[*creds.headers().items(), *few])
    assert ok.status_code == 200
