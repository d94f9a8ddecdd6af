"""Validate a list of events into column lists for the store, collecting
per-event rejections the way bulk APIs report them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from videoinsights.domain.events import RAW_COLUMNS
from videoinsights.ingest.validate import EventError, to_row


@dataclass
class Rejection:
    index: int
    id: str | None
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "error": self.error}


@dataclass
class ValidatedBatch:
    """Accepted rows as column lists (only the columns some row uses), plus rejections."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    within_duplicates: int = 0  # same id twice in one request

    @property
    def size(self) -> int:
        return len(self.columns.get("event_id", ()))


def validate_events(events: list[Any], project_id: str, received_at: int, min_ts: int, max_ts: int) -> ValidatedBatch:
    batch = ValidatedBatch()
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for index, event in enumerate(events):
        try:
            row = to_row(event, project_id, received_at, min_ts, max_ts)
        except EventError as exc:
            event_id = event.get("id") if isinstance(event, dict) else None
            batch.rejected.append(Rejection(index, event_id if isinstance(event_id, str) else None, str(exc)))
            continue
        if row["event_id"] in seen:
            batch.within_duplicates += 1
            continue
        seen.add(row["event_id"])
        rows.append(row)
        used.update(row)
    if rows:
        batch.columns = {c: [r.get(c) for r in rows] for c in RAW_COLUMNS if c in used}
    return batch
