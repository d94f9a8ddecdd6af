"""Turn a request body into a list of JSON values: a JSON array, one JSON
object, or NDJSON (one event per line). A malformed body is refused whole;
per-event problems are reported per event by validate.py."""

from __future__ import annotations

from typing import Any

import orjson


class BodyError(ValueError):
    """The body as a whole can't be read; the message says where."""


def parse_body(body: bytes) -> list[Any]:
    text = body.strip()
    if not text:
        raise BodyError("the body is empty: send a JSON array of events or NDJSON")
    if text[:1] == b"[":
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"malformed JSON: {exc}") from None
        if not isinstance(value, list):
            raise BodyError("the body must be a JSON array of events or NDJSON")
        return value
    events: list[Any] = []
    for number, line in enumerate(text.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"malformed JSON on line {number}: {exc}") from None
    return events
