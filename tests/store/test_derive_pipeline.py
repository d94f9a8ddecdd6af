"""The pipelined derive loop (derive/worker.py) starts batch N+1 before it writes batch N: the sessions of
batch N are not picked again while it is away, and one that receives events meanwhile stays dirty after
batch N is written (Store.replace_derived's `loaded_seq`), so its new events are derived in a later batch."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.support.stores import open_store, rows
from videoinsights.derive.engine import derive_pending, finish_batch, start_batch
from videoinsights.derive.trace import Trace
from videoinsights.derive.wanted import WantedSessions
from videoinsights.derive.worker import DeriveStats, DeriveWorker, HandoffLock, next_batch_size
from videoinsights.ingest.load import load_events
from videoinsights.store.base import Store
from videoinsights.store.duckdb.store import DuckDBStore

NOW = int(time.time() * 1000)


def connect(session: str, n: int) -> dict:
    return {"id": f"{session}-{n}", "type": "connectionCreated", "sessionId": session, "timestamp": NOW - 60_000 + n,
            "connectionId": f"c{n}"}


def connections(store: Store) -> list[tuple[str, str]]:
    return rows(store, "SELECT session_id, connection_id FROM connections ORDER BY session_id, connection_id")


def traced_cycle(store: Store, tmp_path: Path, stats: DeriveStats | None = None,
                 **worker: Any) -> tuple[int, list[dict[str, Any]]]:
    """One cycle of the derive loop, a thread pool standing in for its worker processes: sessions handled, and its
    trace's records (derive/trace.py)."""
    trace = Trace(str(tmp_path / "trace.jsonl"))
    loop = DeriveWorker(store, stats or DeriveStats(), HandoffLock(), interval=1.0, trace=trace, **worker)
    loop.pool = ThreadPoolExecutor(1)
    try:
        handled = loop.cycle()
    finally:
        loop.pool.shutdown()
        trace.close()
    return handled, [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]


def test_a_session_dirtied_while_its_batch_is_away_is_derived_again(store_url: str) -> None:
    # On ClickHouse the dirty tokens read with the batch away are the watermark, not loaded_seq: reading the
    # next batch's dirty sessions must not take "a"'s newer token into the batch away
    store = open_store(store_url)
    load_events(store, "1", [connect("a", 1)])
    away = start_batch(store, 10)
    assert away is not None and away.keys == [("1", "a")]
    load_events(store, "1", [connect("a", 2), connect("b", 1)])  # "a" again, and a new session, while away
    following = start_batch(store, 10, busy=away.keys)  # absorbs both; "a" is away, so only "b"
    assert following is not None and following.keys == [("1", "b")]
    assert finish_batch(store, away) == (1, 0)
    assert connections(store) == [("a", "c1")]  # what "a" had when its inputs were read ...
    # ... so it stays dirty, behind "b" (never derived yet)
    assert store.dirty_sessions(10) == [("1", "b"), ("1", "a")]
    assert finish_batch(store, following) == (1, 0)
    assert store.dirty_sessions(10) == [("1", "a")]
    again = start_batch(store, 10)
    assert again is not None and finish_batch(store, again) == (1, 0)
    assert connections(store) == [("a", "c1"), ("a", "c2"), ("b", "c1")]
    assert store.dirty_session_count() == 0
    store.close()


