"""Post events to a running server's `POST /v1/events`, as a steady load.

Events are cut into batches (JSON arrays) and sent by `concurrency` worker
threads, each with its own HTTP connection, with a fresh token from
`token_provider()` in `X-OPENTOK-AUTH` on every request. `rate` paces the
batches so the n-th event leaves no earlier than `start + n / rate`.

Failures: connection errors, timeouts, 408, 429 and 5xx are retried with
exponential backoff (honouring Retry-After) up to `max_retries` times; a
retried batch carries the same event ids, so the server deduplicates what it
already stored. 401/403 get one retry with a new token; 413 splits the batch;
other 4xx count the batch as rejected. 401/403/404 that persist stop the run.

The server answers `{"accepted": N, "duplicates": M, "rejected": [{"index",
"id", "error"}]}`; *acknowledged* = accepted + duplicates (events the server
confirms it holds).
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from random import Random
from typing import TextIO

import httpx
import orjson

Event = dict[str, object]
RETRY_STATUS = frozenset({408, 425, 429})
FATAL_STATUS = frozenset({401, 403, 404})
MAX_ERRORS = 20


@dataclass
class PostStats:
    sent: int = 0  # events in requests the server answered with 2xx
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retried: int = 0  # requests sent again
    failed: int = 0  # events given up on (never acknowledged)
    requests: int = 0
    elapsed_s: float = 0.0
    aborted: bool = False  # stopped early (persistent 401/403/404): later events were not sent
    errors: list[str] = field(default_factory=list)  # the first few problems, for the user
    latencies_ms: list[float] = field(default_factory=list)  # per 2xx request, send to response

    def latency_ms(self, quantile: float) -> float | None:
        """A request-latency quantile (0.5 = median) over the 2xx requests, or None."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    @property
    def acknowledged(self) -> int:
        return self.accepted + self.duplicates

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.rejected == 0 and not self.aborted

    def line(self) -> str:
        rate = self.acknowledged / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (f"{self.sent:,} sent | {self.acknowledged:,} acknowledged ({rate:,.0f} ev/s) | "
                f"{self.duplicates:,} duplicates | {self.rejected:,} rejected | {self.retried:,} retried | "
                f"{self.failed:,} failed")


