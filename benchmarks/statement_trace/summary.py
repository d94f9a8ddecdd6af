"""The derive connection's statements by minute, from a statement trace (statement_trace/sitecustomize.py):
`python -m benchmarks.statement_trace.summary DIR [TOP]`, the TOP statements by their seconds in all (default 28)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    files = sorted(Path(sys.argv[1]).glob("*.json"))  # <pid>-<minute>.json: a minute without statements has none
    numbers = [int(p.stem.rsplit("-", 1)[1]) for p in files]
    minutes = [json.loads(p.read_text()) for p in files]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 28
    total: dict[str, float] = {}
    for minute in minutes:
        for label, (_, seconds) in minute.items():
            total[label] = total.get(label, 0.0) + seconds
    print("seconds of the derive connection's statements per minute since the store opened (minute 0: start, idle)")
    print(f"{'statement':52s} " + " ".join(f"{i:>6d}" for i in numbers))
    for label in sorted(total, key=lambda k: -total[k])[:top]:
        print(f"{label[:52]:52s} " + " ".join(f"{m.get(label, [0, 0.0])[1]:6.1f}" for m in minutes))
    print(f"{'all':52s} " + " ".join(f"{sum(v[1] for v in m.values()):6.1f}" for m in minutes))


if __name__ == "__main__":
    main()
