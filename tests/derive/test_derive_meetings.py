"""Meeting records, meeting_id reuse, membership and concurrency counts."""

from __future__ import annotations

import uuid

from tests.derive.derive_helpers import Events, at, derive_checked


def _ids(e: Events) -> list[str]:
    return [m.meeting_id for m in derive_checked(e).meetings]


def test_gap_below_10_minutes_reuses_meeting_id() -> None:
    e = Events()
    e.user("a", 0, 5)
    e.user("b", 14.99, 20)  # gap 9:59.4
    result = derive_checked(e)
    assert [(m.meeting_index, m.created_at, m.destroyed_at) for m in result.meetings] == [
        (0, at(0), at(5)), (1, at(14.99), at(20))]
    assert result.meetings[0].meeting_id == result.meetings[1].meeting_id
    assert result.session.meeting_count == 2


def test_gap_of_exactly_10_minutes_gives_new_meeting_id() -> None:
    e = Events()
    e.user("a", 0, 5)
    e.user("b", 15, 20)
    ids = _ids(e)
    assert len(ids) == 2 and ids[0] != ids[1]


def test_gap_above_10_minutes_and_chaining() -> None:
    # Records at 0-5, 10-15 (gap 5), 20-25 (gap 5), 40-45 (gap 15), 46-50 (gap 1).
    e = Events()
    for i, (start, end) in enumerate([(0, 5), (10, 15), (20, 25), (40, 45), (46, 50)]):
        e.user(f"c{i}", start, end)
    ids = _ids(e)
    assert ids[0] == ids[1] == ids[2]
    assert ids[3] == ids[4] != ids[0]


def test_meeting_id_is_stable_uuid_of_first_connect() -> None:
    e = Events()
    e.user("a", 0, 5)
    first = _ids(e)[0]
    assert uuid.UUID(first).version == 5
    e.user("b", 30, 40)  # a later meeting must not change the earlier id
    assert _ids(e)[0] == first
    other = Events(session_id="sess-2")
    other.user("a", 0, 5)
    assert derive_checked(other, session_id="sess-2").meetings[0].meeting_id != first


def test_touching_and_overlapping_connections_form_one_record() -> None:
    e = Events()
    e.user("a", 0, 10)
    e.user("b", 10, 20)  # connects exactly when a leaves: no gap
    e.user("c", 15, 30)
    result = derive_checked(e)
    assert len(result.meetings) == 1
    m = result.meetings[0]
    assert (m.created_at, m.destroyed_at) == (at(0), at(30))
    assert (m.total_connections, m.max_concurrent_connections) == (3, 2)


def test_destroyed_at_is_none_when_a_connection_has_no_destroy() -> None:
    e = Events()
    e.user("a", 0, 10)
    e.user("b", 2, None)
    e.add("connectAttempt", at(12), connection_id="b", outcome="success")  # evidence: b alive at 12
    m = derive_checked(e).meetings[0]
    assert m.created_at == at(0)
    assert m.destroyed_at is None


def test_max_concurrent_and_totals() -> None:
    # Streams: s1 0-10, s2 5-15, s3 10-20 (starts when s1 ends: not concurrent) -> max 2.
    # Subscribers: x on s1 by b 1-9, y on s2 by a 6-14, z on s2 by c 7-8 -> max 3 (at 7-8).
    e = Events()
    e.user("a", 0, 20)
    e.user("b", 0, 20)
    e.user("c", 0, 20)
    for sid, cid, start, end in [("s1", "a", 0, 10), ("s2", "b", 5, 15), ("s3", "c", 10, 20)]:
        e.publish(sid, cid, at(start))
        e.unpublish(sid, at(end))
    for sub, sid, cid, start, end in [("x", "s1", "b", 1, 9), ("y", "s2", "a", 6, 14), ("z", "s2", "c", 7, 8)]:
        e.subscribe(sub, sid, cid, at(start))
        e.unsubscribe(sub, at(end))
    m = derive_checked(e).meetings[0]
    assert (m.max_concurrent_connections, m.max_concurrent_streams, m.max_concurrent_subscribers) == (3, 2, 3)
    assert (m.total_connections, m.total_streams, m.total_subscribers) == (3, 3, 3)
    assert m.publisher_minutes == 30.0  # 10 + 10 + 10
    assert m.subscriber_minutes == 17.0  # 8 + 8 + 1


def test_members_belong_to_the_record_of_their_created_at() -> None:
    # Record 0: a 0-10; record 1: b 30-40. A stream of an unknown connection created in the gap (20)
    # joins the preceding record; one created before any record joins the first.
    e = Events()
    e.user("a", 0, 10)
    e.user("b", 30, 40, publish=(31, 39))
    e.publish("gap", "ghost", at(20))
    e.unpublish("gap", at(21))
    e.publish("early", "ghost2", at(-5))
    e.unpublish("early", at(-4))
    result = derive_checked(e)
    assert {p.stream_id: p.meeting_index for p in result.publishers} == {"early": 0, "gap": 0, "b-s": 1}
    assert {c.connection_id: c.meeting_index for c in result.connections} == {"a": 0, "b": 1}
    assert [m.publisher_minutes for m in result.meetings] == [2.0, 8.0]


def test_connection_seen_at_one_instant_still_makes_a_meeting() -> None:
    e = Events()
    e.connect("a", at(0))
    m = derive_checked(e).meetings
    assert len(m) == 1
    assert (m[0].created_at, m[0].destroyed_at, m[0].max_concurrent_connections) == (at(0), None, 1)