class RateLimiter:
    """Steady pacing: the n-th unit may go no earlier than start + n / rate."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate is not None and rate <= 0:
            rate = None
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.start: float | None = None
        self.count = 0

    def wait(self, n: int) -> None:
        if self.rate is None:
            return
        now = self.clock()
        if self.start is None:
            self.start = now
        due = self.start + self.count / self.rate
        if due > now:
            self.sleep(due - now)
        self.count += n


class _Poster:
    def __init__(self, url: str, token_provider: Callable[[], str], concurrency: int, max_retries: int,
                 timeout: float) -> None:
        self.endpoint = url.rstrip("/") + "/v1/events"
        self.token_provider = token_provider
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.stats = PostStats()
        self.lock = threading.Lock()
        self.abort = threading.Event()
        self.jitter = Random()  # backoff jitter only; never affects the events

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.stats.errors) < MAX_ERRORS:
                self.stats.errors.append(message)

    def count(self, **deltas: int) -> None:
        with self.lock:
            for k, v in deltas.items():
                setattr(self.stats, k, getattr(self.stats, k) + v)

    def worker(self, q: queue.Queue[list[Event] | None]) -> None:
        with httpx.Client(timeout=self.timeout, limits=httpx.Limits(max_connections=1)) as client:
            while (batch := q.get()) is not None:
                if self.abort.is_set():
                    self.count(failed=len(batch))
                    continue
                try:
                    self.send(client, batch)
                except Exception as exc:  # a bug or an odd response must not hang the run
                    self.error(f"unexpected error: {exc!r}")
                    self.count(failed=len(batch))

    def send(self, client: httpx.Client, batch: list[Event]) -> None:
        body = orjson.dumps(batch)
        tries, refreshed = 0, False
        while True:
            retry_after = 0.0
            try:
                self.count(requests=1)
                sent_at = time.perf_counter()
                resp = client.post(self.endpoint, content=body, headers={
                    "X-OPENTOK-AUTH": self.token_provider(), "Content-Type": "application/json"})
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = resp.status_code
                if 200 <= status < 300:
                    self.acknowledge(batch, resp, (time.perf_counter() - sent_at) * 1000)
                    return
                problem = f"HTTP {status}: {resp.text[:200]}"
                if status in (401, 403) and not refreshed:
                    refreshed = True
                    self.count(retried=1)
                    continue
                if status == 413 and len(batch) > 1:
                    half = len(batch) // 2
                    self.send(client, batch[:half])
                    self.send(client, batch[half:])
                    return
                if status not in RETRY_STATUS and status < 500:
                    self.error(problem)
                    if status in FATAL_STATUS:
                        self.abort.set()
                        self.count(failed=len(batch))
                    else:
                        self.count(rejected=len(batch))
                    return
                retry_after = _retry_after(resp)
            tries += 1
            if tries > self.max_retries or self.abort.is_set():
                self.error(f"gave up after {tries} tries: {problem}")
                self.count(failed=len(batch))
                return
            self.count(retried=1)
            time.sleep(max(retry_after, min(8.0, 0.25 * 2 ** (tries - 1)) * (0.5 + self.jitter.random())))

    def acknowledge(self, batch: list[Event], resp: httpx.Response, took_ms: float) -> None:
        try:
            data = resp.json()
            accepted, duplicates = int(data.get("accepted", 0)), int(data.get("duplicates", 0))
            rejected = list(data.get("rejected") or [])
        except (ValueError, AttributeError, TypeError):
            self.error(f"unexpected response body: {resp.text[:200]}")
            accepted, duplicates, rejected = len(batch), 0, []
        for r in rejected[:3]:
            self.error(f"rejected {r.get('id')!r}: {r.get('error')}" if isinstance(r, dict) else f"rejected: {r!r}")
        self.count(sent=len(batch), accepted=accepted, duplicates=duplicates, rejected=len(rejected))
        with self.lock:
            self.stats.latencies_ms.append(took_ms)


def _retry_after(resp: httpx.Response) -> float:
    try:
        return min(30.0, float(resp.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def post_events(url: str, token_provider: Callable[[], str], events: Iterable[Event], batch_size: int = 1000,
                concurrency: int = 4, rate: float | None = None, *, max_retries: int = 8, timeout: float = 30.0,
                progress: TextIO | None = sys.stderr, progress_every_s: float = 0.5) -> PostStats:
    """Post `events` to `{url}/v1/events`; returns the totals once every batch is settled."""
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be >= 1")
    poster = _Poster(url, token_provider, concurrency, max_retries, timeout)
    q: queue.Queue[list[Event] | None] = queue.Queue(maxsize=2 * concurrency)
    workers = [threading.Thread(target=poster.worker, args=(q,), name=f"post-{i}", daemon=True)
               for i in range(concurrency)]
    started = time.monotonic()
    done = threading.Event()

    def report(final: bool = False) -> None:
        if progress is None:
            return
        with poster.lock:
            poster.stats.elapsed_s = time.monotonic() - started
            text = poster.stats.line()
        tty = getattr(progress, "isatty", lambda: False)()
        progress.write(("\r" + text + ("\n" if final else "")) if tty else text + "\n")
        progress.flush()

    def reporter() -> None:
        tty = progress is not None and getattr(progress, "isatty", lambda: False)()
        every = progress_every_s if tty else max(progress_every_s, 5.0)
        while not done.wait(every):
            report()

    for w in workers:
        w.start()
    ticker = threading.Thread(target=reporter, name="post-progress", daemon=True)
    ticker.start()
    limiter = RateLimiter(rate)
    it = iter(events)
    try:
        while not poster.abort.is_set() and (batch := list(islice(it, batch_size))):
            limiter.wait(len(batch))
            q.put(batch)
    finally:
        for _ in workers:
            q.put(None)
        for w in workers:
            w.join()
        done.set()
        ticker.join()
    poster.stats.elapsed_s = time.monotonic() - started
    poster.stats.aborted = poster.abort.is_set()
    report(final=True)
    return poster.stats
