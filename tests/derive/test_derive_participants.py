"""Participant minutes: the per-minute P/S rule and every tier boundary."""

from __future__ import annotations

import pytest

from tests.derive.derive_helpers import MIN, T0, Events, at, derive_checked, nonzero, project_day, tiers

WIDE_1_2 = ("from1To2Publishers", "from1To4Publishers", "from1To8Publishers", "from1To10Publishers",
            "from1To25Publishers")


def test_hand_check_45_minutes() -> None:
    # u1 connects 00:00, publishes 00:05-00:15, leaves 00:15; u2 and u3 connect 00:10;
    # u2 publishes 00:10-00:30 and leaves 00:30; u3 leaves 00:25.
    # minutes 0-4: P1 S0 (not counted); 5-9: P1 S1 -> 5; 10-14: P3 S2 -> 15;
    # 15-24: P2 S1 -> 20; 25-29: P1 S1 -> 5. Total 45, all with max(S,1) in {1, 2}.
    e = Events()
    e.user("u1", 0, 15, publish=(5, 15))
    e.user("u2", 10, 30, publish=(10, 30))
    e.user("u3", 10, 25)
    result = derive_checked(e)
    expected = tiers(**dict.fromkeys(WIDE_1_2, 45.0))
    assert result.meetings[0].tiers == expected
    assert result.session.tiers == expected
    assert nonzero(project_day(result, "2024-07-10")) == nonzero(expected)


def test_two_connections_without_publisher_count() -> None:
    # P = 2, S = 0 for 10 minutes: counted as 1 publisher (max(S, 1)) -> 20 minutes.
    e = Events()
    e.user("a", 0, 10)
    e.user("b", 0, 10)
    assert derive_checked(e).session.tiers == tiers(**dict.fromkeys(WIDE_1_2, 20.0))


def test_single_connection_without_publisher_does_not_count() -> None:
    e = Events()
    e.user("a", 0, 30)
    assert derive_checked(e).session.tiers == tiers()


def test_partial_minutes_count_whole_and_peaks_may_differ_in_time() -> None:
    # a publishes 0:00-0:20 only; b is present 0:40-2:00 (leaving exactly at a minute boundary).
    e = Events()
    e.connect("a", T0)
    e.publish("a-s", "a", T0)
    e.unpublish("a-s", T0 + 20_000)
    e.connect("b", T0 + 40_000)
    e.disconnect("b", T0 + 2 * MIN)
    e.disconnect("a", T0 + 3 * MIN)
    # minute 0: P=2 (after 0:40), S=1 (before 0:20) -> 2; minute 1: P=2, S=0 -> 2; minute 2: P=1, S=0 -> 0.
    assert derive_checked(e).session.tiers == tiers(**dict.fromkeys(WIDE_1_2, 4.0))


def test_connection_with_two_streams_is_one_publisher() -> None:
    # a publishes camera and screen for 10 minutes, b watches: S = 1, P = 2 -> 20 minutes, tier 1.
    e = Events()
    e.user("a", 0, 10, publish=(0, 10))
    e.publish("a-screen", "a", at(0))
    e.unpublish("a-screen", at(10))
    e.user("b", 0, 10)
    result = derive_checked(e)
    assert result.session.tiers == tiers(**dict.fromkeys(WIDE_1_2, 20.0))
    assert result.meetings[0].max_concurrent_streams == 2


# Publishers N -> the tiers containing N, written out by hand from the tier table.
TIERS_FOR = {
    1: WIDE_1_2,
    2: WIDE_1_2,
    3: ("from1To4Publishers", "from1To8Publishers", "from1To10Publishers", "from1To25Publishers",
        "from3To6Publishers", "from3To25Publishers"),
    4: ("from1To4Publishers", "from1To8Publishers", "from1To10Publishers", "from1To25Publishers",
        "from3To6Publishers", "from3To25Publishers"),
    5: ("from1To8Publishers", "from1To10Publishers", "from1To25Publishers", "from3To6Publishers",
        "from3To25Publishers", "from5To8Publishers"),
    6: ("from1To8Publishers", "from1To10Publishers", "from1To25Publishers", "from3To6Publishers",
        "from3To25Publishers", "from5To8Publishers"),
    7: ("from1To8Publishers", "from1To10Publishers", "from1To25Publishers", "from3To25Publishers",
        "from5To8Publishers", "from7To8Publishers"),
    8: ("from1To8Publishers", "from1To10Publishers", "from1To25Publishers", "from3To25Publishers",
        "from5To8Publishers", "from7To8Publishers"),
    9: ("from1To10Publishers", "from1To25Publishers", "from3To25Publishers", "from9To10Publishers"),
    10: ("from1To10Publishers", "from1To25Publishers", "from3To25Publishers", "from9To10Publishers"),
    11: ("from1To25Publishers", "from3To25Publishers", "from11To20Publishers", "from11To35Publishers"),
    20: ("from1To25Publishers", "from3To25Publishers", "from11To20Publishers", "from11To35Publishers"),
    21: ("from1To25Publishers", "from3To25Publishers", "from11To35Publishers", "from21To35Publishers"),
    25: ("from1To25Publishers", "from3To25Publishers", "from11To35Publishers", "from21To35Publishers"),
    26: ("from11To35Publishers", "from21To35Publishers", "from26To35Publishers"),
    35: ("from11To35Publishers", "from21To35Publishers", "from26To35Publishers"),
    36: ("from36PlusPublishers", "from36To40Publishers"),
    40: ("from36PlusPublishers", "from36To40Publishers"),
    41: ("from36PlusPublishers", "from41PlusPublishers"),
}


@pytest.mark.parametrize("n", sorted(TIERS_FOR))
def test_tier_boundaries(n: int) -> None:
    # n connections all publishing for 10 minutes, plus one watcher: P = n + 1, S = n for 10 minutes.
    e = Events()
    for i in range(n):
        e.user(f"c{i:02d}", 0, 10, publish=(0, 10))
    e.user("watcher", 0, 10)
    result = derive_checked(e)
    assert result.session.tiers == tiers(**dict.fromkeys(TIERS_FOR[n], 10.0 * (n + 1)))
    assert result.meetings[0].max_concurrent_streams == n
    assert result.meetings[0].total_connections == n + 1
