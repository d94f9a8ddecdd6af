"""Splitting at America/Los_Angeles midnight: PDT (07:00Z), PST (08:00Z) and DST-change days."""

from __future__ import annotations

import pytest

from tests.derive.derive_helpers import Events, day, derive_checked, nonzero, project_day, tiers, utc_ms

WIDE_1_2 = ("from1To2Publishers", "from1To4Publishers", "from1To8Publishers", "from1To10Publishers",
            "from1To25Publishers")


def _published_by_day(e: Events) -> dict[str, float]:
    result = derive_checked(e)
    return {str(r.day): r.measures["published_minutes"] for r in result.endpoint_days}


def _one_stream(start: str, end: str) -> Events:
    e = Events()
    e.connect("a", utc_ms(start), sdk_type="JS")
    e.publish("s", "a", utc_ms(start))
    e.unpublish("s", utc_ms(end))
    e.disconnect("a", utc_ms(end))
    return e


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Summer (PDT): midnight = 07:00Z. 23:30 -> 00:45 local.
        ("2024-07-11T06:30", "2024-07-11T07:45", {"2024-07-10": 30.0, "2024-07-11": 45.0}),
        # Winter (PST): midnight = 08:00Z. 23:50 -> 00:20 local.
        ("2024-01-16T07:50", "2024-01-16T08:20", {"2024-01-15": 10.0, "2024-01-16": 20.0}),
        # Spring forward: 2024-03-10 lasts 23 h (08:00Z -> next 07:00Z).
        ("2024-03-10T07:00", "2024-03-11T08:00", {"2024-03-09": 60.0, "2024-03-10": 1380.0, "2024-03-11": 60.0}),
        # Fall back: 2024-11-03 lasts 25 h (07:00Z -> next 08:00Z).
        ("2024-11-03T06:00", "2024-11-04T09:00", {"2024-11-02": 60.0, "2024-11-03": 1500.0, "2024-11-04": 60.0}),
    ],
)
def test_published_minutes_split_at_la_midnight(start: str, end: str, expected: dict[str, float]) -> None:
    assert _published_by_day(_one_stream(start, end)) == expected


def test_meeting_and_session_minutes_are_not_split() -> None:
    result = derive_checked(_one_stream("2024-07-11T06:30", "2024-07-11T07:45"))
    assert result.meetings[0].publisher_minutes == 75.0
    assert result.session.publisher_minutes == 75.0


def test_participant_minutes_go_to_the_la_day_of_each_minute() -> None:
    # a publishes and b watches from 23:50 PST to 00:20 PST: 10 minutes x 2 before midnight, 20 x 2 after.
    e = Events()
    for cid in ("a", "b"):
        e.connect(cid, utc_ms("2024-01-16T07:50"))
        e.disconnect(cid, utc_ms("2024-01-16T08:20"))
    e.publish("s", "a", utc_ms("2024-01-16T07:50"))
    e.unpublish("s", utc_ms("2024-01-16T08:20"))
    result = derive_checked(e)
    assert nonzero(project_day(result, "2024-01-15")) == nonzero(tiers(**dict.fromkeys(WIDE_1_2, 20.0)))
    assert nonzero(project_day(result, "2024-01-16")) == nonzero(tiers(**dict.fromkeys(WIDE_1_2, 40.0)))
    assert result.session.tiers == tiers(**dict.fromkeys(WIDE_1_2, 60.0))
    assert [r.day for r in result.project_days] == [day("2024-01-15"), day("2024-01-16")]
