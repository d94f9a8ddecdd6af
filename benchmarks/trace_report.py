"""Where a freshness marker's seconds go: joins bench_load's markers (ack, poll, seen: wall-clock) with the server's
derive trace (setting derive_trace_path, derive/trace.py: one line per pipeline step, cycle, ingest commit and
checkpoint). Used by `bench_load --trace DIR`; also runs on saved files:

    .venv/bin/python -m benchmarks.trace_report DIR/trace-10000.jsonl DIR/markers-10000-ours.jsonl

A marker's path: acknowledged while some step runs -> absorbed and picked by a later step (the express lane, written
in that same step, or a batch, written in the step after) -> written (the step's commit) -> seen by the next poll."""

from __future__ import annotations

import statistics
import sys
from bisect import bisect_right
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines() if line.strip()]


def q(values: list[float], p: float) -> float:
    """The p-quantile (nearest rank) of values, 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))]


def marker_paths(trace: list[dict[str, Any]], markers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each marker's path through the steps (seconds; None where the trace does not show it)."""
    steps = sorted((r for r in trace if r["kind"] == "step"), key=lambda r: r["t0"])
    starts = [s["t0"] for s in steps]
    out = []
    for m in markers:
        sid, ack = m["sid"], m["ack"]
        first = bisect_right(starts, ack)  # the first step started after the ack
        running = steps[first - 1] if first and steps[first - 1]["t1"] > ack else None
        pick = next((i for i in range(max(0, first - 1), len(steps))
                     if sid in steps[i]["express"] or sid in steps[i]["picked"]), None)
        wrote = next((i for i in range(pick if pick is not None else first, len(steps))
                      if sid in steps[i]["wrote"]), None) if pick is not None else None
        path: dict[str, Any] = {"sid": sid, "fresh": m["seen"] - ack, "post": ack - m["post"],
                                "running": running["t1"] - running["t0"] if running else None,
                                "running_left": running["t1"] - ack if running else None}
        if pick is not None:
            path["lane"] = "express" if sid in steps[pick]["express"] else "batch"
            path["to_pick"] = steps[pick]["t0"] - ack
            path["missed"] = max(0, pick - first)  # steps started after the ack that did not take it
            path["pick_step"] = steps[pick]["t1"] - steps[pick]["t0"]
        if wrote is not None:
            path["to_written"] = steps[wrote]["t1"] - ack
            path["write_step"] = steps[wrote]["t1"] - steps[wrote]["t0"]
            path["write_phases"] = steps[wrote]["phases"] or {}
            path["written_to_seen"] = m["seen"] - steps[wrote]["t1"]
            path["poll_took"] = m["seen"] - m["poll"]
        out.append(path)
    return out


# the phases the windows below show, in a step's order (absorbing the new commits, then writing the batch)
WINDOW_PHASES = ("absorb_stats", "absorb_quality", "read", "rows", "quality", "rollups", "commit")


def windows(steps: list[dict[str, Any]], count: int = 8) -> list[tuple[float, list[dict[str, Any]]]]:
    """The steps that wrote sessions, in `count` equal windows of time from the first: (window start s, steps)."""
    wrote = sorted((s for s in steps if s["wrote"]), key=lambda s: s["t0"])
    if not wrote:
        return []
    t0 = wrote[0]["t0"]
    width = max(1.0, (wrote[-1]["t0"] - t0) / count)
    grouped: dict[int, list[dict[str, Any]]] = {}
    for s in wrote:
        grouped.setdefault(min(count - 1, int((s["t0"] - t0) / width)), []).append(s)
    return [(i * width, grouped[i]) for i in sorted(grouped)]


