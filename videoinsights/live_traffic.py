"""Real-time simulated traffic for `videoinsights demo`: the simulator's sessions, posted to the
running server's /v1/events as their timestamps come due, so the Live view's minute chart moves.

It starts half an hour back (posted at once: sessions are already live when the page opens), then
follows the clock, one simulated day after the other, until the server stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx

from videoinsights.auth.tokens import issue_project_token
from videoinsights.domain.days import DAY_MS
from videoinsights.simulate.generator import generate

log = logging.getLogger(__name__)
HEAD_START_MS = 30 * 60_000
MAX_BATCH = 500


def _now_ms() -> int:
    return int(time.time() * 1000)


class LiveTraffic(threading.Thread):
    """Posts simulated events of `sessions_per_hour` sessions (on average) in real time."""

    def __init__(self, url: str, project_id: str, secret: str, sessions_per_hour: float, seed: int) -> None:
        super().__init__(name="demo-live-traffic", daemon=True)
        self.url, self.project_id, self.secret = url, project_id, secret
        self.sessions_per_hour, self.seed = sessions_per_hour, seed
        self.stopping = threading.Event()
        self.posted = 0

    def stop(self) -> None:
        self.stopping.set()

    def _events(self) -> Iterator[dict]:
        start = _now_ms() - HEAD_START_MS
        while True:
            yield from generate(self.project_id, start, 1, self.sessions_per_hour * 24, f"live-{self.seed}-{start}")
            start += DAY_MS

    def _post(self, client: httpx.Client, batch: list[dict]) -> None:
        if not batch:
            return
        token = issue_project_token(self.project_id, self.secret, 600)
        try:
            r = client.post(f"{self.url}/v1/events", json=batch, headers={"X-OPENTOK-AUTH": token}, timeout=30)
            if r.status_code == 200:
                self.posted += int(r.json().get("accepted", 0))
            else:
                log.warning("demo traffic: the server answered %s", r.status_code)
        except httpx.HTTPError as error:
            log.warning("demo traffic: %s", error)
        batch.clear()

    def _wait_healthy(self, client: httpx.Client) -> bool:
        while not self.stopping.is_set():
            try:
                if client.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self.stopping.wait(0.5)
        return False

    def run(self) -> None:
        with httpx.Client() as client:
            if not self._wait_healthy(client):
                return
            batch: list[dict] = []
            for event in self._events():
                due = int(event["timestamp"]) - _now_ms()  # type: ignore[call-overload]
                if due > 0 or len(batch) >= MAX_BATCH:
                    self._post(client, batch)
                if due > 0 and self.stopping.wait(due / 1000):
                    return
                if self.stopping.is_set():
                    return
                batch.append(event)
