"""The long-lived objects a running server shares between requests."""

from __future__ import annotations

from dataclasses import dataclass

from videoinsights.auth.cache import ProjectCache
from videoinsights.settings import Settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import Writer


@dataclass
class Services:
    settings: Settings
    store: DuckDBStore
    writer: Writer
    projects: ProjectCache
    admin_token: str
    started_at: float
