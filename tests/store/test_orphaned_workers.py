"""A server killed outright (SIGKILL, the OOM killer) leaves no process behind: its derive worker (and the
multiprocessing helper processes it started) notice they lost their parent and end, where they used to live
on, idle, each holding ~100 MB, until the machine restarted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.conftest import create_project


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended while listing
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended (its new parent reaps it)


def test_derive_worker_ends_when_its_server_is_killed(tmp_path: Path, server_factory: Any) -> None:
    create_project(tmp_path / "vi.duckdb")
    server = server_factory({"VIDEOINSIGHTS_DERIVE_PROCESSES": "1"})
    assert server.proc is not None
    deadline = time.monotonic() + 60
    while not (spawned := children(server.proc.pid)):  # the pool starts its worker at the server's start
        assert time.monotonic() < deadline, "the server started no derive worker"
        time.sleep(0.1)
    server.kill9()
    deadline = time.monotonic() + 60
    while left := {pid for pid in spawned if alive(pid)}:
        assert time.monotonic() < deadline, f"processes of the killed server {server.proc.pid} still run: {left}"
        time.sleep(0.2)
