"""Where a soak's memory goes, without a server: the soak's traffic loaded into a DuckDBStore in this
process, as the server's writer and derive loop would (issue 11's last goal, docs/benchmarks.md).

The traffic (bench_load's dense day) is generated first into a file by a child process, so the
simulator's memory is not in the figures. Then `--events` events are appended `--batch` at a time,
derived every `--derive-every`, checkpointed every `--checkpoint-every` (what the 60 s timer does at
500 events/s). At each checkpoint: RSS, what DuckDB says it holds (`duckdb_memory()`, by tag), what
pyarrow's pool holds, and with `--tracemalloc` the Python allocations that grew since the first
checkpoint (top lines). `--set NAME=VALUE` applies a DuckDB setting to the store's database first.

    .venv/bin/python -m benchmarks.bench_soak_memory [--events 300000] [--set allocator_flush_threshold=32MiB]
        [--tracemalloc] [--no-derive]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path

import orjson
import pyarrow as pa

from benchmarks.bench_load import DAY_MS, EVENTS_PER_SESSION, loadavg, now_ms, rss_mib, slope_per_hour
from videoinsights.derive.engine import derive_until_clean
from videoinsights.ingest.load import load_events
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore

PROJECT = "12345678"


def write_traffic(path: str, events: int, rate: float, seed: int) -> int:
    """The dense day's first `events` events, one JSON object a line (run in a child process)."""
    spd = int(rate * 86_400 / EVENTS_PER_SESSION)
    stream = deliver(generate(PROJECT, now_ms() - DAY_MS, 1, spd, seed), seed, 0.01, 0.005)
    n = 0
    with open(path, "wb") as out:
        for ev in islice(stream, events):
            out.write(orjson.dumps(ev) + b"\n")
            n += 1
    return n


def read_traffic(path: Path, batch: int):  # type: ignore[no-untyped-def]
    chunk: list[dict] = []  # type: ignore[type-arg]
    with path.open("rb") as f:
        for line in f:
            chunk.append(orjson.loads(line))
            if len(chunk) == batch:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def duckdb_tags(store: DuckDBStore) -> dict[str, float]:
    """MiB DuckDB reports in use, by tag (only the non-zero ones) and in all."""
    rows = store.reader().execute(
        "SELECT tag, memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0").fetchall()
    tags = {tag: b / 2**20 for tag, b in rows}
    tags["all"] = sum(tags.values())
    return tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rate", type=float, default=500, help="traffic density, as bench_load --soak-rate")
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--derive-every", type=int, default=25_000)
    parser.add_argument("--checkpoint-every", type=int, default=30_000)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a DuckDB setting")
    parser.add_argument("--tracemalloc", action="store_true", help="Python allocations that grew (slower)")
    parser.add_argument("--no-derive", action="store_true")
    parser.add_argument("--trim", action="store_true",
                        help="glibc's malloc_trim(0) before each RSS sample (what its free lists held drops out)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=0,
                        help="then this many rounds on the same data: every session re-derived, a checkpoint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        traffic = Path(tmp) / "traffic.jsonl"
        with ProcessPoolExecutor(1) as pool:
            n = pool.submit(write_traffic, str(traffic), args.events, args.rate, args.seed).result()
        print(f"{n:,} events generated; load average {loadavg()}; settings {args.set or 'defaults'}; "
              f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'unset')}; trim {args.trim}", flush=True)
        store = DuckDBStore(str(Path(tmp) / "soak.duckdb"))
        for kv in args.set:
            name, value = kv.split("=", 1)
            store.reader().execute(f"SET {name} = '{value}'")
        if args.tracemalloc:
            tracemalloc.start(1)
        print(f"RSS with the store open, before any traffic: {rss_mib(os.getpid()):.0f} MiB")
        first = None
        points: list[tuple[float, float]] = []
        loaded = since_derive = since_checkpoint = 0
        started = time.monotonic()
        print("events   | RSS MiB | DuckDB MiB (by tag)                          | arrow MiB | s")
        for chunk in read_traffic(traffic, args.batch):
            load_events(store, PROJECT, chunk, batch_size=args.batch, min_ts=0)
            loaded += len(chunk)
            since_derive += len(chunk)
            since_checkpoint += len(chunk)
            if since_derive >= args.derive_every and not args.no_derive:
                derive_until_clean(store, batch=250)  # the server's derive_batch_sessions
                since_derive = 0
            if since_checkpoint >= args.checkpoint_every:
                store.checkpoint()
                since_checkpoint = 0
                if args.trim:
                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                rss = rss_mib(os.getpid())
                points.append((loaded, rss))
                tags = duckdb_tags(store)
                shown = " ".join(f"{k}={v:.0f}" for k, v in tags.items() if k != "all" and v >= 1)
                print(f"{loaded:>8,} | {rss:7.0f} | {tags['all']:5.0f} ({shown:<38.38}) | "
                      f"{pa.total_allocated_bytes() / 2**20:9.1f} | {time.monotonic() - started:.0f}", flush=True)
                temp = store._dcon.execute(  # derivation's temp tables are its connection's own
                    "SELECT table_name, estimated_size FROM duckdb_tables() WHERE temporary").fetchall()
                if temp:
                    print(f"  temporary tables (rows): {temp}")
                if args.tracemalloc:
                    snap = tracemalloc.take_snapshot()
                    if first is None:
                        first = snap
                    else:
                        stats = snap.compare_to(first, "lineno")
                        grown = sum(s.size_diff for s in stats) / 2**20
                        print(f"  python heap grew {grown:+.1f} MiB since the first checkpoint; top:")
                        for s in stats[:5]:
                            print(f"    {s.size_diff / 2**20:+7.2f} MiB {s.count_diff:+8,} blocks  {s.traceback[0]}")
                    peak = tracemalloc.get_traced_memory()[1] / 2**20
                    print(f"  python heap peak since the last line {peak:.0f} MiB")
                    tracemalloc.reset_peak()
        for r in range(args.repeat):  # constant data: a leak still grows here, a working set doesn't
            sessions = store.mark_all_dirty()
            derive_until_clean(store, batch=250)  # the server's derive_batch_sessions
            store.checkpoint()
            if args.trim:
                ctypes.CDLL("libc.so.6").malloc_trim(0)
            tags = duckdb_tags(store)
            print(f"round {r + 1}: {sessions:,} sessions re-derived, RSS {rss_mib(os.getpid()):.0f} MiB, "
                  f"DuckDB {tags['all']:.0f} MiB; {time.monotonic() - started:.0f} s", flush=True)
        half = [p for p in points if p[0] >= points[-1][0] / 2]
        # the slope per 1M events (the x axis is events here, not seconds: /3600*1e6)
        per_m = slope_per_hour(half) / 3600 * 1e6
        print(f"RSS {points[0][1]:.0f} -> {points[-1][1]:.0f} MiB, max {max(v for _, v in points):.0f}; "
              f"second half {per_m:+.0f} MiB per million events; load average {loadavg()}")
        store.close()


if __name__ == "__main__":
    main()