def test_new_sessions_skip_the_pipeline_and_are_written_with_the_batch_away(store_url: str) -> None:
    # Batch 1 ("a") is away in the workers; then "a" gets more events, "n1" and "n2" start and "old" (derived
    # before) gets another event. The next start takes the never-derived "n1" and "n2" apart (express lane),
    # derives them at once, and they are written with batch 1, a step before batch 2 ("old") is.
    store = open_store(store_url)
    load_events(store, "1", [connect("old", 1)])
    first = start_batch(store, 10)
    assert first is not None and finish_batch(store, first) == (1, 0)
    load_events(store, "1", [connect("a", 1)])
    with ThreadPoolExecutor(1) as pool:
        away = start_batch(store, 10, pool, express=8)
        # only new sessions wait: they are the batch itself (no lane)
        assert away is not None and away.keys == [("1", "a")] and away.express is None
        load_events(store, "1", [connect("a", 2), connect("n1", 1), connect("n2", 1), connect("old", 2)])
        following = start_batch(store, 10, pool, busy=away.keys, express=8)
        assert following is not None and following.keys == [("1", "old")]
        assert following.express is not None and following.express.keys == [("1", "n1"), ("1", "n2")]
        load_events(store, "1", [connect("n2", 2)])  # "n2" receives more after its read ...
        store.absorb_new_events()  # ... absorbed (as the next start would) before batch 1 and the lane are written
        assert finish_batch(store, away, following.express) == (3, 0)
        assert connections(store) == [("a", "c1"), ("n1", "c1"), ("n2", "c1"), ("old", "c1")]
        # "a" had events absorbed after its read, "n2" too (after its own, later one); "n1" did not: clean
        assert sorted(store.dirty_sessions(10)) == [("1", "a"), ("1", "n2"), ("1", "old")]
        assert finish_batch(store, following) == (1, 0)
    assert sorted(store.dirty_sessions(10)) == [("1", "a"), ("1", "n2")]
    assert derive_pending(store, 10) == (2, 0)
    assert connections(store) == [("a", "c1"), ("a", "c2"), ("n1", "c1"), ("n2", "c1"), ("n2", "c2"),
                                  ("old", "c1"), ("old", "c2")]
    assert store.dirty_session_count() == 0
    store.close()


def test_a_runs_first_step_takes_new_sessions_apart_too(store_url: str) -> None:
    # Nothing is away at the start of a run: the new session "n" still skips the batch ("old", derived before),
    # to be written on its own at once rather than with the batch a step later.
    store = open_store(store_url)
    load_events(store, "1", [connect("old", 1)])
    assert derive_pending(store, 10) == (1, 0)
    load_events(store, "1", [connect("old", 2), connect("n", 1)])
    with ThreadPoolExecutor(1) as pool:
        batch = start_batch(store, 10, pool, express=8)
        assert batch is not None and batch.keys == [("1", "old")]
        assert batch.express is not None and batch.express.keys == [("1", "n")]
        assert finish_batch(store, batch.express) == (1, 0)
        assert connections(store) == [("n", "c1"), ("old", "c1")]
        assert store.dirty_sessions(10) == [("1", "old")]
        assert finish_batch(store, batch) == (1, 0)
    assert connections(store) == [("n", "c1"), ("old", "c1"), ("old", "c2")]
    assert store.dirty_session_count() == 0
    store.close()


def test_the_loop_writes_new_sessions_in_its_first_step(tmp_path) -> None:
    # The derive loop's trace (derive/trace.py) shows what each step wrote: the new session "n" in the first step
    # (alone), the batch ("old") in the last one; then nothing is dirty.
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, "1", [connect("old", 1)])
    assert derive_pending(store, 10) == (1, 0)
    load_events(store, "1", [connect("old", 2), connect("n", 1)])
    handled, records = traced_cycle(store, tmp_path, batch=10)
    assert handled == 2
    steps = [r for r in records if r["kind"] == "step"]
    assert [(s["express"], s["picked"], s["wrote"]) for s in steps] == [(["n"], ["old"], ["n"]), ([], [], ["old"])]
    assert connections(store) == [("n", "c1"), ("old", "c1"), ("old", "c2")]
    assert store.dirty_session_count() == 0
    store.close()


def test_only_never_derived_sessions_are_asked_for(store_url: str) -> None:
    store = open_store(store_url)
    load_events(store, "1", [connect("old", 1)])
    assert derive_pending(store, 10) == (1, 0)
    load_events(store, "1", [connect("old", 2), connect("new", 1)])
    store.absorb_new_events()
    assert store.dirty_sessions(10, never_derived=True) == [("1", "new")]
    assert store.dirty_sessions(10) == [("1", "new"), ("1", "old")]
    store.close()


