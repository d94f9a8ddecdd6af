"""/metrics' videoinsights_database_bytes comes from the store: what it takes on disk, on each backend,
and it grows with what is stored (DuckDB: file, WAL and dedup keys file; ClickHouse: active parts)."""

from __future__ import annotations

import time

from tests.support.stores import open_store
from videoinsights.ingest.batch import validate_events

NOW = int(time.time() * 1000) - 3_600_000


def samples(n: int) -> list[dict]:
    return [{"id": f"e{i}", "type": "publisherStats", "sessionId": f"s{i % 10}", "timestamp": NOW + i,
             "streamId": f"st{i % 10}", "videoBitrateKbps": float(i % 900), "videoCodec": f"codec-{i}"}
            for i in range(n)]


def test_storage_grows_with_what_is_stored(store_url: str) -> None:
    store = open_store(store_url)
    empty = store.storage_bytes()
    batch = validate_events(samples(20_000), "1", NOW + 60_000, 0, NOW + 3_600_000)
    store.append_events([batch.columns])
    store.checkpoint()
    grown = store.storage_bytes()
    store.close()
    assert grown > empty
    assert grown > 20_000  # at least a byte per stored event, whatever the compression
