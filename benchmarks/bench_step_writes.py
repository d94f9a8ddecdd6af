"""What live derive steps write, and what DuckDB's checkpoints of it cost: per statement, the rows and cells
(rows x columns written: an INSERT's columns, an UPDATE's SET list) and its time; every statement of the derive
connection (temp tables and commits too) by its time; per phase of ingest, the checkpoint's CPU and the WAL it
covered.

A dense simulated day (bench_load's traffic, ~360,000 sessions a day; the same in every run of one invocation) is
generated in each run: its first 100,000 events
loaded and derived (the store before; with `--history-copies N`, its derived rows then copied N times under other
session ids, 1..N weeks back, written long before: a store that has run for months, bench_derived_scans.inflate), then
the rest in commits of 10,000 events, each followed by a checkpoint
(`raw`), the absorb of those commits and a checkpoint (`absorb`), derive steps of `--step-sessions` until the
backlog is smaller than one step, as the live loop takes them (the monthly refresh left to the idle loop), and a
checkpoint (`derive`). Inline: no worker process, this process's CPU.

With `--baseline-src DIR` (another checkout, e.g. `git worktree add /tmp/base <rev>`), the same measurement runs
with that checkout's `videoinsights` first, then this one's, `--rounds` times alternated, each in a process of
its own; the ratios are this checkout's over the baseline's.

    .venv/bin/python -m benchmarks.bench_step_writes [--events 300000] [--history-copies 300]
        [--baseline-src /tmp/base --rounds 2]
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

PROJECT = "12345678"
ROOT = Path(__file__).resolve().parents[1]  # this checkout
COMMIT_EVENTS = 10_000
BEFORE_EVENTS = 100_000
STATEMENTS_SHOWN = 25
_WRITE = re.compile(r"\s*(INSERT OR IGNORE INTO|INSERT OR REPLACE INTO|INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)")
_TEMP = re.compile(r"\s*CREATE OR REPLACE TEMP TABLE\s+(\w+)")


def statement_label(sql: str) -> str:
    """What a statement is, for the table of every statement: its kind and table (temp tables too), else its start."""
    match = _WRITE.match(sql) or _TEMP.match(sql)
    if match:
        return " ".join(match.group(0).split())
    return " ".join(sql.split())[:50]


class _Rows:
    """A statement's result, fetched (its row count read), for the caller to fetch again."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchall(self) -> list[Any]:
        return self.rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None


class CountingConnection:
    """The derive connection, with each write to a stored table counted: rows, cells and seconds per (kind, table)."""

    def __init__(self, con: Any, columns: dict[str, int]) -> None:
        self._con, self._columns = con, columns
        self.writes: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0, 0.0])
        self.statements: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])  # every one: n, seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        result = self._con.execute(sql, *args, **kwargs)
        took = time.perf_counter() - t
        timed = self.statements[statement_label(sql)]
        timed[0] += 1
        timed[1] += took
        match = _WRITE.match(sql)
        if not match or match.group(2) not in self._columns:  # temp tables are not stored
            return result
        kind, table = match.group(1).split()[0], match.group(2)
        rows = result.fetchall()
        n = int(rows[0][0]) if rows and rows[0] and isinstance(rows[0][0], int) else 0
        if kind == "UPDATE":
            columns = sql.split(" SET ", 1)[1].split(" FROM ")[0].split(" WHERE ")[0].count("=")
        else:
            columns = self._columns[table] if kind == "INSERT" else 0
        counted = self.writes[f"{kind} {table}"]
        counted[0] += n
        counted[1] += n * columns
        counted[2] += took
        return _Rows(rows)


def measure(events: int, step_sessions: int, now: int, copies: int = 0) -> dict[str, Any]:
    """One run on the `videoinsights` first on sys.path, of the day before `now` (epoch ms: the same traffic in every
    run given the same), on a store of `copies` copies of the derived history; the figures as JSON-able values."""
    import orjson

    from videoinsights.derive.engine import derive_pending, derive_until_clean
    from videoinsights.ingest.fast import fast_validate
    from videoinsights.simulate.delivery import deliver
    from videoinsights.simulate.generator import generate
    from videoinsights.store.duckdb.store import DuckDBStore

    raw = list(islice(deliver(generate(PROJECT, now - 86_400_000, 1, 360_000, 3), 3, 0.0, 0.0), events))
    window = (now - 30 * 86_400_000, now + 300_000)
    batches = []
    for at in range(0, len(raw), 1000):
        valid = fast_validate(orjson.dumps(raw[at:at + 1000]), PROJECT, now, *window, 1000)
        if valid is not None:
            batches.append(valid.columns)
    path = Path(tempfile.mkdtemp()) / "steps.duckdb"
    store = DuckDBStore(str(path), wal_autocheckpoint_mb=1_000_000)  # checkpoints only where this run takes them
    try:
        per_commit = COMMIT_EVENTS // 1000
        before = BEFORE_EVENTS // 1000
        for at in range(0, before, per_commit):
            store.append_events(batches[at:at + per_commit])
        derive_until_clean(store, batch=1000)
        store.checkpoint()
        if copies:
            inflate_history(store, copies)
        columns = {t: int(n) for t, n in store._con.execute(
            "SELECT table_name, count(*) FROM information_schema.columns GROUP BY ALL").fetchall()}
        counting = CountingConnection(store._dcon, columns)
        store._dcon = counting
        checkpoints: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
        wals = [Path(f"{path}{suffix}") for suffix in (".wal", ".raw.wal")]  # the raw file's WAL: schema 16 on

        def checkpoint(phase: str) -> None:
            size = sum(wal.stat().st_size for wal in wals if wal.exists())
            cpu = time.process_time()
            if hasattr(store, "checkpoint_raw"):  # a baseline checkout from before has one file
                store.checkpoint_raw()
            store.checkpoint()
            checkpoints[phase].append((time.process_time() - cpu, size / 1e6))

        derive_cpu, steps, derived = 0.0, 0, 0
        for at in range(before, len(batches), per_commit):
            store.append_events(batches[at:at + per_commit])
            checkpoint("raw")
            store.absorb_new_events()
            checkpoint("absorb")
            cpu = time.process_time()
            while True:
                done, failed = derive_pending(store, step_sessions)
                steps += 1
                derived += done
                if done + failed < step_sessions:
                    break
            derive_cpu += time.process_time() - cpu
            checkpoint("derive")
        store._dcon = counting._con
        live_events = sum(len(b["event_id"]) for b in batches[before:])
    finally:
        store.close()
    return {"live_events": live_events, "steps": steps, "derived": derived, "derive_cpu": derive_cpu,
            "writes": dict(counting.writes), "statements": dict(counting.statements),
            "checkpoints": {phase: {"cpu": [c for c, _ in v], "wal_mb": [w for _, w in v]}
                            for phase, v in checkpoints.items()}}


