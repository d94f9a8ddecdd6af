"""NDJSON output: one event per line, byte-for-byte stable for a seed.

Keys keep the generator's fixed insertion order (envelope first, then the
type's fields), so no key sorting is needed for stable bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import orjson

Event = dict[str, object]


def write_ndjson(events: Iterable[Event], out: BinaryIO, chunk: int = 2_000) -> int:
    """Write events to a binary stream as NDJSON; returns the number written."""
    dumps, buf, n = orjson.dumps, [], 0
    for ev in events:
        buf.append(dumps(ev))
        if len(buf) >= chunk:
            out.write(b"\n".join(buf) + b"\n")
            n += len(buf)
            buf.clear()
    if buf:
        out.write(b"\n".join(buf) + b"\n")
        n += len(buf)
    out.flush()
    return n


def write_ndjson_to(events: Iterable[Event], target: str | Path) -> int:
    """Write to a file path, or to stdout when target is "-"."""
    if str(target) == "-":
        return write_ndjson(events, sys.stdout.buffer)
    with open(target, "wb") as fh:
        return write_ndjson(events, fh)


def read_ndjson(source: BinaryIO) -> Iterable[Event]:
    """Events back from NDJSON (for tests and tools)."""
    for line in source:
        if line.strip():
            yield orjson.loads(line)
