"""docs/api.md's schema section is generated from the SDL and must be current."""

from __future__ import annotations

from videoinsights.query import docs


def test_schema_section_is_up_to_date() -> None:
    text = docs.API_DOC.read_text()
    assert docs.updated(text) == text, "run: python -m videoinsights.query.docs"


def test_every_type_is_documented() -> None:
    text = docs.API_DOC.read_text()
    for name in ("Metric", "SessionSummary", "PublisherStats", "Country", "GroupBy", "Date"):
        assert f" `{name}`\n" in text
