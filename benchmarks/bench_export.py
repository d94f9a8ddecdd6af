"""Export memory and speed: peak RSS of `videoinsights export` as the range grows.

For each `--days`, a fresh database gets that many days of simulated traffic (loaded and derived
in-process, as the demo does); then each kind is exported to Parquet by the real CLI on the file
(offline), and the process's peak RSS (VmHWM, sampled) and time are reported. Flat memory means the
peak stays about the same while the rows grow with the days.

    .venv/bin/python -m benchmarks.bench_export [--days 2 6] [--sessions-per-day 100] [--kinds stats meetings]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq

from videoinsights.demo import DEMO_NAME
from videoinsights.derive.engine import derive_until_clean
from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.ingest.load import load_events
from videoinsights.ops import create_project
from videoinsights.simulate.generator import generate
from videoinsights.store.duckdb.store import DuckDBStore


def fill(db: Path, days: int, sessions_per_day: int) -> str:
    store = DuckDBStore(str(db))
    try:
        project_id = str(create_project(store, DEMO_NAME, advanced_insights=True)["projectId"])
        now_ms = int(time.time() * 1000)
        start_ms = day_start_ms(la_day(now_ms) - timedelta(days=days))
        events = (e for e in generate(project_id, start_ms, days, sessions_per_day, 7) if e["timestamp"] <= now_ms)
        load_events(store, project_id, events)
        derive_until_clean(store)
    finally:
        store.close()
    return project_id


def _vm_hwm_mib(pid: int) -> int | None:
    """The process's own peak RSS so far (VmHWM: of its address space since exec, not inherited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def export(db: Path, project_id: str, kind: str, out: Path) -> tuple[float, int]:
    """(seconds, peak RSS in MiB) of one export run, sampling /proc every 20 ms."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "videoinsights", "--db", str(db), "export", "--project",
                             project_id, "--kind", kind, "--start", "0", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _vm_hwm_mib(proc.pid) or 0)
        time.sleep(0.02)
    if proc.returncode != 0:
        raise RuntimeError(f"export {kind} failed")
    return time.monotonic() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[2, 6])
    parser.add_argument("--sessions-per-day", type=int, default=100)
    parser.add_argument("--kinds", nargs="+", default=["stats", "meetings", "projectData"])
    args = parser.parse_args()
    print("| days | kind | rows | file MiB | seconds | peak RSS MiB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for days in args.days:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.duckdb"
            project_id = fill(db, days, args.sessions_per_day)
            for kind in args.kinds:
                out = Path(tmp) / f"{kind}.parquet"
                seconds, rss = export(db, project_id, kind, out)
                rows = pq.ParquetFile(out).metadata.num_rows
                print(f"| {days} | {kind} | {rows:,} | {out.stat().st_size / 2**20:,.1f} | {seconds:,.1f} | {rss:,} |",
                      flush=True)


if __name__ == "__main__":
    main()
