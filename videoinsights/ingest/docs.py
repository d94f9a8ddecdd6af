"""Regenerate the generated part of docs/events.md: `python -m videoinsights.ingest.docs`.

tests/ingest/test_docs.py fails when the file is stale."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from videoinsights.domain.events import EVENT_TYPES, FIELDS, NUMERIC_KINDS
from videoinsights.ingest.jsonschema import event_schema

BEGIN = "<!-- BEGIN GENERATED: python -m videoinsights.ingest.docs -->"
END = "<!-- END GENERATED -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def generated() -> str:
    lines = ["### Event types", "", "| type | required | optional | meaning |", "| --- | --- | --- | --- |"]
    for t in EVENT_TYPES.values():
        lines.append(
            f"| `{t.name}` | {', '.join(f'`{f}`' for f in t.required) or '-'} | "
            f"{', '.join(f'`{f}`' for f in t.optional) or '-'} | {t.help} |"
        )
    lines += ["", "### Fields", "", "| field | type | meaning |", "| --- | --- | --- |"]
    for f in FIELDS.values():
        kind = {"str": "string", "int": "integer", "float": "number", "ratio": "number", "bool": "boolean"}[f.kind]
        if f.kind in NUMERIC_KINDS:
            kind += f" {f.range_text}"
        choices = f" ({' / '.join(f.choices)})" if f.choices else ""
        lines.append(f"| `{f.name}` | {kind}{choices} | {f.help} |")
    lines += [
        "",
        "### JSON Schema",
        "",
        "Also served at `GET /v1/events/schema`.",
        "",
        "```json",
        json.dumps(event_schema(), indent=1),
        "```",
    ]
    return "\n".join(lines)


def render(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{generated()}\n{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
    sys.exit(0)
