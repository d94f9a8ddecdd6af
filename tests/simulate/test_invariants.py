"""Invariants of a seeded default run (2 days x 40 sessions): lifecycles, stats, gaps, vocabulary."""

from __future__ import annotations

import bisect
import statistics
from collections import Counter, defaultdict

from tests.simulate.helpers import lifetimes, vocabulary_errors
from videoinsights.simulate.config import DEFAULT_CONFIG

TEN_MIN = 600_000
PAIRS = [
    ("connectionCreated", "connectionDestroyed", "connectionId"),
    ("streamCreated", "streamDestroyed", "streamId"),
    ("subscriberCreated", "subscriberDestroyed", "subscriberId"),
    ("archiveStarted", "archiveStopped", "archiveId"),
    ("broadcastStarted", "broadcastStopped", "broadcastId"),
    ("sipCallStarted", "sipCallStopped", "callId"),
    ("experienceComposerStarted", "experienceComposerStopped", "composerId"),
]


def test_every_event_matches_the_vocabulary(run):
    problems = [(ev, err) for ev in run for err in vocabulary_errors(ev)]
    assert not problems[:5]


def test_the_vocabulary_check_catches_mistakes():
    good = {"id": "a", "type": "streamCreated", "sessionId": "s", "timestamp": 1, "streamId": "x",
            "connectionId": "c", "hasVideo": False}
    assert vocabulary_errors(good) == []
    assert vocabulary_errors({**good, "guid": "g"})  # not a streamCreated field
    assert vocabulary_errors({**good, "hasVideo": "no"})
    assert vocabulary_errors({**good, "videoType": "webcam"})
    assert vocabulary_errors({**good, "timestamp": 1.5})
    assert vocabulary_errors({k: v for k, v in good.items() if k != "connectionId"})


def test_ordered_unique_and_inside_the_window(run, window):
    stamps = [ev["timestamp"] for ev in run]
    assert stamps == sorted(stamps)
    assert window[0] <= stamps[0] and stamps[-1] < window[1]
    ids = [ev["id"] for ev in run]
    assert len(set(ids)) == len(ids)


def test_every_destroy_has_a_create_and_every_create_a_destroy(run):
    for create, destroy, key in PAIRS:
        lives = lifetimes(run, create, destroy, key)
        assert lives, f"no {create} at all"
        for entity, life in lives.items():
            assert life.destroyed is not None, f"{create} {entity} never ends (lost_destroy defaults to 0)"
            assert life.created < life.destroyed


def test_session_created_and_destroyed_alternate(run):
    state: dict[str, bool] = {}
    for ev in run:
        if ev["type"] == "sessionCreated":
            assert not state.get(ev["sessionId"]), "sessionCreated while open"
            state[ev["sessionId"]] = True
        elif ev["type"] == "sessionDestroyed":
            assert state.get(ev["sessionId"]), "sessionDestroyed without sessionCreated"
            state[ev["sessionId"]] = False
        elif ev["type"] == "connectionCreated":
            assert state.get(ev["sessionId"]), "connection outside sessionCreated/Destroyed"
    assert not any(state.values())


def test_streams_and_subscribers_live_inside_what_contains_them(run):
    conns = lifetimes(run, "connectionCreated", "connectionDestroyed", "connectionId")
    streams = lifetimes(run, "streamCreated", "streamDestroyed", "streamId")
    subs = lifetimes(run, "subscriberCreated", "subscriberDestroyed", "subscriberId")
    for s in streams.values():
        c = conns[s.created_event["connectionId"]]
        assert c.created < s.created and s.destroyed < c.destroyed
    for u in subs.values():
        c = conns[u.created_event["connectionId"]]
        s = streams[u.created_event["streamId"]]
        assert max(c.created, s.created) < u.created
        assert u.destroyed < min(c.destroyed, s.destroyed)
        assert s.created_event["connectionId"] != c.created_event["connectionId"], "subscribed to itself"


def test_stats_only_while_the_stream_or_subscriber_lives(run):
    streams = lifetimes(run, "streamCreated", "streamDestroyed", "streamId")
    subs = lifetimes(run, "subscriberCreated", "subscriberDestroyed", "subscriberId")
    counts = Counter()
    for ev in run:
        if ev["type"] == "publisherStats":
            life = streams[ev["streamId"]]
        elif ev["type"] == "subscriberStats":
            life = subs[ev["subscriberId"]]
        else:
            continue
        counts[ev["type"]] += 1
        assert life.created < ev["timestamp"] < life.destroyed
    assert counts["publisherStats"] and counts["subscriberStats"]


