"""How many of the simulator's degradation episodes quality detection finds (docs/quality.md).

The simulator's NetState marks every 30 s slot of a person that falls inside a
bandwidth-cut episode (more loss, jitter and delay, less bandwidth). For every
published stream we take the runs of episode slots during which it sent samples,
derive the session's quality issues (derive/quality.py, default thresholds) and
count an episode as detected when an issue of that stream (publisher side)
overlaps it. Also reported: issue windows of streams that overlap no episode.

    .venv/bin/python -m benchmarks.quality_detection --sessions 400
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from videoinsights.derive.quality import derive_quality
from videoinsights.domain.days import la_day
from videoinsights.domain.events import FIELDS
from videoinsights.simulate.config import DEFAULT_CONFIG
from videoinsights.simulate.generator import session_sources
from videoinsights.simulate.schedule import plans
from videoinsights.simulate.sessions import SessionBuilder

_COLUMNS = {name: f.column for name, f in FIELDS.items()}


def raw_row(ev: dict[str, Any]) -> dict[str, Any]:
    """An ingestion-format event as a raw-table row (what derivation reads)."""
    row = {_COLUMNS[k]: v for k, v in ev.items() if k in _COLUMNS}
    row.update(event_id=ev["id"], type=ev["type"], session_id=ev["sessionId"], ts=ev["timestamp"],
               day=la_day(ev["timestamp"]), project_id="p")
    return row


def measure(sessions: int, seed: int) -> dict[str, Any]:
    cfg = DEFAULT_CONFIG
    builder = SessionBuilder(cfg, "p")
    interval = cfg.quality.interval_ms
    start = int(time.time() * 1000) - 3 * 86_400_000
    episodes = detected = issues_total = issues_outside = 0
    by_type: Counter[str] = Counter()
    for n, plan in enumerate(plans(start, 30, sessions / 30, seed, cfg)):
        if n >= sessions:
            break
        model = builder.build(plan)
        sources = session_sources(model, seed, cfg)
        events: list[dict[str, Any]] = []
        for src in sources:
            while src.ts is not None:
                events.append(src.pop())
        lifecycle = [raw_row(e) for e in events if not e["type"].endswith("Stats")]
        samples = [raw_row(e) for e in events if e["type"].endswith("Stats")]
        quality = derive_quality("p", model.session_id, lifecycle, [], samples)
        stream_issues: dict[str, list[tuple[int, int]]] = {}
        for issue in quality.issues:
            if issue.entity_kind == "stream" and issue.samples > 0:
                stream_issues.setdefault(issue.entity_id, []).append((issue.start_ts, issue.end_ts))
                by_type[issue.issue_type] += 1
        series = {src.series.stream.id: src.series for src in sources if hasattr(src, "series")
                  and type(src).__name__ == "PublisherStatsSource"}
        for stream in model.streams:
            ser = series.get(stream.id)
            if ser is None:
                continue
            # slots of the stream's samples: ts = stream.start + k * interval, k >= 1, ts < end
            runs: list[tuple[int, int]] = []
            ts = stream.start + interval
            while ts < stream.end:
                slot = (ts - plan.start) // interval
                ser.net.at(slot)
                if ser.net.episode[slot]:
                    if runs and runs[-1][1] == ts - interval:
                        runs[-1] = (runs[-1][0], ts)
                    else:
                        runs.append((ts, ts))
                ts += interval
            windows = stream_issues.get(stream.id, [])
            for first, last in runs:
                episodes += 1
                if any(s < last and e > first - interval for s, e in windows):
                    detected += 1
            for s, e in windows:
                issues_total += 1
                if not any(s < last and e > first - interval for first, last in runs):
                    issues_outside += 1
    return {"sessions": sessions, "episodes": episodes, "detected": detected, "stream_issues": issues_total,
            "outside_episodes": issues_outside, "by_type": dict(by_type.most_common())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    r = measure(args.sessions, args.seed)
    print(f"{r['sessions']} sessions: {r['episodes']} episodes on published streams, {r['detected']} detected "
          f"({r['detected'] / max(r['episodes'], 1):.1%})")
    print(f"{r['stream_issues']} stream issue windows, {r['outside_episodes']} outside any episode "
          f"({r['outside_episodes'] / max(r['stream_issues'], 1):.1%}); by type: {r['by_type']}")


if __name__ == "__main__":
    main()