def print_windows(steps: list[dict[str, Any]], out: Any) -> None:
    """How the steps' phases moved during the load: a store that grows (older live sessions, more rows of the day)
    makes each step dearer, which one median over the whole run hides."""
    print("  steps over time (medians per window; sessions = written per step):", file=out)
    print("  | from s | steps | sessions | step s | " + " | ".join(WINDOW_PHASES) + " |", file=out)
    for start, ws in windows(steps):
        def med(k: str, ws: list[dict[str, Any]] = ws) -> float:
            return statistics.median((s["phases"] or {}).get(k, 0.0) for s in ws)
        print(f"  | {start:.0f} | {len(ws)} | {statistics.median(len(s['wrote']) for s in ws):.0f} | "
              f"{statistics.median(s['t1'] - s['t0'] for s in ws):.2f} | "
              + " | ".join(f"{med(k):.2f}" for k in WINDOW_PHASES) + " |", file=out)


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def report(trace: list[dict[str, Any]], markers: list[dict[str, Any]], out: Any = sys.stdout) -> None:
    """Print the steps' durations and phases while markers were posted, and the slow markers' paths."""
    if not markers:
        print("trace: no markers", file=out)
        return
    lo, hi = min(m["ack"] for m in markers), max(m["seen"] for m in markers)
    steps = [r for r in trace if r["kind"] == "step" and lo <= r["t0"] <= hi]
    durations = [s["t1"] - s["t0"] for s in steps]
    print(f"\ntrace: {len(steps)} derive steps while markers were out: duration p50 {q(durations, .5):.2f} s, "
          f"p90 {q(durations, .9):.2f} s, max {max(durations, default=0):.2f} s; batch sizes "
          f"{sorted({s['limit'] for s in steps})}", file=out)
    phases = sorted({k for s in steps for k in (s["phases"] or {})})
    print("  step phases, s (p50 / p90 / max): " + "; ".join(
        f"{k} {q(v, .5):.2f}/{q(v, .9):.2f}/{max(v):.2f}"
        for k in phases for v in [[(s['phases'] or {}).get(k, 0.0) for s in steps]]), file=out)
    print_windows(steps, out)
    commits = [r["t1"] - r["t0"] for r in trace if r["kind"] == "commit" and lo <= r["t0"] <= hi]
    print(f"  ingest commits: {len(commits)}, p50 {q(commits, .5) * 1000:.0f} ms, p99 {q(commits, .99) * 1000:.0f} ms, "
          f"max {max(commits, default=0) * 1000:.0f} ms", file=out)
    for c in (r for r in trace if r["kind"] == "checkpoint" and lo <= r["t1"] and r["t0"] <= hi):
        print(f"  checkpoint at +{c['t0'] - lo:.1f} s: waited {c['locked'] - c['t0']:.2f} s for the derive lock, "
              f"took {c['t1'] - c['locked']:.2f} s", file=out)
    cycles = sorted((r for r in trace if r["kind"] == "cycle" and lo <= r["t1"] and r["t0"] <= hi),
                    key=lambda r: r["t0"])
    gaps = [b["locked"] - a["t1"] for a, b in pairwise(cycles)]
    print(f"  cycles: {len(cycles)}, gaps between them p50 {q(gaps, .5):.2f} s, max {max(gaps, default=0):.2f} s",
          file=out)
    paths = sorted(marker_paths(trace, markers), key=lambda p: p["fresh"])
    keys = ("to_pick", "pick_step", "to_written", "written_to_seen", "poll_took", "running", "running_left")
    print("  all markers, s (p50 / p90 / max): " + "; ".join(
        f"{k} {q(v, .5):.2f}/{q(v, .9):.2f}/{max(v, default=0):.2f}"
        for k in keys for v in [[p[k] for p in paths if p.get(k) is not None]]), file=out)
    lanes = [p.get("lane", "?") for p in paths]
    print(f"  lanes: {lanes.count('express')} express, {lanes.count('batch')} batch, {lanes.count('?')} not in trace; "
          f"steps missed after the ack: {statistics.mean(p.get('missed', 0) for p in paths):.2f} on average", file=out)
    slow = paths[int(0.9 * (len(paths) - 1)):]
    print("  slowest markers (p90+): fresh = running step's rest + steps missed + picking step (+ next if batch)"
          " + written->seen", file=out)
    print("  | fresh s | lane | running step s (left) | missed | ack->picking step s | picking step s "
          "| ack->written s | written->seen s (poll took) | writing step phases s |", file=out)
    for p in slow:
        ph = ", ".join(f"{k} {v:.2f}" for k, v in sorted(p.get("write_phases", {}).items(), key=lambda kv: -kv[1])
                       if v >= 0.05)
        print(f"  | {p['fresh']:.2f} | {p.get('lane', '?')} | {fmt(p['running'])} ({fmt(p['running_left'])}) | "
              f"{p.get('missed', '-')} | {fmt(p.get('to_pick'))} | {fmt(p.get('pick_step'))} | "
              f"{fmt(p.get('to_written'))} | {fmt(p.get('written_to_seen'))} ({fmt(p.get('poll_took'))}) | {ph} |",
              file=out)


if __name__ == "__main__":
    report(read_jsonl(sys.argv[1]), read_jsonl(sys.argv[2]))
