"""Validate one incoming event against the vocabulary and turn it into a raw-table row.

Validation is strict: an unknown field is an error (a typo must not silently
drop data), and every value must have its declared type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from videoinsights.domain.days import la_day
from videoinsights.domain.events import EVENT_TYPES, FIELDS, Field

MAX_ID_LENGTH = 256
MAX_TEXT_LENGTH = 1024
_RESOLUTION = re.compile(r"[0-9]{1,5}x[0-9]{1,5}")  # fullmatch: ASCII digits, no trailing newline
_ALLOWED: dict[str, frozenset[str]] = {
    name: frozenset(("id", "type", "sessionId", "timestamp", *t.required, *t.optional))
    for name, t in EVENT_TYPES.items()
}


_ENVELOPE = frozenset(("id", "type", "sessionId", "timestamp"))


class EventError(ValueError):
    """The event is invalid; the message says which field and why."""


def parse_timestamp(value: Any) -> int:
    """Epoch milliseconds (int) or an ISO-8601 string -> epoch ms."""
    if isinstance(value, bool):
        raise EventError("timestamp must be epoch milliseconds or an ISO-8601 string")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise EventError(f"timestamp {value!r} is not ISO-8601") from None
        if parsed.tzinfo is None:
            raise EventError(f"timestamp {value!r} needs a time zone (Z or an offset)")
        return int(parsed.timestamp() * 1000)
    raise EventError("timestamp must be epoch milliseconds or an ISO-8601 string")


def _id(event: dict[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        raise EventError(f"{key} must be a non-empty string")
    if len(value) > MAX_ID_LENGTH:
        raise EventError(f"{key} is longer than {MAX_ID_LENGTH} characters")
    return value


def _checker(spec: Field) -> Callable[[Any], Any]:
    """Build the check of one field once, so validating an event is a few cheap calls."""
    name, kind = spec.name, spec.kind
    if kind == "str":
        choices, upper = spec.choices, spec.upper
        shaped = name in ("videoResolution", "resolution")

        def check_str(value: Any) -> Any:
            if type(value) is not str:
                raise EventError(f"{name} must be a string")
            if len(value) > MAX_TEXT_LENGTH:
                raise EventError(f"{name} is longer than {MAX_TEXT_LENGTH} characters")
            if upper:
                value = value.upper()
            if choices:
                value = value.lower()
                if value not in choices:
                    raise EventError(f"{name} must be one of {', '.join(choices)}")
            if shaped and not _RESOLUTION.fullmatch(value):
                raise EventError(f"{name} must look like 1280x720")
            return value

        return check_str
    if kind == "bool":

        def check_bool(value: Any) -> Any:
            if type(value) is not bool:
                raise EventError(f"{name} must be true or false")
            return value

        return check_bool
    low, high = spec.value_range
    if kind == "int":

        def check_int(value: Any) -> Any:
            if type(value) is not int:
                raise EventError(f"{name} must be an integer")
            if not low <= value <= high:
                raise EventError(f"{name} must be an integer in {spec.range_text}")
            return value

        return check_int
    problem = f"a number in {spec.range_text}"

    def check_number(value: Any) -> Any:
        kind_of = type(value)
        if kind_of is not int and kind_of is not float:
            raise EventError(f"{name} must be a number")
        if not low <= value <= high:  # also refuses NaN and infinities
            raise EventError(f"{name} must be {problem}")
        return float(value)

    return check_number


_CHECKS: dict[str, tuple[str, Callable[[Any], Any]]] = {n: (f.column, _checker(f)) for n, f in FIELDS.items()}


def field_check(name: str) -> Callable[[Any], Any]:
    """The check of one field (raises EventError, returns the value to store): ingest/fast.py reuses it."""
    return _CHECKS[name][1]


def to_row(event: Any, project_id: str, received_at: int, min_ts: int, max_ts: int) -> dict[str, Any]:
    """Validate `event`; return its raw-table row (only the columns it has) or raise EventError."""
    if not isinstance(event, dict):
        raise EventError("an event must be a JSON object")
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise EventError("type must be a string")
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise EventError(f"unknown event type {event_type!r}")
    event_id = _id(event, "id")
    session_id = _id(event, "sessionId")
    if "timestamp" not in event:
        raise EventError("timestamp is required")
    ts = parse_timestamp(event["timestamp"])
    if ts > max_ts:
        raise EventError("timestamp is too far in the future")
    if ts < min_ts:
        raise EventError("timestamp is older than the raw-data retention window")
    unknown = event.keys() - _ALLOWED[event_type]
    if unknown:
        raise EventError(f"unknown field(s) for {event_type}: {', '.join(sorted(unknown))}")
    for name in spec.required:
        if event.get(name) is None:
            raise EventError(f"{name} is required for {event_type}")
    row: dict[str, Any] = {
        "project_id": project_id,
        "event_id": event_id,
        "type": event_type,
        "session_id": session_id,
        "ts": ts,
        "day": la_day(ts),
        "received_at": received_at,
    }
    for name, value in event.items():
        if value is None or name in _ENVELOPE:
            continue
        column, check = _CHECKS[name]
        row[column] = check(value)
    return row
