"""The database and its WAL hold API secrets, callback tokens, the cookie key and password
hashes: they are created readable by their owner only, by the server and the offline CLI alike."""

from __future__ import annotations

import os
import stat
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
