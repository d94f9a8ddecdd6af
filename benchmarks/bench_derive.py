"""Derivation cost per session, in CPU seconds of the server's process and of its derive workers.

CPU per session is what decides how many sessions one core can re-derive, and unlike throughput it
barely moves when other programs share the machine. The traffic is the start of `bench_load`'s
dense day (thousands of young sessions); every session is made dirty `--rounds` times (as under
load, where live sessions are re-derived again and again) and derived in cycles of `--batch`:
inline on this thread (`derive_processes` = 0) and with 1 and 2 worker processes.

    .venv/bin/python -m benchmarks.bench_derive [--events 100000] [--rounds 3] [--batch 250 1000]
        [--processes 0 1 2] [--steady 30000 [--statements 20] [--step 250 --windows 4]]

`--step N` makes the steady part look like a loaded server instead of draining: one derive step of at most N
sessions after each 5,000-event chunk (the backlog grows, as under `bench_load`), and `--windows W` prints the
top statements' CPU per step in W windows of the chunks: which statements grow as the live sessions age and the
day's rows pile up (docs/benchmarks.md, "A store that grows under load").
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, child_pids, cpu_seconds, loadavg, now_ms
from videoinsights.derive.engine import derive_pending
from videoinsights.ingest.load import load_events
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"


class TimedConnection:
    """The derive connection with each statement's process CPU time added up by its first words
    (`--statements`): which of a cycle's statements cost the most. Process CPU, because DuckDB runs a
    statement on threads of its own too."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.spent: dict[str, list[float]] = {}  # statement's first 90 characters -> [calls, CPU seconds]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def _timed(self, sql: str, run: Callable[[], Any]) -> Any:
        started = time.process_time()
        result = run()
        entry = self.spent.setdefault(re.sub(r"\s+", " ", sql).strip()[:90], [0, 0.0])
        entry[0] += 1
        entry[1] += time.process_time() - started
        return result

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(sql, lambda: self._con.execute(sql, *args))

    def sql(self, sql: str, *args: Any) -> Any:
        relation = self._con.sql(sql, *args)  # lazy: the reads run in to_arrow_table, timed here
        table = self._timed(sql, relation.to_arrow_table)
        return _Fetched(table)


class _Fetched:
    def __init__(self, table: Any) -> None:
        self.table = table

    def to_arrow_table(self) -> Any:
        return self.table


def measure(store: DuckDBStore, batch: int, rounds: int, processes: int) -> dict[str, float]:
    pool = (ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
            if processes else None)
    try:
        if pool is not None:  # start the workers before measuring
            list(pool.map(abs, range(processes * 4)))
        kids = child_pids(os.getpid())
        derived = 0
        own0, kids0, wall0 = cpu_seconds(), sum(cpu_seconds(k) for k in kids), time.monotonic()
        for _ in range(rounds):
            store.mark_all_dirty()
            while True:
                done, failed = derive_pending(store, batch, pool)
                if done + failed == 0:
                    break
                derived += done
        wall = time.monotonic() - wall0
        own, worker = cpu_seconds() - own0, sum(cpu_seconds(k) for k in kids) - kids0
    finally:
        if pool is not None:
            pool.shutdown()
    return {"sessions": derived, "wall_ms": wall * 1000 / derived, "own_ms": own * 1000 / derived,
            "worker_ms": worker * 1000 / derived}


