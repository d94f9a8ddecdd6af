"""The derive connection's statements by minute, from a statement trace (statement_trace/sitecustomize.py):
`python -m benchmarks.statement_trace.summary DIR [TOP] [--per-run]`, the TOP statements by their seconds in all
(default 28), each minute's seconds, or with `--per-run` its milliseconds per run (what a statement costs as a run
ages, whether it runs more or less often). With STATEMENT_PLAN's samples in the trace, then the same statements'
planning: milliseconds per run against those of `EXPLAIN` alone, over the whole trace."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PLAN = "PLAN "  # the label prefix of STATEMENT_PLAN's samples

Minute = dict[str, list[float]]  # statement label: [runs, seconds]


def _summed(minutes: list[Minute]) -> Minute:
    """Each label's runs and seconds over the whole trace."""
    total: Minute = {}
    for minute in minutes:
        for label, (count, seconds) in minute.items():
            runs = total.setdefault(label, [0, 0.0])
            runs[0] += count
            runs[1] += seconds
    return total


def _print_minutes(numbers: list[int], minutes: list[Minute], ranked: list[str], per_run: bool) -> None:
    unit = "milliseconds per run" if per_run else "seconds"
    print(f"{unit} of the derive connection's statements per minute since the store opened (minute 0: start, idle)")
    print(f"{'statement':52s} " + " ".join(f"{i:>6d}" for i in numbers))
    for label in ranked:
        cells = (m.get(label, [0, 0.0]) for m in minutes)
        values = (1000 * s / n if n else 0.0 for n, s in cells) if per_run else (s for _, s in cells)
        print(f"{label[:52]:52s} " + " ".join(f"{v:6.1f}" for v in values))
    if not per_run:
        print(f"{'all':52s} " + " ".join(f"{sum(v[1] for v in m.values()):6.1f}" for m in minutes))


def _print_planning(total: Minute, planned: Minute, ranked: list[str]) -> None:
    print("\nplanning (STATEMENT_PLAN): ms per run of each statement, and of its EXPLAIN alone (sampled)")
    print(f"{'statement':52s} {'runs':>6s} {'ms/run':>8s} {'plan ms':>8s} {'share':>6s} {'plan s':>7s}")
    for label in [k for k in ranked if k in planned]:
        (runs, seconds), (samples, plan_s) = total[label], planned[label]
        per_run, per_plan = 1000 * seconds / runs, 1000 * plan_s / samples
        print(f"{label[:52]:52s} {runs:6.0f} {per_run:8.1f} {per_plan:8.1f} {per_plan / per_run:6.0%} "
              f"{per_plan * runs / 1000:7.1f}")
    # each statement's estimate at most its own time: EXPLAIN renders its plan too, and the samples are first runs
    capped = sum(min(planned[k][1] / planned[k][0] * total[k][0], total[k][1]) for k in planned if k in total)
    every = sum(runs[1] for runs in total.values())
    print(f"planning, each statement's estimate capped at its own time: {capped:.1f} s of {every:.1f} s "
          f"of statements ({capped / every:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("top", type=int, nargs="?", default=28)
    parser.add_argument("--per-run", action="store_true", help="milliseconds per run instead of seconds per minute")
    args = parser.parse_args()
    files = sorted(args.dir.glob("*.json"))  # <pid>-<minute>.json: a minute without statements has none
    numbers = [int(p.stem.rsplit("-", 1)[1]) for p in files]
    minutes: list[Minute] = [json.loads(p.read_text()) for p in files]
    total = _summed(minutes)
    planned = {label[len(PLAN):]: runs for label, runs in total.items() if label.startswith(PLAN)}
    # the planning samples ran beside the statements, not as part of them
    minutes = [{k: v for k, v in m.items() if not k.startswith(PLAN)} for m in minutes]
    total = {label: runs for label, runs in total.items() if not label.startswith(PLAN)}
    ranked = sorted(total, key=lambda k: -total[k][1])[:args.top]
    _print_minutes(numbers, minutes, ranked, args.per_run)
    if planned:
        _print_planning(total, planned, ranked)


if __name__ == "__main__":
    main()
