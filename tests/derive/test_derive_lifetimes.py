"""Lifetimes with missing destroy events, caps, skew and unknown entities."""

from __future__ import annotations

from tests.derive.derive_helpers import Events, at, derive_checked, stats


def test_complete_lifetimes_and_rows() -> None:
    e = Events()
    e.connect("a", at(0), sdk_type="JS", browser="CHROME", guid="g1", city="Paris")
    e.publish("s", "a", at(1), video_type="camera", has_audio=True, has_video=False, name="Ann")
    e.connect("b", at(0.5))
    e.subscribe("x", "s", "b", at(2))
    e.unsubscribe("x", at(4))
    e.unpublish("s", at(5), reason="mediaStopped")
    e.disconnect("b", at(6))
    e.disconnect("a", at(7), reason="forceDisconnected")
    result = derive_checked(e)
    a = next(c for c in result.connections if c.connection_id == "a")
    assert (a.created_at, a.destroyed_at, a.ended_at, a.reason) == (at(0), at(7), at(7), "forceDisconnected")
    assert (a.sdk_type, a.browser, a.guid, a.city, a.country) == ("JS", "CHROME", "g1", "Paris", None)
    [p] = result.publishers
    assert (p.connection_id, p.created_at, p.destroyed_at, p.ended_at, p.minutes) == ("a", at(1), at(5), at(5), 4.0)
    assert (p.video_type, p.has_audio, p.has_video, p.name, p.reason) == ("camera", True, False, "Ann", "mediaStopped")
    [s] = result.subscribers
    assert (s.stream_id, s.connection_id, s.destroyed_at, s.ended_at, s.minutes) == ("s", "b", at(4), at(4), 2.0)
    assert (result.session.publisher_minutes, result.session.subscriber_minutes) == (4.0, 2.0)


def test_connection_without_destroy_ends_at_latest_evidence() -> None:
    # a publishes s (no destroys at all); evidence: streamCreated at 1, a subscriber on s at 3,
    # stats of s until 12, stats of a's own subscriber y until 9.
    e = Events()
    e.connect("a", at(0))
    e.publish("s", "a", at(1))
    e.connect("b", at(0))
    e.subscribe("x", "s", "b", at(3))
    e.connect("c", at(0))
    e.publish("t", "c", at(0))
    e.subscribe("y", "t", "a", at(2))
    e.disconnect("b", at(20))
    e.disconnect("c", at(20))
    result = derive_checked(e, [stats("pub", "s", at(1.5), at(12)), stats("sub", "y", at(2.5), at(9))])
    conns = {c.connection_id: c for c in result.connections}
    assert (conns["a"].destroyed_at, conns["a"].ended_at) == (None, at(12))
    pubs = {p.stream_id: p for p in result.publishers}
    assert (pubs["s"].destroyed_at, pubs["s"].ended_at) == (None, at(12))  # own stats
    assert pubs["t"].ended_at == at(20)  # no streamDestroyed: its connection's destroy
    subs = {s.subscriber_id: s for s in result.subscribers}
    assert subs["x"].ended_at == at(12)  # min(b destroyed 20, stream s end unknown) -> capped by s (12)
    assert subs["y"].ended_at == at(12)  # a has no destroy; t ends 20; capped by a's end (12)
    assert result.meetings[0].destroyed_at is None


def test_stream_is_capped_by_its_connection_destroy() -> None:
    e = Events()
    e.connect("a", at(0))
    e.publish("s", "a", at(1))
    e.disconnect("a", at(10))
    e.unpublish("s", at(10.5))  # platform emits it a bit after the disconnect
    [p] = derive_checked(e).publishers
    assert (p.destroyed_at, p.ended_at, p.minutes) == (at(10.5), at(10), 9.0)


def test_subscriber_without_destroy_ends_at_earliest_known_end() -> None:
    e = Events()
    e.user("pub", 0, 30, publish=(0, 20))
    e.user("viewer", 0, 25)
    e.subscribe("x", "pub-s", "viewer", at(5))  # stream ends 20, viewer leaves 25 -> 20
    e.user("early", 0, 15)
    e.subscribe("y", "pub-s", "early", at(5))  # viewer leaves 15, stream ends 20 -> 15
    subs = {s.subscriber_id: s for s in derive_checked(e).subscribers}
    assert (subs["x"].destroyed_at, subs["x"].ended_at, subs["x"].minutes) == (None, at(20), 15.0)
    assert (subs["y"].ended_at, subs["y"].minutes) == (at(15), 10.0)


def test_subscriber_with_no_known_end_uses_its_evidence() -> None:
    # Neither the subscribing connection, nor the stream, nor its connection have a destroy.
    e = Events()
    e.connect("a", at(0))
    e.publish("s", "a", at(0))
    e.connect("b", at(0))
    e.subscribe("x", "s", "b", at(1))
    [s] = derive_checked(e, [stats("sub", "x", at(1), at(7))]).subscribers
    assert (s.destroyed_at, s.ended_at, s.minutes) == (None, at(7), 6.0)


def test_events_about_unknown_entities_are_ignored() -> None:
    e = Events()
    e.user("a", 0, 10)
    e.unpublish("ghost-stream", at(5))
    e.unsubscribe("ghost-sub", at(5))
    e.disconnect("ghost-conn", at(5))
    result = derive_checked(e, [stats("pub", "ghost-stream", at(1), at(4))])
    assert [c.connection_id for c in result.connections] == ["a"]
    assert (result.publishers, result.subscribers) == ([], [])
    assert result.meetings[0].destroyed_at == at(10)


def test_stream_of_unknown_connection_is_kept_without_cap() -> None:
    e = Events()
    e.user("a", 0, 10)
    e.publish("s", "ghost", at(2))
    e.unpublish("s", at(12))
    [p] = derive_checked(e).publishers
    assert (p.connection_id, p.ended_at, p.minutes, p.meeting_index) == ("ghost", at(12), 10.0, 0)


def test_repeated_creates_and_destroys_and_clock_skew() -> None:
    e = Events()
    e.connect("a", at(1), sdk_type="JS")
    e.connect("a", at(0))  # earliest create wins; fields filled from the other copy
    e.disconnect("a", at(9))
    e.disconnect("a", at(8))  # earliest destroy at/after the create wins
    e.connect("b", at(5))
    e.disconnect("b", at(4))  # destroy before create: zero length at the create
    conns = {c.connection_id: c for c in derive_checked(e).connections}
    assert (conns["a"].created_at, conns["a"].destroyed_at, conns["a"].sdk_type) == (at(0), at(8), "JS")
    assert (conns["b"].created_at, conns["b"].destroyed_at, conns["b"].ended_at) == (at(5), at(5), at(5))


def test_session_without_any_connection_keeps_publisher_minutes() -> None:
    e = Events()
    e.publish("s", "ghost", at(0))
    e.unpublish("s", at(6))
    result = derive_checked(e)
    assert len(result.meetings) == 1
    m = result.meetings[0]
    assert (m.created_at, m.destroyed_at, m.total_connections, m.publisher_minutes) == (at(0), at(6), 0, 6.0)
    assert result.session.publisher_minutes == 6.0
