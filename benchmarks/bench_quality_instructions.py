"""Quality's share of a derivation counted in instructions (issue 12: "measure the derive cost with and without
them; goal within 15%"), where CPU seconds on this shared 2-core machine swing by half from one round to the next.

bench_load's history (`--history-days` x `--history-sessions-per-day`, as `bench_load --quality-cost`), then for
each of `--rounds` rounds two processes under valgrind's callgrind, without quality and with it: each copies the
history, clears its derived rows and absorbs every sample again (uninstrumented), then counts the instructions of
re-deriving every session (`derive_until_clean`: the store's reads and writes, DuckDB's threads, the Python
derivation; instrumentation switched on and off around it by `callgrind_control`). An instruction count does not
depend on what else the machine runs; it weighs every instruction alike (a cache miss costs nothing more), so it
is the repeatable figure beside bench_load's CPU seconds, not a replacement for them. Each process takes ~4
minutes (~120 s of it the derivation, ~60x slower than without valgrind). Needs valgrind (Debian: `apt-get install
valgrind`).

    .venv/bin/python -m benchmarks.bench_quality_instructions [--rounds 1] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_load import derived_history, undo_derivation
from benchmarks.common import copy_database
from videoinsights.derive.engine import derive_until_clean
from videoinsights.settings import load_settings
from videoinsights.store.duckdb.store import DuckDBStore
from videoinsights.store.open import duckdb_options


def count(template: Path, scoring: bool) -> None:
    """In the process valgrind runs: re-derive a copy of the history, instrumented only while deriving."""
    work = template.with_name(f"count-{os.getpid()}.duckdb")
    copy_database(template, work)
    store = DuckDBStore(str(work), **duckdb_options(load_settings()))
    try:
        undo_derivation(store)  # outside the count, as outside the timing of --quality-cost
        instrument(True)
        sessions = derive_until_clean(store, scoring=scoring)
        instrument(False)
        print(f"derived {sessions} sessions", flush=True)
    finally:
        store.close()
        work.unlink()


def instrument(on: bool) -> None:
    subprocess.run(["callgrind_control", "--instr=" + ("on" if on else "off"), str(os.getpid())],
                   check=True, capture_output=True)


def counted(template: Path, scoring: bool, threads: str) -> int:
    """Instructions of one derivation, with or without quality, in a process under callgrind."""
    out = template.with_name(f"callgrind-{'with' if scoring else 'without'}.out")
    env = {**os.environ, "PYTHONHASHSEED": "0", "VIDEOINSIGHTS_DUCKDB_THREADS": threads}
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                    sys.executable, "-m", "benchmarks.bench_quality_instructions", "--count",
                    "with" if scoring else "without", str(template)],
                   check=True, capture_output=True, env=env)
    match = re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
    assert match, f"no totals in {out}"
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument("--history-sessions-per-day", type=int, default=20)
    parser.add_argument("--threads", default="0",
                        help="VIDEOINSIGHTS_DUCKDB_THREADS of the counted processes (0: one per core, the default)")
    parser.add_argument("--count", nargs=2, metavar=("MODE", "TEMPLATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:
        count(Path(args.count[1]), args.count[0] == "with")
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        template = derived_history(Path(tmp), args.history_days, args.history_sessions_per_day)
        print(f"DuckDB threads {args.threads}", flush=True)
        for n in range(1, args.rounds + 1):
            without = counted(template, False, args.threads)
            with_ = counted(template, True, args.threads)
            print(f"round {n}: instructions without quality {without:,}, with {with_:,}: "
                  f"overhead {with_ / without - 1:+.1%}", flush=True)
    print(f"\n.venv/bin/python -m benchmarks.bench_quality_instructions {' '.join(sys.argv[1:])}  "
          f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
