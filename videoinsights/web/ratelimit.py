"""Per-key request limits: token buckets kept in memory, one per key.

A bucket holds up to `limit` requests and refills at `limit / window_s` per
second, so a caller can burst up to its limit and then sustain the average.
The server keeps one `RateLimiter` per kind of key (project, client key,
address); `check` answers how long to wait, which becomes `Retry-After`.
Limits are per process: behind several processes each enforces its own.
"""

from __future__ import annotations

import math
import threading
import time

from videoinsights.web.responses import JSONResponse, error_response

# The spec's error table has no code for "too many requests": errorCode is null, status 429.
RATE_LIMITED_CODE = None


class RateLimiter:
    """`limit` requests per `window_s` seconds for each key; a limit of 0 disables it."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self._rate = limit / window_s if limit > 0 else 0.0
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated at)
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> float:
        """Take one request from `key`'s bucket: 0.0 if allowed, else seconds until it would be."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - updated) * self._rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0.0
            self._store(key, tokens, now)
            return (1.0 - tokens) / self._rate

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            self._forget_full(now)
        self._buckets[key] = (tokens, now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they hold no state); if none, start over rather than grow."""
        full = [k for k, (t, u) in self._buckets.items() if t + (now - u) * self._rate >= self.limit]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()


def rate_limited_response(retry_after_s: float, what: str) -> JSONResponse:
    """429 with `Retry-After` (whole seconds, at least 1) and the REST error shape."""
    seconds = max(1, math.ceil(retry_after_s))
    response = error_response(
        429, f"Too many requests for this {what}; retry after {seconds} s.", RATE_LIMITED_CODE
    )
    response.headers["Retry-After"] = str(seconds)
    return response