def test_stats_every_30_seconds(run):
    streams = lifetimes(run, "streamCreated", "streamDestroyed", "streamId")
    samples = defaultdict(list)
    for ev in run:
        if ev["type"] == "publisherStats":
            samples[ev["streamId"]].append(ev["timestamp"])
    interval = DEFAULT_CONFIG.quality.interval_ms
    for stream_id, life in streams.items():
        expected = [life.created + k * interval for k in range(1, (life.destroyed - life.created - 1) // interval + 1)]
        assert samples.get(stream_id, []) == expected


def test_reconnects_after_short_and_long_gaps_with_new_connection_ids(run):
    # A client (guid) leaving and coming back within a session, and whole sessions emptying and refilling.
    last_end, guid_of, client_gaps = {}, {}, []
    for ev in run:
        if ev["type"] == "connectionCreated":
            key = (ev["sessionId"], ev["guid"])
            guid_of[ev["connectionId"]] = key
            if key in last_end:
                client_gaps.append(ev["timestamp"] - last_end[key])
        elif ev["type"] == "connectionDestroyed":
            last_end[guid_of[ev["connectionId"]]] = ev["timestamp"]
    assert any(g < TEN_MIN for g in client_gaps) and any(g >= TEN_MIN for g in client_gaps)

    closed, session_gaps = {}, []
    for ev in run:
        if ev["type"] == "sessionDestroyed":
            closed[ev["sessionId"]] = ev["timestamp"]
        elif ev["type"] == "sessionCreated" and ev["sessionId"] in closed:
            session_gaps.append(ev["timestamp"] - closed[ev["sessionId"]])
    assert any(g < TEN_MIN for g in session_gaps) and any(g >= TEN_MIN for g in session_gaps)


def test_behaviours_occur(run):
    created = [ev for ev in run if ev["type"] == "streamCreated"]
    assert any(ev.get("videoType") == "screen" for ev in created)
    audio_only = [ev for ev in created if "videoType" not in ev]
    assert audio_only and all(ev["hasVideo"] is False for ev in audio_only)
    modes = Counter(ev["mediaMode"] for ev in run if ev["type"] == "sessionCreated")
    assert modes["relayed"] and modes["routed"]
    # publishers that stop and restart: one connection, several camera streams
    cameras = Counter(ev["connectionId"] for ev in created if ev.get("videoType") == "camera")
    assert max(cameras.values()) >= 2
    # subscribers that come and go: the same connection subscribes to the same stream twice
    pairs = Counter((ev["connectionId"], ev["streamId"]) for ev in run if ev["type"] == "subscriberCreated")
    assert max(pairs.values()) >= 2
    # webinars: a stream with hundreds of subscribers... or at least many
    per_stream = Counter(ev["streamId"] for ev in run if ev["type"] == "subscriberCreated")
    assert max(per_stream.values()) >= 50
    # late joiners: connections long after their session was created
    opened = {}
    late = 0
    for ev in run:
        if ev["type"] == "sessionCreated":
            opened[ev["sessionId"]] = ev["timestamp"]
        elif ev["type"] == "connectionCreated" and ev["timestamp"] - opened[ev["sessionId"]] > 5 * 60_000:
            late += 1
    assert late


def test_attempts_fail_with_configured_codes(run):
    f = DEFAULT_CONFIG.failures
    codes = {
        "connectAttempt": {c for c, _ in f.connect_codes},
        "publishAttempt": {c for c, _ in f.publish_codes},
        "subscribeAttempt": {c for c, _ in (*f.subscribe_codes, *f.relayed_subscribe_codes)},
    }
    conns = {ev["connectionId"] for ev in run if ev["type"] == "connectionCreated"}
    outcomes = Counter()
    for ev in run:
        if ev["type"] not in codes:
            continue
        outcomes[ev["type"], ev["outcome"]] += 1
        if ev["outcome"] == "failure":
            assert ev["errorCode"] in codes[ev["type"]]
            if ev["type"] == "connectAttempt":
                assert "connectionId" not in ev and ev["sdkType"] and ev["guid"]
        else:
            assert "errorCode" not in ev
            assert ev["connectionId"] in conns
    for kind in codes:
        assert outcomes[kind, "success"] and outcomes[kind, "failure"], kind
    # every connection was preceded by its successful connect attempt
    connected = {ev["connectionId"] for ev in run if ev["type"] == "connectAttempt" and ev["outcome"] == "success"}
    sip = {ev["connectionId"] for ev in run if ev["type"] == "connectionCreated" and "sdkVersion" not in ev}
    assert conns - sip == connected


def test_subscriber_bitrate_never_exceeds_its_publishers(run):
    stream_of = {ev["subscriberId"]: ev["streamId"] for ev in run if ev["type"] == "subscriberCreated"}
    pub = defaultdict(list)
    for ev in run:
        if ev["type"] == "publisherStats":
            pub[ev["streamId"]].append(ev)
    compared = 0
    for ev in run:
        if ev["type"] != "subscriberStats":
            continue
        samples = pub[stream_of[ev["subscriberId"]]]
        # the publisher sample whose 30 s period contains this sample's time
        i = bisect.bisect_left([s["timestamp"] for s in samples], ev["timestamp"])
        if i == len(samples):
            continue  # the stream's last, partial period has no publisher sample
        p = samples[i]
        if "videoBitrateKbps" in ev:
            assert "videoBitrateKbps" in p
            assert ev["videoBitrateKbps"] <= p["videoBitrateKbps"]
            assert ev["videoLatencyMs"] >= p["videoLatencyMs"]
            assert ev["videoPacketLoss"] >= p["videoPacketLoss"] - 1e-4
            compared += 1
        if "audioBitrateKbps" in ev:
            assert ev["audioBitrateKbps"] <= p["audioBitrateKbps"]
    assert compared > 1000


def test_loss_raises_latency(run):
    by_loss = defaultdict(list)
    for ev in run:
        if ev["type"] == "subscriberStats" and "videoPacketLoss" in ev:
            loss = ev["videoPacketLoss"]
            by_loss["low" if loss < 0.01 else "high" if loss > 0.05 else "mid"].append(ev["videoLatencyMs"])
    assert statistics.median(by_loss["high"]) > statistics.median(by_loss["mid"]) > statistics.median(by_loss["low"])


def test_endpoint_fields_on_connections(run):
    js = [ev for ev in run if ev["type"] == "connectionCreated" and ev.get("sdkType") == "JS"]
    native = [ev for ev in run if ev["type"] == "connectionCreated" and ev.get("sdkType") in ("IOS", "ANDROID")]
    assert js and native
    for ev in js:
        assert {"browser", "browserVersion", "userAgent", "os", "country", "region", "guid", "networkType"} <= set(ev)
    for ev in native:
        assert "browser" not in ev and "deviceModel" in ev
