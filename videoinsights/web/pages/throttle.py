"""Slows password guessing: a bounded number of failed logins per client address
and per (address, email) in a sliding window, kept in memory.

A login attempt first *reserves* a failure slot (check and count under one
lock), and only then verifies the password; a correct password gives the
slot back. Concurrent guesses therefore can't all pass the check before any
of them is counted."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque


class LoginThrottle:
    def __init__(self, per_email: int = 10, per_address: int = 50, window_s: float = 900.0) -> None:
        self._limits = {"email": per_email, "address": per_address}
        self._window = window_s
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, address: str, email: str) -> list[tuple[tuple[str, ...], int]]:
        return [(("address", address), self._limits["address"]), (("email", address, email), self._limits["email"])]

    def reserve(self, address: str, email: str) -> float | None:
        """Count one attempt as failed, unless a limit is reached: the attempt's stamp, or None (refuse it)."""
        now = time.monotonic()
        with self._lock:
            for key, limit in self._keys(address, email):
                times = self._failures.get(key)
                while times and now - times[0] > self._window:
                    times.popleft()
                if times is not None and len(times) >= limit:
                    return None
            if len(self._failures) > 100_000:  # a flood of distinct keys: start over rather than grow
                self._failures.clear()
            for key, _ in self._keys(address, email):
                self._failures.setdefault(key, deque()).append(now)
        return now

    def succeeded(self, address: str, email: str, stamp: float) -> None:
        """The attempt reserved at `stamp` was right: give its address slot back and forget the email's failures."""
        with self._lock:
            self._failures.pop(("email", address, email), None)
            times = self._failures.get(("address", address))
            if times is not None:
                with contextlib.suppress(ValueError):  # already out of the window
                    times.remove(stamp)
