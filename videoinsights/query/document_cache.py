"""An LRU of prepared documents bounded by the size of their query texts, not their number.

A parsed and validated document costs memory roughly in proportion to its
query text (its syntax tree takes tens of bytes per character), so a cache
of 1024 entries could hold 1024 huge documents. Here every entry is charged
its query's length; the least recently used entries go when the total passes
`max_chars`, and a query longer than `max_entry_chars` is never kept (it is
prepared again if sent again, which the document limits keep affordable).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class DocumentCache(Generic[V]):
    """Thread-safe LRU keyed by query text, charged by query length."""

    def __init__(self, max_chars: int, max_entry_chars: int) -> None:
        self.max_chars = max_chars
        self.max_entry_chars = min(max_entry_chars, max_chars)
        self._entries: OrderedDict[str, V] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    @property
    def chars(self) -> int:
        """Query characters held now (at most max_chars)."""
        return self._chars

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, query: object) -> bool:
        return query in self._entries

    def get_or_make(self, query: str, make: Callable[[str], V]) -> V:
        """The cached value for `query`, else make(query) (kept if the query is small enough)."""
        with self._lock:
            hit = self._entries.get(query)
            if hit is not None:
                self._entries.move_to_end(query)
                return hit
        value = make(query)  # outside the lock: preparing a document takes a while
        if len(query) > self.max_entry_chars:
            return value
        with self._lock:
            if query not in self._entries:
                self._entries[query] = value
                self._chars += len(query)
                while self._chars > self.max_chars:
                    old, _ = self._entries.popitem(last=False)
                    self._chars -= len(old)
        return value
