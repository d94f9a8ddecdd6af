"""Claiming dedup keys (store/duckdb/dedup.py): the one-statement try first (`claim_all`, then `claim` when it
fails) against the probe first (`claim`), for UUID ids and for per-session counters, with and without duplicates.

The store picks the order by the last commit (DuckDBStore._append_once: the probe first after a commit that held
a duplicate), so this says what each order costs in the traffic where it is used. Each case claims `--batches`
commits of 1,000 keys (bench_load's duplicates: 0.5% of the ids repeat one sent earlier) on a copy of the same
keys file of 300,000 stored keys, alternating the two orders `--rounds` times; CPU of this process per commit.

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


def try_first(keys: DedupKeys, ids: list[str]) -> None:
    columns = ([PROJECT] * len(ids), ids, [DAY] * len(ids))
    if not keys.claim_all(*columns):
        keys.claim(*columns)


def probe_first(keys: DedupKeys, ids: list[str]) -> None:
    keys.claim([PROJECT] * len(ids), ids, [DAY] * len(ids))


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
    print(f"{'ids':<9} {'duplicates':>10} {'try first (ms)':>22} {'probe first (ms)':>22} {'probe / try':>12}")
    with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
        directory = Path(tmp)
        for kind in ("uuid", "counter"):
            stored = stored_file(directory, kind)
            for duplicates in (0.0, DUPLICATES):
                commits = batches(kind, duplicates, args.batches, seed=7)
                tried, probed = [], []
                for _ in range(args.rounds):
                    tried.append(measure(stored, try_first, commits, directory))
                    probed.append(measure(stored, probe_first, commits, directory))
                t, p = statistics.median(tried), statistics.median(probed)
                print(f"{kind:<9} {duplicates:>10.1%} {t:>8.2f} ({_runs(tried):>12}) {p:>8.2f} ({_runs(probed):>12}) "
                      f"{p / t:>11.2f}x")


def _runs(ms: list[float]) -> str:
    return " ".join(f"{x:.1f}" for x in ms)


if __name__ == "__main__":
    main()
