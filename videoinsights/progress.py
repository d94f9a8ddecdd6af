"""Progress bars for long commands (demo, simulate, rebuild, export), drawn with rich on a terminal.

When stderr is not a terminal (CI, a pipe, a log file) nothing is drawn: the commands print
their one-line summaries as before, so logs stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from videoinsights.domain.days import DAY_MS


def interactive() -> bool:
    return sys.stderr.isatty()


class _Rate(ProgressColumn):
    """Items per second, with the task's unit."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        return Text(f"{speed:,.0f} {unit}/s" if speed else f"- {unit}/s", style="progress.data.speed")


class Bar:
    """One progress line: `with Bar("loading", total=n, unit="events") as bar: bar.advance(k)`.

    `note` adds text after the counts (e.g. "1,204 sessions"). A no-op unless stderr is a terminal."""

    def __init__(self, description: str, total: float | None = None, unit: str = "events",
                 enabled: bool | None = None) -> None:
        self.enabled = interactive() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._description = description
        self._total = total
        self._unit = unit

    def __enter__(self) -> Bar:
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
                _Rate(), TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self._total, unit=self._unit, note="")
        return self

    def advance(self, amount: float = 1, **fields: Any) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=amount, **fields)

    def update(self, **fields: Any) -> None:
        """Set completed, total, description or note."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, **fields)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


def track_events(events: Iterable[dict[str, Any]], bar: Bar, start_ms: int,
                 every: int = 5_000) -> Iterator[dict[str, Any]]:
    """Pass events through, moving `bar` (total: days) to the simulated time reached, with counts of
    events and sessions and the event rate in its note. Events come in (about) timestamp order."""
    if not bar.enabled:
        yield from events
        return
    sessions: set[Any] = set()
    started = time.monotonic()
    reached = start_ms
    for n, event in enumerate(events, 1):
        sessions.add(event.get("sessionId"))
        ts = event.get("timestamp")
        if isinstance(ts, int) and ts > reached:
            reached = ts
        if n % every == 0:
            rate = n / max(time.monotonic() - started, 1e-9)
            bar.update(completed=(reached - start_ms) / DAY_MS,
                       note=f"{n:,} events, {len(sessions):,} sessions, {rate:,.0f} events/s")
        yield event
