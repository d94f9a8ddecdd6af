"""What bench_load's traffic asks of derivation: per fold window, the sessions that get lifecycle events and those
that get stats samples only, and how many sessions are live.

Every event dirties its session, a stats sample too: it is evidence that its connection, stream or subscriber is still
there, and an entity without a destroy event ends at its evidence (derive/lifetimes.py), so the session's minutes,
meetings and fine rows move with each sample. This counts, in the traffic bench_load posts (its `replayed_traffic`,
with its options and defaults), how many sessions each window dirties and for what: how many derivations a second keep
up, and how many of them only extend a live session (docs/benchmarks.md, stop 53). Nothing is timed; it takes about
two minutes per ten minutes of traffic at 10,000 events/s.

    .venv/bin/python -m benchmarks.traffic_dirtying [--rate 10000] [--minutes 15] [--window-s 5]
"""

from __future__ import annotations

import argparse
from itertools import islice

from benchmarks.bench_load import add_traffic_arguments, replay_start, replayed_traffic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=10_000, help="events/s, as bench_load --rate")
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--window-s", type=int, default=5, help="the fold window (setting stats_fold_s)")
    add_traffic_arguments(parser)
    args = parser.parse_args()
    per_day, stream = replayed_traffic(args, "p", args.rate, replay_start())
    per_window = args.rate * args.window_s  # events are posted at `rate`: event i arrives at i / rate seconds
    lifecycle: dict[int, set[str]] = {}
    stats: dict[int, set[str]] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, event in enumerate(islice(stream, args.rate * 60 * args.minutes)):
        window, session = i // per_window, event["sessionId"]
        (stats if event["type"].endswith("Stats") else lifecycle).setdefault(window, set()).add(session)
        first.setdefault(session, window)
        last[session] = window
    windows = args.minutes * 60 // args.window_s
    per_minute = 60 // args.window_s
    print(f"{per_day:,} sessions a day at {args.rate:,} events/s; sessions per {args.window_s}-s window "
          "(the last window of each minute):")
    print("minute  lifecycle  stats only  new  live (an event before and after the window)")
    for window in range(per_minute - 1, windows - 1, per_minute):
        with_lifecycle = lifecycle.get(window, set())
        stats_only = stats.get(window, set()) - with_lifecycle
        new = sum(1 for w in first.values() if w == window)
        live = sum(1 for s, w in first.items() if w <= window and last[s] > window)
        print(f"{(window + 1) * args.window_s / 60:6.0f}  {len(with_lifecycle):9,d}  {len(stats_only):10,d}  "
              f"{new:3d}  {live:,d}")


if __name__ == "__main__":
    main()
