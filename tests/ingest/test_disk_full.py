"""The disk filling up during ingestion (a 20 MB tmpfs, mounted when running as root): clear
5xx answers, nothing half-written, no corruption, and ingestion resumes when space returns."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds
from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.batch import validate_events
from videoinsights.ops import create_project
from videoinsights.store.base import StorageFull
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 20 MB tmpfs; torn down after the server using it has stopped (it is set up first)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        reason = "filling a disk needs root to mount a small tmpfs (not root here)"
        print(reason)
        pytest.skip(reason)
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def stats_events(prefix: str, n: int) -> list[dict]:
    return [{"id": f"{prefix}-{i}", "type": "publisherStats", "sessionId": f"s-{prefix}", "timestamp": NOW,
             "streamId": f"st-{prefix}", "videoBitrateKbps": 800.0 + i % 100, "videoCodec": "VP8" * 30}
            for i in range(n)]


def post(url: str, creds: ProjectCreds, events: list[dict]) -> httpx.Response:
    return httpx.post(f"{url}/v1/events", content=orjson.dumps(events), timeout=60,
                      headers={"X-OPENTOK-AUTH": creds.token(), "Content-Type": "application/json"})


def stored_ids(db: Path) -> list[str]:
    store = DuckDBStore(str(db), read_only=True)
    rows = store.reader().execute("SELECT event_id FROM events UNION ALL SELECT event_id FROM stats_samples")
    ids = [r[0] for r in rows.fetchall()]
    store.close()
    return ids


def test_full_disk_answers_507_then_resumes_without_loss(small_disk: Path, server_factory) -> None:
    db = small_disk / "vi.duckdb"
    store = DuckDBStore(str(db))
    made = create_project(store, "p")
    store.close()
    creds = ProjectCreds(str(made["projectId"]), made["apiSecret"], made["callbackToken"])
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 8_000_000)  # to free later, as an operator would
    server = server_factory(db=db)

    acked: list[str] = []
    full: httpx.Response | None = None
    for batch in range(1_000):
        events = stats_events(f"b{batch}", 1_000)
        r = post(server.url, creds, events)
        if r.status_code != 200:
            full, refused = r, events
            break
        acked += [e["id"] for e in events]
    assert full is not None, "the disk never filled"
    assert acked, "the disk filled before the first batch"
    assert full.status_code == 507
    assert "storage is full" in full.json()["error"]["message"]
    assert int(full.headers["Retry-After"]) > 0
    # Still answering, and still refusing cleanly while the disk stays full.
    again = post(server.url, creds, refused)
    assert again.status_code == 507

    filler.unlink()
    resumed = post(server.url, creds, refused)
    assert resumed.status_code == 200
    assert resumed.json() == {"accepted": len(refused), "duplicates": 0, "rejected": []}  # none half-written before
    acked += [e["id"] for e in refused]

    server.stop()  # with room to checkpoint (the log shares this disk, as it often does)
    server.start()  # restarts on the same file
    server.stop()
    ids = stored_ids(db)
    assert len(ids) == len(acked)  # none twice, none extra
    assert set(ids) == set(acked)


def test_store_reopens_after_a_checkpoint_fails_on_a_full_disk(small_disk: Path) -> None:
    """A failed checkpoint makes DuckDB invalidate the database; the store reopens it from its WAL."""
    db = small_disk / "vi.duckdb"
    store = DuckDBStore(str(db))
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 4_000_000)
    committed: list[str] = []
    with pytest.raises(StorageFull):
        for batch in range(1_000):
            events = stats_events(f"b{batch}", 1_000)
            columns = validate_events(events, "1", NOW, 0, NOW + 60_000).columns
            store.append_events([columns])
            committed += [e["id"] for e in events]
    with pytest.raises(StorageFull):
        store.checkpoint_raw()  # DuckDB gives up on the database here (the raw rows: their own file)
    filler.unlink()
    columns = validate_events(stats_events("after", 10), "1", NOW, 0, NOW + 60_000).columns
    assert store.append_events([columns]).inserted == [[True] * 10]  # reopened, WAL replayed
    store.close()
    ids = stored_ids(db)
    assert sorted(ids) == sorted(committed + [f"after-{i}" for i in range(10)])


def test_derivation_works_after_the_store_reopens(small_disk: Path) -> None:
    """Derivation has its own cursor; a reopen must replace it too (it belonged to the closed database)."""
    db = small_disk / "vi.duckdb"
    store = DuckDBStore(str(db))
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 14_000_000)  # freed: room to derive after
    batches = 0
    with pytest.raises(StorageFull):
        for batch in range(1_000):
            columns = validate_events(stats_events(f"b{batch}", 1_000), "1", NOW, 0, NOW + 60_000).columns
            store.append_events([columns])
            batches += 1
    with pytest.raises(StorageFull):
        store.checkpoint_raw()
    filler.unlink()
    columns = validate_events(stats_events("after", 10), "1", NOW, 0, NOW + 60_000).columns
    assert store.append_events([columns]).inserted == [[True] * 10]  # reopened here
    # one session per committed batch (s-b0, s-b1, ...) plus s-after, none derived yet
    assert derive_until_clean(store) == batches + 1
    assert store.dirty_session_count() == 0
    store.close()
