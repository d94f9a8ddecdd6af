"""The derive connection's statements by minute, from a statement trace (statement_trace/sitecustomize.py):
`python -m benchmarks.statement_trace.summary DIR [TOP]`, the TOP statements by their seconds in all (default 28).
With STATEMENT_PLAN's samples in the trace, then the same statements' planning: milliseconds per run against those
of `EXPLAIN` alone, over the whole trace."""

from __future__ import annotations

import json
import sys
from pathlib import Path

PLAN = "PLAN "  # the label prefix of STATEMENT_PLAN's samples


def main() -> None:
    files = sorted(Path(sys.argv[1]).glob("*.json"))  # <pid>-<minute>.json: a minute without statements has none
    numbers = [int(p.stem.rsplit("-", 1)[1]) for p in files]
    minutes = [json.loads(p.read_text()) for p in files]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 28
    total: dict[str, list[float]] = {}  # label: [runs, seconds] over the trace
    for minute in minutes:
        for label, (count, seconds) in minute.items():
            runs = total.setdefault(label, [0, 0.0])
            runs[0] += count
            runs[1] += seconds
    planned = {label[len(PLAN):]: runs for label, runs in total.items() if label.startswith(PLAN)}
    for minute in minutes:  # the planning samples ran beside the statements, not as part of them
        for label in [k for k in minute if k.startswith(PLAN)]:
            del minute[label]
    total = {label: runs for label, runs in total.items() if not label.startswith(PLAN)}
    print("seconds of the derive connection's statements per minute since the store opened (minute 0: start, idle)")
    print(f"{'statement':52s} " + " ".join(f"{i:>6d}" for i in numbers))
    ranked = sorted(total, key=lambda k: -total[k][1])
    for label in ranked[:top]:
        print(f"{label[:52]:52s} " + " ".join(f"{m.get(label, [0, 0.0])[1]:6.1f}" for m in minutes))
    print(f"{'all':52s} " + " ".join(f"{sum(v[1] for v in m.values()):6.1f}" for m in minutes))
    if planned:
        print("\nplanning (STATEMENT_PLAN): ms per run of each statement, and of its EXPLAIN alone (sampled)")
        print(f"{'statement':52s} {'runs':>6s} {'ms/run':>8s} {'plan ms':>8s} {'share':>6s} {'plan s':>7s}")
        for label in [k for k in ranked if k in planned][:top]:
            (runs, seconds), (samples, plan_s) = total[label], planned[label]
            per_run, per_plan = 1000 * seconds / runs, 1000 * plan_s / samples
            print(f"{label[:52]:52s} {runs:6.0f} {per_run:8.1f} {per_plan:8.1f} {per_plan / per_run:6.0%} "
                  f"{per_plan * runs / 1000:7.1f}")


if __name__ == "__main__":
    main()
