"""A tiny real ingestion server for the poster tests, on 127.0.0.1, recording what it receives.

It implements only the contract the poster relies on (`POST /v1/events` ->
{"accepted", "duplicates", "rejected"}, deduplicating by id), plus switches to
inject failures. It stands in for the real server, which is tested elsewhere.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "test-token"


@dataclass
class Recorder:
    ids: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str | None, int]] = field(default_factory=list)
    fail_next: int = 0  # answer this many requests with 503
    max_events: int = 0  # answer bigger requests with 413 (0 = no limit)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()
            self.requests.clear()
            self.fail_next = self.max_events = 0


def make_app(rec: Recorder) -> Starlette:
    async def events(request: Request) -> JSONResponse:
        token = request.headers.get("x-opentok-auth")
        body = orjson.loads(await request.body())
        with rec.lock:
            rec.requests.append((token, len(body)))
            if rec.fail_next > 0:
                rec.fail_next -= 1
                return JSONResponse({"error": "try later"}, status_code=503)
            if token != TOKEN:
                return JSONResponse({"error": {"errorCode": 1001}}, status_code=401)
            if rec.max_events and len(body) > rec.max_events:
                return JSONResponse({"error": "too large"}, status_code=413)
            accepted = duplicates = 0
            rejected = []
            for i, ev in enumerate(body):
                if ev.get("type") == "bogus":
                    rejected.append({"index": i, "id": ev["id"], "error": "unknown type"})
                elif ev["id"] in rec.ids:
                    duplicates += 1
                else:
                    rec.ids[ev["id"]] = ev
                    accepted += 1
        return JSONResponse({"accepted": accepted, "duplicates": duplicates, "rejected": rejected})

    return Starlette(routes=[Route("/v1/events", events, methods=["POST"])])


@contextmanager
def running_server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(make_app(rec), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", rec
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()
