"""Claiming dedup keys (store/duckdb/dedup.py): `claim` (one `INSERT OR IGNORE ... RETURNING` pass) against what
the store did before it, for UUID ids and for per-session counters, with and without duplicates.

The baseline is the earlier claim, restated here on the keys file's connection: every key tried at once
(`executemany` of `INSERT OR IGNORE`, kept only if each one was taken) where the last commit held no duplicate, and
after one that did, the stored keys probed first (`SELECT ... IN`) and only the new ones inserted; in each case the
order the store used in that traffic. Each case claims `--batches` commits of 1,000 keys (bench_load's duplicates:
0.5% of the ids repeat one sent earlier) on a copy of the same keys file of 300,000 stored keys, alternating the
two `--rounds` times; CPU of this process per commit.

    .venv/bin/python -m benchmarks.bench_dedup [--rounds 3] [--batches 150]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from videoinsights.store.duckdb.dedup import DedupKeys

PROJECT = "12345678"
DAY = date(2026, 12, 5)
STORED = 300_000
BATCH = 1000
DUPLICATES = 0.005  # bench_load's --duplicate-fraction


def one_pass(keys: DedupKeys, ids: list[str]) -> None:
    keys.claim([PROJECT] * len(ids), ids, [DAY] * len(ids))


class EarlierClaim:
    """The claim of before (see the module docstring), on the keys file's own connection (a benchmark's liberty)."""

    def __init__(self) -> None:
        self.duplicates_lately = False  # the last commit held a duplicate: probe first

    def __call__(self, keys: DedupKeys, ids: list[str]) -> None:
        con = keys._con
        rows = [(PROJECT, event_id, DAY.toordinal()) for event_id in ids]
        if not self.duplicates_lately:
            con.execute("BEGIN IMMEDIATE")
            before = con.total_changes
            con.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)", rows)
            if con.total_changes - before == len(rows):
                return
            con.execute("ROLLBACK")
        con.execute("BEGIN IMMEDIATE")
        stored: set[str] = set()
        for at in range(0, len(ids), 10_000):
            chunk = ids[at:at + 10_000]
            marks = ",".join("?" * len(chunk))
            stored.update(e for (e,) in con.execute(
                f"SELECT event_id FROM keys WHERE project_id = ? AND event_id IN ({marks})", [PROJECT, *chunk]))
        new = {row[1]: row for row in rows if row[1] not in stored}
        con.executemany("INSERT INTO keys VALUES (?, ?, ?)", new.values())
        self.duplicates_lately = len(new) < len(rows)


def batches(kind: str, duplicates: float, count: int, seed: int) -> list[list[str]]:
    """`count` commits of new ids of `kind`, `duplicates` of them replaced by an id of an earlier commit."""
    rnd = random.Random(seed)
    out: list[list[str]] = []
    sent: list[str] = []
    for b in range(count):
        if kind == "uuid":
            ids = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(BATCH)]
        else:  # a live session's collector: its instance, then a counter (collector/src/index.js)
            ids = [f"s{b:05d}-{i}" for i in range(BATCH)]
        for i in range(BATCH):
            if sent and rnd.random() < duplicates:
                ids[i] = rnd.choice(sent)
        sent.extend(ids[:: BATCH // 20])
        out.append(ids)
    return out


def stored_file(directory: Path, kind: str) -> Path:
    path = directory / f"stored-{kind}.keys"
    keys = DedupKeys(str(path))
    old = batches(kind, 0.0, STORED // BATCH, seed=1)
    keys.add_stored([[(PROJECT, f"old-{e}", DAY) for e in ids] for ids in old], 1)
    keys.close()
    return path


def measure(stored: Path, claim: Callable[[DedupKeys, list[str]], None], commits: list[list[str]],
            directory: Path) -> float:
    """Median CPU ms per commit of 1,000 keys (claim + commit), the first 20 left out as warm-up."""
    path = directory / "run.keys"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(stored, path)
    keys = DedupKeys(str(path))
    cpu = []
    for seq, ids in enumerate(commits, start=2):
        started = time.process_time()
        claim(keys, ids)
        keys.commit(seq)
        cpu.append((time.process_time() - started) * 1000)
    keys.close()
    return statistics.median(cpu[20:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=150)
    args = parser.parse_args()
    print(f"{STORED:,} keys stored; commits of {BATCH:,} keys; CPU ms per commit (median over {args.batches - 20}), "
          f"{args.rounds} rounds alternating the orders")
    print(f"{'ids':<9} {'duplicates':>10} {'earlier (ms)':>22} {'one pass (ms)':>22} {'one pass / earlier':>19}")
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        directory = Path(tmp)
        for kind in ("uuid", "counter"):
            stored = stored_file(directory, kind)
            for duplicates in (0.0, DUPLICATES):
                commits = batches(kind, duplicates, args.batches, seed=7)
                before, now = [], []
                for _ in range(args.rounds):
                    before.append(measure(stored, EarlierClaim(), commits, directory))
                    now.append(measure(stored, one_pass, commits, directory))
                b, n = statistics.median(before), statistics.median(now)
                print(f"{kind:<9} {duplicates:>10.1%} {b:>8.2f} ({_runs(before):>12}) {n:>8.2f} ({_runs(now):>12}) "
                      f"{n / b:>18.2f}x")


def _runs(ms: list[float]) -> str:
    return " ".join(f"{x:.1f}" for x in ms)


if __name__ == "__main__":
    main()
