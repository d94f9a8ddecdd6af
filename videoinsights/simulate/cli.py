"""`videoinsights simulate`: argument definitions and the command body.

The main CLI wires these in: `add_simulate_arguments(subparser)` and
`run_simulate(args, token_provider)`. The token provider (a callable returning
a fresh project JWT) is only needed with `--url`; without one, `--token` (or
VIDEOINSIGHTS_TOKEN) supplies a fixed token.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from typing import BinaryIO

from videoinsights.domain.days import day_start_ms, la_day
from videoinsights.progress import Bar, track_events
from videoinsights.simulate.config import DEFAULT_CONFIG, SimConfig
from videoinsights.simulate.delivery import deliver
from videoinsights.simulate.generator import generate
from videoinsights.simulate.output import write_ndjson
from videoinsights.simulate.poster import post_events

Event = dict[str, object]


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", required=True, help="project id (API key) the events belong to")
    parser.add_argument("--days", type=_positive_int, default=1, help="days to simulate (default 1)")
    parser.add_argument("--sessions-per-day", type=float, default=100.0,
                        help="mean sessions starting per day over a week (default 100)")
    parser.add_argument("--seed", default="1", help="random seed: same seed, same events (default 1)")
    parser.add_argument("--start", type=date.fromisoformat, default=None,
                        help="first day, YYYY-MM-DD, from local midnight America/Los_Angeles "
                             "(default: --days days before today)")
    parser.add_argument("--out", metavar="FILE", help="write NDJSON to FILE ('-' for stdout)")
    parser.add_argument("--url", help="post to URL/v1/events of a running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", default=os.environ.get("VIDEOINSIGHTS_TOKEN"),
                        help="fixed X-OPENTOK-AUTH token for --url (default: $VIDEOINSIGHTS_TOKEN)")
    parser.add_argument("--concurrency", type=_positive_int, default=4, help="parallel requests (default 4)")
    parser.add_argument("--rate", type=float, default=None, help="steady load in events/s (default: unlimited)")
    parser.add_argument("--batch-size", type=_positive_int, default=1000, help="events per request (default 1000)")
    parser.add_argument("--late-fraction", type=_fraction, default=0.0,
                        help="share of events delivered minutes late, out of order (default 0)")
    parser.add_argument("--duplicate-fraction", type=_fraction, default=0.0,
                        help="share of events delivered twice with the same id (default 0)")


def _seed(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def start_ms_for(start: date | None, days: int, today: date | None = None) -> int:
    """Epoch ms of the window start: local midnight (America/Los_Angeles) of `start`,
    by default `days` days before today, so the window ends at today's midnight."""
    if start is None:
        today = today or la_day(int(time.time() * 1000))
        start = today - timedelta(days=days)
    return day_start_ms(start)


def simulated_events(args: argparse.Namespace, config: SimConfig = DEFAULT_CONFIG) -> Iterator[Event]:
    """The event stream the arguments describe (generation then delivery)."""
    seed = _seed(str(args.seed))
    events = generate(args.project, start_ms_for(args.start, args.days), args.days, args.sessions_per_day, seed,
                      config)
    return deliver(events, seed, args.late_fraction, args.duplicate_fraction)


def _tee(events: Iterable[Event], out: BinaryIO) -> Iterator[Event]:
    import orjson

    dumps = orjson.dumps
    for ev in events:
        out.write(dumps(ev) + b"\n")
        yield ev


def run_simulate(args: argparse.Namespace, token_provider: Callable[[], str] | None = None,
                 config: SimConfig = DEFAULT_CONFIG) -> int:
    """Run the command; returns the process exit code."""
    if not args.out and not args.url:
        print("simulate: give --out FILE (or -) and/or --url URL", file=sys.stderr)
        return 2
    if args.url and token_provider is None:
        if not args.token:
            print("simulate: --url needs a project token (--token or VIDEOINSIGHTS_TOKEN)", file=sys.stderr)
            return 2
        token = args.token
        token_provider = lambda: token  # noqa: E731
    # One INFO line per request from httpx would bury the progress line.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    started = time.monotonic()
    with Bar("simulating", total=args.days, unit="days") as bar:
        return _run(args, token_provider, track_events(simulated_events(args, config), bar,
                                                       start_ms_for(args.start, args.days)), started, bar)


def _run(args: argparse.Namespace, token_provider: Callable[[], str] | None, events: Iterable[Event],
         started: float, bar: Bar) -> int:
    if not args.url:
        if args.out == "-":
            n = write_ndjson(events, sys.stdout.buffer)
        else:
            with open(args.out, "wb") as fh:
                n = write_ndjson(events, fh)
        bar.update(completed=args.days)
        took = time.monotonic() - started
        print(f"simulate: wrote {n:,} events in {took:.1f} s ({n / max(took, 1e-9):,.0f} ev/s)", file=sys.stderr)
        return 0
    out = None
    try:
        if args.out:
            out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")  # noqa: SIM115
            events = _tee(events, out)
        assert token_provider is not None
        # the bar shows progress on a terminal; elsewhere only the summary line below is printed
        stats = post_events(args.url, token_provider, events, batch_size=args.batch_size,
                            concurrency=args.concurrency, rate=args.rate, progress=None)
    finally:
        if out is not None and out is not sys.stdout.buffer:
            out.close()
    bar.update(completed=args.days)
    print(f"simulate: {stats.line()}", file=sys.stderr)
    for message in stats.errors:
        print(f"simulate: {message}", file=sys.stderr)
    if stats.aborted:
        print("simulate: stopped early; later events were not sent", file=sys.stderr)
    return 0 if stats.ok else 1
