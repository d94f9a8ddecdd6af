"""The CLI's --store: bad URLs, unreachable servers and misuse of the scale-out commands end with one clear
line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import free_port


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "videoinsights", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "message"), [
    (["--store", "postgres://h/db", "projects", "list"], "unknown store 'postgres'"),
    (["projects", "list", "--store", "chdb://relative"], "absolute path"),
    (["--store", "clickhouse://u:secretpw@127.0.0.1:{port}/db", "projects", "list"],
     "cannot use the ClickHouse store clickhouse://u@127.0.0.1:{port}/db"),
    (["derive", "--shard", "0/2"], "needs a ClickHouse store"),
    (["--store", "chdb:///tmp/x", "derive", "--shard", "2/2"], "K must be in 0..N-1"),
    (["--store", "chdb:///tmp/x", "derive", "--shard", "half"], "--shard takes K/N"),
    (["serve", "--no-derive"], "--no-derive needs a ClickHouse store"),
    (["serve", "--workers", "2"], "--workers 2 needs a ClickHouse server store (--store clickhouse://...): "
                                  "a DuckDB file is owned by one process"),
    (["--store", "chdb:///tmp/x", "serve", "--workers", "3"], "a chdb:// directory is opened by one process"),
    (["rebuild", "--mark-only"], "--mark-only is for a ClickHouse store"),
])
def test_clear_errors(tmp_path, args: list[str], message: str) -> None:
    port = str(free_port())  # nothing listens there
    args = [a.replace("{port}", port) for a in args]
    result = run("--db", str(tmp_path / "vi.duckdb"), *args)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]  # (clickhouse-connect logs its retries before)
    assert last.startswith("error: ") and message.replace("{port}", port) in last, result.stderr
    assert "Traceback" not in result.stderr and "secretpw" not in result.stderr