def inflate_history(store: Any, copies: int) -> None:
    """bench_derived_scans.inflate of this checkout (the same history whichever checkout's store it fills)."""
    spec = importlib.util.spec_from_file_location("bench_derived_scans", ROOT / "benchmarks" / "bench_derived_scans.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.inflate(store, copies)


def run_elsewhere(src: str, events: int, step_sessions: int, now: int, copies: int) -> dict[str, Any]:
    """measure() in a process of its own, with the videoinsights of checkout `src` first on its path."""
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, __file__, "--json", "--src", src, "--events", str(events),
                          "--step-sessions", str(step_sessions), "--now", str(now), "--history-copies", str(copies)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(run: dict[str, Any]) -> dict[str, float]:
    per = 100_000 / run["live_events"]
    cells = sum(w[1] for w in run["writes"].values())
    seconds = sum(w[2] for w in run["writes"].values())
    out = {"cells_per_100k": cells * per, "write_s_per_100k": seconds * per,
           "derive_cpu_ms_per_session": 1000 * run["derive_cpu"] / max(run["derived"], 1)}
    for phase, v in run["checkpoints"].items():
        out[f"{phase}_checkpoint_ms"] = 1000 * statistics.median(v["cpu"])
        out[f"{phase}_wal_mb"] = statistics.median(v["wal_mb"])
    return out


def report(label: str, runs: list[dict[str, Any]]) -> dict[str, float]:
    sums = [summary(r) for r in runs]
    medians = {k: statistics.median(s[k] for s in sums) for k in sums[0]}
    print(f"\n{label}: {len(runs)} run(s), {runs[0]['live_events']:,} live events, {runs[0]['steps']} steps, "
          f"{runs[0]['derived']:,} sessions derived (first run)")
    writes = runs[0]["writes"]
    total = sum(w[1] for w in writes.values()) or 1
    print("| statement (first run) | rows | cells | share of cells | s |")
    print("| --- | --- | --- | --- | --- |")
    for name, (rows, cells, seconds) in sorted(writes.items(), key=lambda kv: -kv[1][1])[:14]:
        print(f"| {name} | {int(rows):,} | {int(cells):,} | {cells / total:.1%} | {seconds:.2f} |")
    statements = runs[0]["statements"]
    spent = sum(t[1] for t in statements.values()) or 1
    print(f"\nEvery statement of the derive connection by its time (first run: {spent:.1f} s in all, against "
          f"{runs[0]['derive_cpu']:.1f} s of derive CPU, Python's derivation included)")
    print("| statement | n | s | share |")
    print("| --- | --- | --- | --- |")
    for name, (n, seconds) in sorted(statements.items(), key=lambda kv: -kv[1][1])[:STATEMENTS_SHOWN]:
        print(f"| {name} | {int(n):,} | {seconds:.2f} | {seconds / spent:.1%} |")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--step-sessions", type=int, default=300)
    parser.add_argument("--history-copies", type=int, default=0,
                        help="copy the derived history N times, weeks back, before the live part (a grown store)")
    parser.add_argument("--baseline-src", help="another checkout: measured first, with its videoinsights")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--now", type=int, default=int(time.time() * 1000), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, args.src)
    if args.json:
        print(json.dumps(measure(args.events, args.step_sessions, args.now, args.history_copies)))
        return
    ours: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        if args.baseline_src:
            base.append(run_elsewhere(args.baseline_src, args.events, args.step_sessions, args.now,
                                      args.history_copies))
        ours.append(run_elsewhere(str(ROOT), args.events, args.step_sessions, args.now, args.history_copies))
    mine = report("this checkout", ours)
    if not base:
        print("\n| measure | median |\n| --- | --- |")
        for k, v in mine.items():
            print(f"| {k} | {v:,.2f} |")
        return
    theirs = report(f"baseline {args.baseline_src}", base)
    print("\n| measure (median of the rounds) | baseline | this checkout | ratio |\n| --- | --- | --- | --- |")
    for k, v in mine.items():
        print(f"| {k} | {theirs[k]:,.2f} | {v:,.2f} | {v / theirs[k]:.2f}x |" if theirs[k] else f"| {k} | 0 | {v} | |")


if __name__ == "__main__":
    main()
