"""Load events straight into a store (no HTTP): the demo, tests and benchmarks use it.
Same validation as POST /v1/events."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from videoinsights.ingest.batch import validate_events
from videoinsights.store.base import Store


@dataclass
class LoadResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


def load_events(
    store: Store,
    project_id: str,
    events: Iterable[dict[str, Any]],
    batch_size: int = 20_000,
    min_ts: int = 0,
    max_ts: int | None = None,
) -> LoadResult:
    """Validate and append events in batches; the caller owns the store (single writer)."""
    result = LoadResult()
    max_ts = max_ts if max_ts is not None else int(time.time() * 1000) + 300_000
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        batch = validate_events(pending, project_id, int(time.time() * 1000), min_ts, max_ts)
        result.rejected += len(batch.rejected)
        result.duplicates += batch.within_duplicates
        if batch.size:
            flags = store.append_events([batch.columns]).inserted[0]
            result.accepted += sum(flags)
            result.duplicates += len(flags) - sum(flags)
        pending.clear()

    for event in events:
        pending.append(event)
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    return result
