"""The database and its WAL hold API secrets, callback tokens, the cookie key and password
hashes: they are created readable by their owner only, by the server and the offline CLI alike."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import cli, create_project
from videoinsights.ops import create_project as create_project_in
from videoinsights.store.duckdb.store import DuckDBStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def lax_umask() -> Iterator[None]:
    """Start from the common default umask (022), which used to give 0644 files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_offline_cli_creates_an_owner_only_database(tmp_path) -> None:
    db = tmp_path / "vi.duckdb"
    cli(db, "projects", "create", "--name", "p")
    assert mode(db) == 0o600
    assert "p" in cli(db, "projects", "list")  # and it is still the owner's to use


def test_server_database_and_wal_are_owner_only(tmp_path, server_factory) -> None:
    db = tmp_path / "vi.duckdb"
    creds = create_project(db)
    server = server_factory()
    event = {"id": "e1", "type": "connectionCreated", "sessionId": "s1", "timestamp": int(time.time() * 1000),
             "connectionId": "c1"}
    r = httpx.post(f"{server.url}/v1/events", json=[event], headers=creds.headers())
    assert r.json()["accepted"] == 1
    wal = Path(f"{db}.wal")
    assert wal.exists()  # the commit went to the WAL (the server checkpoints only every minute)
    assert mode(wal) == 0o600
    assert mode(db) == 0o600


def test_files_left_readable_by_an_older_version_are_tightened(tmp_path) -> None:
    db = tmp_path / "vi.duckdb"
    DuckDBStore(str(db)).close()
    os.chmod(db, 0o644)
    store = DuckDBStore(str(db))
    assert mode(db) == 0o600
    store.close()


def test_a_store_in_process_creates_its_wal_owner_only(tmp_path) -> None:
    db = tmp_path / "vi.duckdb"
    store = DuckDBStore(str(db))
    create_project_in(store, "p")  # a write: lands in the WAL
    assert mode(db) == 0o600 and mode(Path(f"{db}.wal")) == 0o600
    store.close()


def test_spill_files_are_owner_only(tmp_path) -> None:
    """DuckDB spills large sorts to `<db>.tmp/` when memory runs short: those hold raw rows too."""
    db = tmp_path / "vi.duckdb"
    store = DuckDBStore(str(db))
    cur = store.reader()
    cur.execute("SET memory_limit = '64MB'")
    cur.execute("SET threads = 1")
    modes: dict[str, int] = {}
    stop = threading.Event()

    def watch() -> None:  # spill files live only while the query runs
        while not stop.is_set():
            for path in Path(f"{db}.tmp").rglob("*") if Path(f"{db}.tmp").exists() else ():
                with contextlib.suppress(FileNotFoundError):
                    modes[path.name] = mode(path)
            with contextlib.suppress(FileNotFoundError):
                modes[".tmp"] = mode(Path(f"{db}.tmp"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        rows = cur.execute(
            "SELECT count(DISTINCT b) FROM (SELECT md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS b"
            " FROM range(1500000) ORDER BY b)"
        ).fetchone()
    finally:
        stop.set()
        watcher.join()
    assert rows == (1_500_000,)  # the query still works
    assert modes.get(".tmp") == 0o700, modes
    spilled = {name: m for name, m in modes.items() if name != ".tmp"}
    assert spilled and set(spilled.values()) == {0o600}, modes
    store.close()
