"""The derive thread and its worker processes run `derive_nice` niceness steps below the thread that made them
(derive/priority.py), so that ingest and the API get the cores first; the rest of the server keeps its priority,
and the server started by the CLI passes the setting on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from videoinsights.derive.priority import MAX_NICENESS
from videoinsights.derive.worker import DeriveStats, DeriveWorker, HandoffLock
from videoinsights.store.duckdb.store import DuckDBStore


def niceness(thread_or_process_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_or_process_id)


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("steps", [0, 3])
def test_the_derive_thread_and_its_worker_processes_run_nicer(tmp_path, steps: int) -> None:
    base = niceness(0)
    expected = min(MAX_NICENESS, base + steps)
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    worker = DeriveWorker(store, DeriveStats(), HandoffLock(), batch=10, interval=0.05, processes=1, nice=steps)
    try:
        worker.pool.submit(int).result(timeout=60)  # the worker process has run its initializer
        processes = list(worker.pool._processes.values())
        assert processes and all(niceness(p.pid) == expected for p in processes)
        worker.start()
        assert wait_for(lambda: worker._thread.native_id is not None and niceness(worker._thread.native_id) == expected)
        assert niceness(0) == base  # the thread that made the worker keeps its priority
    finally:
        worker.stop()
        store.close()


def test_the_server_derives_at_the_configured_niceness(server_factory) -> None:
    """A real server (VIDEOINSIGHTS_DERIVE_NICE=4): one of its threads runs 4 steps nicer than its main thread, and
    so does its derive worker process; the others (HTTP, the writer, the API pool) keep the main thread's."""
    server = server_factory(env={"VIDEOINSIGHTS_DERIVE_NICE": "4"})
    pid = server.proc.pid
    main = niceness(pid)
    nicer = min(MAX_NICENESS, main + 4)

    def threads() -> list[int]:
        return [niceness(int(t)) for t in os.listdir(f"/proc/{pid}/task")]

    assert wait_for(lambda: nicer in threads())
    assert sum(value == main for value in threads()) >= 2  # the event loop's, the writer's, ...

    def workers() -> list[int]:  # the derive pool's processes (not multiprocessing's resource tracker)
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]

    # (a worker lowers its own priority first thing, once its imports are done)
    assert wait_for(lambda: bool(workers()) and all(niceness(c) == nicer for c in workers()))
