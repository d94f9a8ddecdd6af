"""The session row, sums over meetings, and order independence on a large random session."""

from __future__ import annotations

import random

from tests.derive.derive_helpers import T0, Events, at, derive_checked, nonzero, project_day, stats, tiers
from videoinsights.derive.session import derive_session

WIDE_1_2 = ("from1To2Publishers", "from1To4Publishers", "from1To8Publishers", "from1To10Publishers",
            "from1To25Publishers")


def test_session_row_sums_meetings() -> None:
    # Meeting 0: a publishes 0-10, b watches 0-10 (20 participant minutes, 10 publisher, 10 subscriber).
    # Meeting 1 (gap 20): c publishes 30-35 alone (5 participant minutes, 5 publisher).
    e = Events()
    e.add("sessionCreated", at(-1), media_mode="relayed")
    e.user("a", 0, 10, publish=(0, 10))
    e.user("b", 0, 10)
    e.subscribe("x", "a-s", "b", at(0))
    e.unsubscribe("x", at(10))
    e.user("c", 30, 35, publish=(30, 35))
    e.add("archiveStarted", at(31), resource_id="arc")
    e.add("archiveStopped", at(33), resource_id="arc")
    result = derive_checked(e, [stats("pub", "c-s", at(30), at(34.5))])
    s = result.session
    assert (s.project_id, s.session_id, s.media_mode) == ("proj-1", "sess-1", "relayed")
    assert (s.created_at, s.last_seen_at, s.meeting_count) == (at(0), at(35), 2)
    assert (s.publisher_minutes, s.subscriber_minutes) == (15.0, 10.0)
    assert [(m.publisher_minutes, m.subscriber_minutes) for m in result.meetings] == [(10.0, 10.0), (5.0, 0.0)]
    assert [m.tiers for m in result.meetings] == [tiers(**dict.fromkeys(WIDE_1_2, 20.0)),
                                                  tiers(**dict.fromkeys(WIDE_1_2, 5.0))]
    assert s.tiers == tiers(**dict.fromkeys(WIDE_1_2, 25.0))
    assert nonzero(project_day(result, "2024-07-10")) == {
        **nonzero(tiers(**dict.fromkeys(WIDE_1_2, 25.0))), "sd_archive_composed_minutes": 2.0}


def test_defaults_without_session_created_or_connections() -> None:
    e = Events()
    e.add("sipCallStarted", at(3), resource_id="call")
    e.add("sipCallStopped", at(4), resource_id="call")
    result = derive_checked(e)
    s = result.session
    assert (s.media_mode, s.created_at, s.last_seen_at, s.meeting_count) == ("routed", at(3), at(4), 0)
    assert (result.meetings, result.connections, result.endpoint_days) == ([], [], [])
    assert nonzero(project_day(result, "2024-07-10")) == {"sip_user_minutes": 1.0}


def test_empty_session() -> None:
    result = derive_session("p", "s", [], [])
    assert (result.session.created_at, result.session.last_seen_at, result.session.meeting_count) == (0, 0, 0)
    assert result.project_days == [] and result.endpoint_days == []


def test_large_random_session_is_order_independent() -> None:
    # Values are not checked here (the scenario tests do that); derive_checked asserts that
    # shuffled and duplicated input gives exactly the same rows, float sums included.
    rng = random.Random(42)
    e = Events()
    aggregates = []
    for i in range(30):
        cid = f"c{i}"
        start = rng.randrange(0, 200 * 60) * 1000
        end = start + rng.randrange(1, 90 * 60) * 1000
        e.connect(cid, T0 + start, sdk_type=rng.choice(["JS", "IOS"]), country=rng.choice(["US", "FR", None]))
        if rng.random() < 0.8:
            e.disconnect(cid, T0 + end)
        if rng.random() < 0.6:
            e.publish(f"{cid}-s", cid, T0 + start + 1000)
            if rng.random() < 0.5:
                e.unpublish(f"{cid}-s", T0 + end - 1000)
            aggregates.append(stats("pub", f"{cid}-s", T0 + start, T0 + end, samples=rng.randrange(1, 50),
                                    lat_sum=rng.random() * 1e4, br_sum=rng.random() * 1e5))
        e.add("publishAttempt", T0 + start, connection_id=cid, outcome=rng.choice(["success", "failure"]))
    for j in range(40):
        sid, cid = f"c{rng.randrange(30)}-s", f"c{rng.randrange(30)}"
        t = T0 + rng.randrange(0, 250 * 60) * 1000
        e.subscribe(f"x{j}", sid, cid, t)
        aggregates.append(stats("sub", f"x{j}", t, t + 120_000, lat_sum=rng.random() * 1e3))
    result = derive_checked(e, aggregates)
    assert result.session.meeting_count >= 1
