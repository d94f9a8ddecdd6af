"""A short-lived in-memory cache of project records: every request needs its
project's key, and a database lookup per request would dominate small requests."""

from __future__ import annotations

import threading
import time

from videoinsights.store.base import Project, Store


class ProjectCache:
    def __init__(self, store: Store, ttl_s: float = 5.0) -> None:
        self._store = store
        self._ttl = ttl_s
        self._entries: dict[str, tuple[float, Project | None]] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str) -> Project | None:
        now = time.monotonic()
        entry = self._entries.get(project_id)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        project = self._store.get_project(project_id)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[project_id] = (now, project)
        return project

    def invalidate(self) -> None:
        with self._lock:
            self._entries.clear()
