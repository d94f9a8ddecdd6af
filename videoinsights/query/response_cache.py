"""Whole-response cache for repeated queries, keyed by the store's data version.

Dashboards send the same few queries over and over, and a report's SQL
costs about a millisecond even on a tiny rollup: answering repeats from
memory is what lets one worker serve thousands of requests per second.

A response is reusable while nothing it could depend on has changed:
the caller's identity, the query text, variables and operation, the store's
`data_version` (bumped by the writer after every commit that changes what
reads return) and the current minute ("now" sets default ends, AUTO
intervals and retention windows). Without a `data_version` there is no
caching. Error responses are never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import orjson

from videoinsights.auth.tokens import AuthContext

MINUTE_MS = 60_000


class ResponseCache:
    """LRU of serialized response bodies. Used from the event-loop thread only."""

    def __init__(self, version: Callable[[], Hashable | None], now_ms: Callable[[], int],
                 max_entries: int = 4096, max_body_bytes: int = 256 * 1024) -> None:
        self._version = version
        self._now_ms = now_ms
        self._max_entries = max_entries
        self._max_body = max_body_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()

    def key(self, auth: AuthContext, query: str, variables: dict[str, Any] | None,
            operation: str | None) -> Hashable | None:
        """The cache key of a request, or None when responses cannot be cached now."""
        version = self._version()
        if version is None:
            return None
        try:
            vars_key = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
        except TypeError:
            return None
        return (version, self._now_ms() // MINUTE_MS, auth, query, vars_key, operation)

    def get(self, key: Hashable) -> bytes | None:
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self._max_body:
            return
        self._entries[key] = body
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
