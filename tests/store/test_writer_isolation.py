"""One request's batch that the store cannot take must fail alone: the writer commits
queued batches together, and retries them one by one when that group commit fails."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from videoinsights.ingest.batch import validate_events
from videoinsights.settings import Settings
from videoinsights.store.base import RejectedBatch
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.writer import Writer

NOW = int(time.time() * 1000)


def attempts(project: str, n: int) -> dict[str, list[Any]]:
    """A validated batch of n failed connect attempts of one project (error code 1006)."""
    events = [{"id": f"{project}-{i}", "type": "connectAttempt", "sessionId": f"{project}-s", "timestamp": NOW,
               "outcome": "failure", "errorCode": 1006} for i in range(n)]
    batch = validate_events(events, project, NOW, 0, NOW + 60_000)
    assert batch.size == n and not batch.rejected
    return batch.columns


def stored_ids(store: DuckDBStore, table: str) -> set[str]:
    return {r[0] for r in store.reader().execute(f"SELECT event_id FROM {table}").fetchall()}


def stored_keys(path: str) -> set[str]:
    """The event ids in the dedup keys file beside the database (store/duckdb/dedup.py)."""
    con = sqlite3.connect(f"{path}.keys")
    try:
        return {r[0] for r in con.execute("SELECT event_id FROM keys").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [("error_code", 2**63), ("session_id", None)],  # past BIGINT (validation prevents it) / a NOT NULL column
    ids=["bigint-overflow", "not-null"],
)
def test_a_bad_batch_in_a_group_commit_fails_alone(tmp_path, column: str, value: Any) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    writer = Writer(store, Settings(db=str(tmp_path / "vi.duckdb")))
    good = {f"p{i}": writer.append(attempts(f"p{i}", 50)) for i in range(20)}
    bad_columns = attempts("bad", 50)
    bad_columns[column][17] = value  # one row the columns can't hold, as a bypassed validator would let through
    bad = writer.append(bad_columns)
    good["late"] = writer.append(attempts("late", 5))  # queued after the bad one, same group
    writer.start()  # everything queued so far is taken as one group commit
    try:
        for project, future in good.items():
            assert future.result(timeout=30) == [True] * (5 if project == "late" else 50), project
        with pytest.raises(RejectedBatch):
            bad.result(timeout=30)
        # the writer is still alive and takes the next batch
        assert writer.append(attempts("after", 3)).result(timeout=30) == [True] * 3
    finally:
        writer.stop()
    expected = {f"p{i}-{j}" for i in range(20) for j in range(50)} | {f"late-{j}" for j in range(5)}
    expected |= {f"after-{j}" for j in range(3)}
    assert stored_ids(store, "events") == expected  # not one row of the bad batch ...
    store.close()
    assert stored_keys(str(tmp_path / "vi.duckdb")) == expected  # ... nor its dedup keys: it can be resent once fixed


def test_a_lone_valid_batch_still_commits_in_one_go(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    writer = Writer(store, Settings(db=str(tmp_path / "vi.duckdb")))
    futures = [writer.append(attempts(f"p{i}", 10)) for i in range(3)]
    writer.start()
    try:
        assert [f.result(timeout=30) for f in futures] == [[True] * 10] * 3
    finally:
        writer.stop()
    assert writer.stats.commits == 1  # one group commit, no per-batch retries
    assert len(stored_ids(store, "events")) == 30
    store.close()