def test_wanted_sessions_that_are_dirty_follow_the_new_ones_in_the_express_lane(store_url: str) -> None:
    # "a", "b", "c" derived, then dirtied in that order; "n" new. Someone looks at "c", at "x" (no such session), at
    # "b" of project 2 (not this one), at "d" (derived, not dirty) and at "x'y" (a quote, no such session): the express
    # lane is "n", then "c".
    store = open_store(store_url)
    load_events(store, "1", [connect(s, 1) for s in "abcd"])
    assert derive_pending(store, 10) == (4, 0)
    load_events(store, "1", [connect("a", 2), connect("b", 2), connect("c", 2), connect("n", 1)])
    store.absorb_new_events()
    wanted = [("1", "c"), ("1", "x"), ("2", "b"), ("1", "d"), ("1", "x'y")]
    assert store.dirty_sessions(10, never_derived=True) == [("1", "n")]
    assert store.dirty_sessions(10, never_derived=True, wanted=wanted) == [("1", "n"), ("1", "c")]
    assert store.dirty_sessions(1, never_derived=True, wanted=wanted) == [("1", "n")]  # the new ones first
    assert store.dirty_sessions(10, wanted=wanted) == [("1", "n"), ("1", "a"), ("1", "b"), ("1", "c")]  # (no lane)
    with ThreadPoolExecutor(1) as pool:
        batch = start_batch(store, 1, pool, express=8, wanted=wanted)
        assert batch is not None and batch.keys == [("1", "a")]
        assert batch.express is not None and batch.express.keys == [("1", "n"), ("1", "c")]
        assert finish_batch(store, batch.express) == (2, 0)
        assert connections(store) == [("a", "c1"), ("b", "c1"), ("c", "c1"), ("c", "c2"), ("d", "c1"),
                                      ("n", "c1")]
        assert finish_batch(store, batch) == (1, 0)
    assert store.dirty_sessions(10) == [("1", "b")]
    store.close()


def test_the_loop_writes_wanted_sessions_in_its_first_step(tmp_path) -> None:
    # A backlog of three derived sessions dirty again, batches of one: the one someone looks at ("c", dirtied last)
    # is written in the run's first step, with no new session there.
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, "1", [connect(s, 1) for s in "abc"])
    assert derive_pending(store, 10) == (3, 0)
    load_events(store, "1", [connect("a", 2), connect("b", 2), connect("c", 2)])
    wanted = WantedSessions()
    wanted.want("1", ["c"])
    stats = DeriveStats()
    handled, records = traced_cycle(store, tmp_path, stats, batch=1, wanted=wanted)
    assert handled == 3 and stats.sessions_wanted_ahead == 1
    steps = [(s["express"], s["picked"], s["wrote"]) for s in records if s["kind"] == "step"]
    assert steps[0] == (["c"], ["a"], ["c"])
    assert sorted(w for s in steps for w in s[2]) == ["a", "b", "c"]
    assert store.dirty_session_count() == 0
    # taken ahead once: dirty again at once, "c" waits its turn for a while (WANTED_EVERY_S) behind "a" and "b"
    assert wanted.keys() == []
    for session in "abc":
        load_events(store, "1", [connect(session, 3)])
    (tmp_path / "again").mkdir()
    handled, records = traced_cycle(store, tmp_path / "again", stats, batch=1, wanted=wanted)
    steps = [(s["express"], s["picked"], s["wrote"]) for s in records if s["kind"] == "step"]
    assert handled == 3 and [s[:2] for s in steps] == [([], ["a"]), ([], ["b"]), ([], ["c"]), ([], [])]
    assert stats.sessions_wanted_ahead == 1
    store.close()


def test_a_batch_written_with_nothing_absorbed_meanwhile_leaves_its_sessions_clean(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, "1", [connect("a", 1), connect("b", 1)])
    batch = start_batch(store, 10)
    load_events(store, "1", [connect("a", 2)])  # committed but not absorbed before the write: the next cycle's
    assert batch is not None and finish_batch(store, batch) == (2, 0)
    assert store.dirty_session_count() == 0
    store.absorb_new_events()
    assert store.dirty_sessions(10) == [("1", "a")]
    store.close()


