"""Webhook deliveries connect to the address they checked (docs/alerts.md, "Private addresses"): the name is
resolved once per try, checked, and the request goes to that address with the name in the Host header and,
for https, in the TLS SNI and the certificate check. A second resolution that answers differently (DNS
rebinding) therefore cannot redirect the request.

The receivers are real HTTP(S) servers on 127.0.0.1; only the DNS answer is given by the test (a resolver
function), for names under .test, which the system resolver never resolves (RFC 2606)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from videoinsights.alerts.webhooks import Outcome, Policy, deliver

NAME = "hooks.test"


@dataclass
class Seen:
    hosts: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


def serve(context: ssl.SSLContext | None = None) -> tuple[ThreadingHTTPServer, Seen]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: seen.server_names.append(name)  # type: ignore[assignment]
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def resolver(answers: dict[str, list[str]], asked: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if asked is not None:
            asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]
    return resolve


def send(url: str, resolve: Any, allow_private: bool, client: httpx.AsyncClient | None = None) -> Outcome:
    async def run() -> Outcome:
        async def progress(*_: Any) -> None:
            pass
        async with client or httpx.AsyncClient(follow_redirects=False) as c:
            policy = Policy(max_attempts=1, timeout_s=5, allow_private=allow_private)
            return await deliver(c, url, "secret", b"{}", policy, progress, lambda: 1_700_000_000.0, resolve=resolve)
    return asyncio.run(run())


@pytest.fixture
def http_receiver() -> Iterator[tuple[int, Seen]]:
    server, seen = serve()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_the_system_resolver_does_not_know_the_name() -> None:
    """What makes the next tests meaningful: a request by name could not reach the receiver."""
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(NAME, 80)


def test_connects_to_the_checked_address_with_the_name_as_host(http_receiver: tuple[int, Seen]) -> None:
    port, seen = http_receiver
    asked: list[str] = []
    outcome = send(f"http://{NAME}:{port}/hook", resolver({NAME: ["127.0.0.1"]}, asked), allow_private=True)
    assert (outcome.status, outcome.http_status) == ("delivered", 204)
    assert asked == [NAME]  # resolved once, by the check
    assert seen.hosts == [f"{NAME}:{port}"]


def test_tries_the_next_checked_address_when_one_refuses(http_receiver: tuple[int, Seen]) -> None:
    port, seen = http_receiver
    # nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1 only): refused, then the next address
    outcome = send(f"http://{NAME}:{port}/hook", resolver({NAME: ["127.0.0.2", "127.0.0.1"]}), allow_private=True)
    assert outcome.status == "delivered"
    assert seen.hosts == [f"{NAME}:{port}"]


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["8.8.8.8", "10.0.0.1"], ["::ffff:192.168.1.5"]])
def test_a_private_address_is_refused_before_connecting(http_receiver: tuple[int, Seen], answer: list[str]) -> None:
    port, seen = http_receiver
    outcome = send(f"http://{NAME}:{port}/hook", resolver({NAME: answer}), allow_private=False)
    assert outcome.status == "refused" and outcome.attempts == 0
    assert "private" in (outcome.error or "")
    assert seen.hosts == []


def test_an_unresolvable_name_is_refused_without_the_opt_in() -> None:
    outcome = send(f"http://{NAME}/hook", resolver({}), allow_private=False)
    assert outcome.status == "refused" and "cannot resolve" in (outcome.error or "")


def _certificate(tmp: Path, name: str) -> tuple[Path, Path]:
    cert, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.parametrize(("certified", "expected"), [(NAME, "delivered"), ("other.test", "failed")])
def test_https_keeps_the_name_for_sni_and_the_certificate(tmp_path: Path, certified: str, expected: str) -> None:
    """Over TLS to the pinned address: the server sees the name in SNI, and the certificate must be the name's
    (one for another name fails the try, as it would without pinning)."""
    cert, key = _certificate(tmp_path, certified)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server, seen = serve(context)
    try:
        port = server.server_address[1]
        trusted = httpx.AsyncClient(follow_redirects=False, verify=ssl.create_default_context(cafile=str(cert)))
        outcome = send(f"https://{NAME}:{port}/hook", resolver({NAME: ["127.0.0.1"]}), allow_private=True,
                       client=trusted)
        assert outcome.status == expected, outcome
        assert seen.server_names == [NAME]
        if expected == "delivered":
            assert seen.hosts == [f"{NAME}:{port}"]
        else:
            assert seen.hosts == [] and "CERTIFICATE_VERIFY_FAILED" in (outcome.error or "")
    finally:
        server.shutdown()
        server.server_close()