def measure_steady(store: DuckDBStore, events: Iterator[dict[str, Any]], total: int, batch: int,
                   processes: int, step: int = 0, on_chunk: Callable[[int], None] | None = None) -> dict[str, float]:
    """Live sessions re-derived as under load: `total` more events appended 5,000 at a time (1,000 per commit),
    the dirty sessions derived after each chunk (mostly sessions already derived, with their data so far); with
    `step`, only one cycle of at most `step` sessions per chunk. `on_chunk(i)` after each chunk's derivation."""
    pool = (ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
            if processes else None)
    try:
        if pool is not None:
            list(pool.map(abs, range(processes * 4)))
        kids = child_pids(os.getpid())
        derived = own = worker = 0.0
        loaded = 0
        while loaded < total:
            chunk = list(islice(events, min(5_000, total - loaded)))
            if not chunk:
                break
            loaded += len(chunk)
            load_events(store, PROJECT, chunk, batch_size=1000)
            own0, kids0 = cpu_seconds(), sum(cpu_seconds(k) for k in kids)
            while True:
                done, failed = derive_pending(store, step or batch, pool)
                derived += done
                if step or done + failed == 0:
                    break
            own += cpu_seconds() - own0
            worker += sum(cpu_seconds(k) for k in kids) - kids0
            if on_chunk is not None:
                on_chunk(loaded // 5_000)
    finally:
        if pool is not None:
            pool.shutdown()
    return {"sessions": derived, "own_ms": own * 1000 / derived, "worker_ms": worker * 1000 / derived}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=[250], help="sessions per derive cycle")
    parser.add_argument("--processes", type=int, nargs="+", default=[0, 1, 2], help="derive worker processes")
    parser.add_argument("--rate", type=float, default=10_000, help="density of bench_load's traffic at this rate")
    parser.add_argument("--steady", type=int, default=0, metavar="EVENTS",
                        help="then append EVENTS more in chunks, deriving after each (live sessions re-derived); "
                             "with the first --batch and --processes values")
    parser.add_argument("--statements", type=int, default=0, metavar="N",
                        help="with --steady: the N statements of the derive connection that took the most CPU")
    parser.add_argument("--step", type=int, default=0, metavar="N",
                        help="with --steady: one derive cycle of at most N sessions per chunk instead of draining")
    parser.add_argument("--windows", type=int, default=0, metavar="W",
                        help="with --steady and --statements: the top statements' CPU per step in W windows")
    args = parser.parse_args()
    spd = round(args.rate * 86_400 / EVENTS_PER_SESSION)
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(str(Path(tmp) / "derive.duckdb"))
        traffic = generate(PROJECT, now_ms() - DAY_MS, 1, spd, 7)
        loaded = load_events(store, PROJECT, islice(traffic, args.events), batch_size=1000)
        store.absorb_new_events()
        print(f"{loaded.accepted:,} events, {store.dirty_session_count():,} sessions ({spd:,} sessions/day); "
              f"load averages {loadavg()}")
        print("| batch | derive_processes | sessions | wall ms / session | server-process CPU ms / session "
              "| worker CPU ms / session |")
        print("| --- | --- | --- | --- | --- | --- |")
        for batch in args.batch:
            for processes in args.processes:
                r = measure(store, batch, args.rounds, processes)
                print(f"| {batch} | {processes} | {r['sessions']:,.0f} | {r['wall_ms']:.2f} | {r['own_ms']:.2f} "
                      f"| {r['worker_ms']:.2f} |", flush=True)
        if args.steady:
            timed = TimedConnection(store._dcon) if args.statements else None
            if timed is not None:  # the store's derive connection, wrapped for this benchmark only
                store._dcon = timed
            chunks = max(1, args.steady // 5_000)
            every = max(1, chunks // args.windows) if args.windows and timed is not None else 0
            windowed = WindowedStatements(timed, every, args.statements, store) if every else None
            r = measure_steady(store, traffic, args.steady, args.batch[0], args.processes[0], args.step,
                               windowed.chunk_done if windowed else None)
            print(f"steady: {args.steady:,} more events, {r['sessions']:,.0f} derivations (batch {args.batch[0]}, "
                  f"{args.processes[0]} workers): server-process CPU {r['own_ms']:.2f} ms / derivation, "
                  f"worker {r['worker_ms']:.2f}", flush=True)
            if timed is not None:
                print_statements(timed, r["sessions"], args.statements)
        store.close()
    print(f"load averages after: {loadavg()}")


class WindowedStatements:
    """Every `every` chunks: the top statements' CPU per step over those chunks, and the backlog then."""

    def __init__(self, timed: TimedConnection, every: int, top: int, store: DuckDBStore) -> None:
        self.timed, self.every, self.top, self.store = timed, every, top, store
        self.cpu_before: dict[str, float] = {}  # statement -> its CPU seconds at the window's start
        self.first = 1

    def chunk_done(self, chunk: int) -> None:
        if chunk % self.every:
            return
        steps = chunk - self.first + 1
        spent = {sql: cpu - self.cpu_before.get(sql, 0.0) for sql, (_, cpu) in self.timed.spent.items()}
        print(f"chunks {self.first}-{chunk}: derive connection {sum(spent.values()) * 1000 / steps:.0f} ms CPU per "
              f"step, {self.store.dirty_session_count():,} sessions dirty after; the top {self.top}, ms CPU per step:")
        for sql, cpu in sorted(spent.items(), key=lambda kv: -kv[1])[:self.top]:
            print(f"  {cpu * 1000 / steps:7.1f}  {sql}")
        self.cpu_before = {sql: cpu for sql, (_, cpu) in self.timed.spent.items()}
        self.first = chunk + 1


def print_statements(timed: TimedConnection, derivations: float, top: int) -> None:
    total = sum(cpu for _, cpu in timed.spent.values())
    print(f"derive connection's statements: {total * 1000 / derivations:.2f} ms CPU / derivation in all; "
          f"the top {top}:")
    print("| calls | CPU ms / derivation | share | statement |")
    print("| --- | --- | --- | --- |")
    for sql, (calls, cpu) in sorted(timed.spent.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"| {calls:.0f} | {cpu * 1000 / derivations:.3f} | {cpu / total:.0%} | `{sql}` |")


if __name__ == "__main__":
    main()
