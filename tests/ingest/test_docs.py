"""docs/events.md carries the generated vocabulary and JSON Schema; it must be current."""

from videoinsights.ingest.docs import DOC, render


def test_events_doc_is_current() -> None:
    text = DOC.read_text()
    assert render(text) == text, "run: python -m videoinsights.ingest.docs"
