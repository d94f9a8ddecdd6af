"""Do ingest commits wait for the checkpoints that derivation's writes cause? One database file against the raw table
in a second file ATTACHed beside it (each DuckDB database has its own WAL and checkpoints).

Under live load DuckDB's automatic checkpoint (the WAL past `wal_autocheckpoint`, 64 MiB) lands every ~10 s, mostly in
a commit of the derive connection, and takes 1-3 s; every ingest commit waits for it (bench_load's trace at 20,000
events/s: 6 ingest commits of 1-3.3 s in 60 s, docs/benchmarks.md). Derivation writes ~16x the raw rows' volume to
the WAL, so most of that checkpoint work is derived tables.

Here, for `--seconds` per run, one thread appends 1,000 rows of the store's `stats_samples` (schema.py) per commit
while another rewrites `session_endpoint_days` rows (schema.py: 135 measure columns) in DELETE + INSERT transactions,
as derive steps do, both on connections of one DuckDB instance with the store's checkpoint threshold. Layouts,
alternated `--rounds` times, each in a fresh directory:

* `one`: both tables in one file (the store before schema 16);
* `two`: `stats_samples` in a second file ATTACHed as `raw` (the store since: store/duckdb/rawfile.py).

Printed per layout (medians of the rounds): ingest commits per second, their p50/p99/max latency, the seconds they
spent in commits over 200 ms (stalls), and derive transactions per second; ratios are `two` over `one`.

    .venv/bin/python -m benchmarks.bench_checkpoint_isolation [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from videoinsights.derive.model import DIMENSIONS, ENDPOINT_MEASURES
from videoinsights.store.duckdb.schema import TABLES

WAL_AUTOCHECKPOINT = "64MiB"  # the store's default (settings.wal_autocheckpoint_mb)
INGEST_ROWS = 1000  # a request of bench_load's traffic
DERIVE_ROWS = 20_000  # session_endpoint_days rows a derive transaction rewrites
STALL_S = 0.2

_MEASURES = ", ".join(ENDPOINT_MEASURES)
_RANDOM = ", ".join("random()" for _ in ENDPOINT_MEASURES)
_DIMS = ", ".join(DIMENSIONS)


def run(layout: str, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = duckdb.connect(str(Path(tmp) / "store.duckdb"), config={"wal_autocheckpoint": WAL_AUTOCHECKPOINT})
        raw = "stats_samples"
        if layout == "two":
            db.execute(f"ATTACH '{Path(tmp) / 'raw.duckdb'}' AS raw")
            raw = "raw.stats_samples"
        db.execute(TABLES["stats_samples"].replace("EXISTS stats_samples", f"EXISTS {raw}"))
        db.execute(TABLES["session_endpoint_days"])
        stop = threading.Event()
        latencies: list[float] = []
        derived = [0]

        def ingest() -> None:
            con = db.cursor()
            seq = 0
            while not stop.is_set():
                seq += 1
                began = time.perf_counter()
                con.execute("BEGIN")
                con.execute(
                    f"INSERT INTO {raw} (project_id, event_id, type, session_id, ts, day, received_at, seq, "
                    "stream_id, video_bitrate_kbps, audio_packet_loss, round_trip_ms) "
                    f"SELECT '12345678', md5(({seq} * {INGEST_ROWS} + range)::VARCHAR), 'publisherStats', "
                    "'s' || (range % 300), 1796500000000 + range, DATE '2026-12-06', 1796500000000, "
                    f"{seq}, 'st' || range, 800 * random(), random() / 10, 200 * random() FROM range({INGEST_ROWS})")
                con.execute("COMMIT")
                latencies.append(time.perf_counter() - began)

        def derive() -> None:
            con = db.cursor()
            step = 0
            while not stop.is_set():
                con.execute("BEGIN")
                con.execute(f"DELETE FROM session_endpoint_days WHERE hash(session_id) % 8 = {step % 8}")
                con.execute(
                    f"INSERT INTO session_endpoint_days (project_id, session_id, day, {_DIMS}, {_MEASURES}) "
                    f"SELECT '12345678', 's' || (range % 5000), DATE '2026-12-06', "
                    f"{', '.join(repr('x') for _ in DIMENSIONS)}, {_RANDOM} FROM range({DERIVE_ROWS})")
                con.execute("COMMIT")
                derived[0] += 1
                step += 1

        threads = [threading.Thread(target=ingest), threading.Thread(target=derive)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        db.close()
    latencies.sort()
    return {
        "ingest_commits_per_s": len(latencies) / seconds,
        "ingest_p50_ms": 1000 * statistics.median(latencies),
        "ingest_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "ingest_max_ms": 1000 * latencies[-1],
        "stalled_s": sum(x for x in latencies if x > STALL_S),
        "derive_tx_per_s": derived[0] / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"one": [], "two": []}
    for round_no in range(1, args.rounds + 1):
        for layout in ("one", "two"):
            result = run(layout, args.seconds)
            results[layout].append(result)
            print(f"round {round_no} {layout}: " + ", ".join(f"{k} {v:,.1f}" for k, v in result.items()), flush=True)
    title = f"measure (median of {args.rounds} rounds, {args.seconds:.0f} s each)"
    print(f"\n| {title} | one file | raw attached | ratio |")
    print("| --- | --- | --- | --- |")
    for key in results["one"][0]:
        one = statistics.median(r[key] for r in results["one"])
        two = statistics.median(r[key] for r in results["two"])
        ratio = f"{two / one:.2f}x" if one else "-"
        print(f"| {key} | {one:,.1f} | {two:,.1f} | {ratio} |")


if __name__ == "__main__":
    main()