def test_batches_grow_under_a_backlog_while_steps_stay_quick() -> None:
    # base 250, step bound 1 s: a batch behind which as many others waited, whose step took 0.4 s, doubles,
    # up to 2 x 250
    assert next_batch_size(250, 250, backlog=True, step_s=0.4, bound_s=1.0) == 500
    assert next_batch_size(500, 250, backlog=True, step_s=0.4, bound_s=1.0) == 500
    # a step between 1 and 2 s keeps the size; over 2 s halves it, never below the base
    assert next_batch_size(500, 250, backlog=True, step_s=1.5, bound_s=1.0) == 500
    assert next_batch_size(500, 250, backlog=True, step_s=2.5, bound_s=1.0) == 250
    assert next_batch_size(250, 250, backlog=True, step_s=9.0, bound_s=1.0) == 250
    # once fewer than a batch more wait, back to the base
    assert next_batch_size(500, 250, backlog=False, step_s=0.1, bound_s=1.0) == 250
    # with a bound of 1.5 s (derive_step_ms' default) a 1.2 s step still grows, a 2.5 s one keeps, 3.5 s halves
    assert next_batch_size(250, 250, backlog=True, step_s=1.2, bound_s=1.5) == 500
    assert next_batch_size(500, 250, backlog=True, step_s=2.5, bound_s=1.5) == 500
    assert next_batch_size(500, 250, backlog=True, step_s=3.5, bound_s=1.5) == 250


def test_a_batch_says_whether_as_many_others_wait_behind_it(tmp_path) -> None:
    store = DuckDBStore(str(tmp_path / "vi.duckdb"))
    load_events(store, "1", [connect(s, 1) for s in "abcde"])  # five dirty sessions
    two = start_batch(store, 2)
    assert two is not None and len(two.keys) == 2 and two.backlog  # three more wait: at least a batch of 2
    three = start_batch(store, 3)
    assert three is not None and len(three.keys) == 3 and not three.backlog  # only two more wait
    busy = start_batch(store, 2, busy=[("1", "a"), ("1", "b"), ("1", "c")])
    assert busy is not None and busy.keys == [("1", "d"), ("1", "e")] and not busy.backlog  # away ones don't count
    store.close()


def test_the_derivation_lock_tells_its_holder_when_another_thread_waits() -> None:
    lock = HandoffLock()
    got_it = threading.Event()

    def other() -> None:  # the writer thread's admin call, purge or checkpoint
        with lock:
            got_it.set()

    with lock:
        assert not lock.wanted  # the holder itself does not count
        thread = threading.Thread(target=other)
        thread.start()
        deadline = time.monotonic() + 30
        while not lock.wanted:  # the derive loop would now end its run
            assert time.monotonic() < deadline, "the waiting thread was never seen"
            time.sleep(0.01)
        assert not got_it.is_set()
    thread.join(30)
    assert got_it.is_set() and not lock.wanted


def test_a_checkpoint_due_is_taken_between_steps_without_ending_the_run(tmp_path) -> None:
    # With the main file's WAL past the derive thread's threshold after every step (1 byte), one cycle still derives
    # the whole backlog in one run, checkpointing between its steps: a run's end costs the new sessions of that moment
    # a step (the last write picks nothing).
    store = DuckDBStore(str(tmp_path / "vi.duckdb"), wal_autocheckpoint_mb=1024)
    sessions = [f"s{n:02d}" for n in range(30)]
    load_events(store, "1", [connect(s, 1) for s in sessions])
    assert derive_pending(store, 100) == (30, 0)
    load_events(store, "1", [connect(s, 2) for s in sessions])  # all dirty again, none never derived
    handled, records = traced_cycle(store, tmp_path, batch=5, checkpoint_bytes=1)
    assert handled == 30
    kinds = [r["kind"] for r in records]
    assert kinds.count("cycle") == 1 and kinds.count("checkpoint") >= 2, kinds
    assert kinds.index("checkpoint") < kinds.index("cycle")  # within the cycle, whose record comes at its end
    assert len(connections(store)) == 60 and store.dirty_session_count() == 0
    store.close()
