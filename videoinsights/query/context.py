"""Per-request state the resolvers share: who asks, where to read, when "now" is,
and the running count of result nodes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from videoinsights.auth.tokens import AuthContext
from videoinsights.domain.days import DAY_MS, la_day
from videoinsights.query.errors import NodeLimitError
from videoinsights.settings import Settings
from videoinsights.store.base import Project


@dataclass
class RequestContext:
    auth: AuthContext
    settings: Settings
    reader: Callable[[], Any]  # -> the store's read handle for this thread (a DuckDB cursor, a ClickHouse client)
    sql: Any  # the store's backend SQL modules (Store.sql): resolvers call sql.reads, sql.live
    lookup: Callable[[str], Project | None]
    now_ms: int
    node_budget: int | None = None  # set when the document's estimate exceeds the node limit
    # (project, session ids) -> None: sessions read, derived ahead of the backlog when dirty (derive/wanted.py)
    want_derived: Callable[[str, Sequence[str]], None] | None = None
    selected_project: str | None = None  # set by Query.project; one project per request
    nodes: int = 1
    _cursor: Any = field(default=None, repr=False)

    @property
    def cursor(self) -> Any:
        if self._cursor is None:
            self._cursor = self.reader()
        return self._cursor

    @property
    def auth_project_id(self) -> str:
        """The project every read is confined to (Query.project checked the caller may read it)."""
        return self.selected_project or self.auth.project_id

    @property
    def today(self) -> date:
        return la_day(self.now_ms)

    @property
    def raw_cutoff_ms(self) -> int:
        """Session data created before this is past the Advanced Insights retention."""
        return self.now_ms - self.settings.raw_retention_days * DAY_MS

    @property
    def first_daily_day(self) -> date:
        """Oldest day whose daily rollup is still kept."""
        return self.today - timedelta(days=self.settings.daily_retention_days)

    def row_cap(self) -> int | None:
        """Most rows a loader may still fetch (one more reveals an overrun); None = unlimited."""
        if self.node_budget is None:
            return None
        return max(self.node_budget - self.nodes, 0) + 1

    def count(self, n: int) -> None:
        """Record n more result nodes; refuse the query once past the budget."""
        self.nodes += n
        if self.node_budget is not None and self.nodes > self.node_budget:
            raise NodeLimitError(self.node_budget)
