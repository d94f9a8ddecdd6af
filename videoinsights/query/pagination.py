"""Offset pagination as the Insights API exposes it.

A cursor is base64("insights-resource:<offset>"), the offset being the number
of items already returned. Decoding is lenient about padding (the docs print
a cursor with one '=' too many and clients send it back), an empty string is
the first page, anything else is error 1005 -- including offsets no list can
reach (above MAX_OFFSET): they would overflow the store's integer parameters.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from videoinsights.query.errors import InsightsError

DEFAULT_PAGE = 50
MAX_PAGE = 1000
MEETINGS_PAGE = 10  # default and maximum for meetings
MAX_OFFSET = 2**31 - 1  # far beyond any list kept; larger offsets are not cursors this API returns
_PREFIX = "insights-resource:"
_OFFSET = re.compile(r"[0-9]{1,10}")  # ASCII digits only: str.isdigit() also accepts '²'
_MAX_CURSOR_CHARS = 64
_INVALID = "Invalid parameter: endCursor is not a cursor returned by this API."


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if cursor is None or not cursor.strip():
        return 0
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise InsightsError(1005, _INVALID)
    raw = cursor.strip().rstrip("=")
    raw += "=" * (-len(raw) % 4)
    try:
        text = base64.b64decode(raw.replace("-", "+").replace("_", "/"), validate=True).decode()
    except (binascii.Error, ValueError):
        text = ""
    offset = text[len(_PREFIX):] if text.startswith(_PREFIX) else ""
    if not _OFFSET.fullmatch(offset) or int(offset) > MAX_OFFSET:
        raise InsightsError(1005, _INVALID)
    return int(offset)


@dataclass(frozen=True)
class Page:
    """Which slice of a list to return."""

    offset: int
    limit: int

    @classmethod
    def of(cls, first: int | None, end_cursor: str | None, default: int = DEFAULT_PAGE,
           maximum: int = MAX_PAGE) -> Page:
        """Larger `first` values are clamped (clients send 1000 and 100000), negatives refused."""
        if first is None:
            size = default
        elif first < 0:
            raise InsightsError(1006, "Invalid parameter: `first` must be a positive integer.")
        else:
            size = min(first, maximum)
        return cls(decode_cursor(end_cursor), size)

    def result(self, items: list[Any], total: int, **extra: Any) -> dict[str, Any]:
        """The collection object: totalCount, pageInfo, resources (+ extra fields)."""
        end = self.offset + len(items)
        return {
            "totalCount": total,
            "pageInfo": {"hasNextPage": end < total, "endCursor": encode_cursor(end)},
            "resources": items,
            **extra,
        }
