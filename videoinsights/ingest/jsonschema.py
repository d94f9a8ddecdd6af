"""JSON Schema (draft 2020-12) of the event format, generated from the vocabulary.

Served at GET /v1/events/schema and embedded in docs/events.md.
"""

from __future__ import annotations

from typing import Any

from videoinsights.domain.events import EVENT_TYPES, FIELDS, NUMERIC_KINDS

_JSON_TYPE = {"str": "string", "int": "integer", "float": "number", "ratio": "number", "bool": "boolean"}


def _field_schema(name: str) -> dict[str, Any]:
    f = FIELDS[name]
    schema: dict[str, Any] = {"type": _JSON_TYPE[f.kind], "description": f.help}
    if f.choices:
        schema["enum"] = list(f.choices)
    if f.kind in NUMERIC_KINDS:
        low, high = f.value_range
        schema.update(minimum=low, maximum=high)
    return schema


def event_schema() -> dict[str, Any]:
    envelope = {
        "id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 256,
            "description": "Client-chosen id, unique per project: a retry with the same id is a no-op",
        },
        "sessionId": {"type": "string", "minLength": 1, "maxLength": 256, "description": "Session id"},
        "timestamp": {
            "description": "Epoch milliseconds, or an ISO-8601 string with a time zone",
            "oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}],
        },
    }
    variants = []
    for t in EVENT_TYPES.values():
        props = {"type": {"const": t.name}, **envelope}
        props.update({n: _field_schema(n) for n in (*t.required, *t.optional)})
        variants.append(
            {
                "title": t.name,
                "description": t.help,
                "type": "object",
                "properties": props,
                "required": ["id", "type", "sessionId", "timestamp", *t.required],
                "additionalProperties": False,
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "videoinsights:event",
        "title": "videoinsights event",
        "description": "One telemetry event. POST /v1/events takes a JSON array of these, or NDJSON.",
        "oneOf": variants,
    }
