"""Issue windows of docs/quality.md's worked examples and rules, set by hand."""

from __future__ import annotations

from dataclasses import replace

from tests.derive.derive_helpers import PROJECT, SESSION, Events, at
from tests.derive.test_quality_scores import bad_patch_call
from videoinsights.derive.quality import QualityThresholds, derive_quality


def issues(ev: Events, samples: list[dict], t: QualityThresholds | None = None) -> list[tuple]:
    q = derive_quality(PROJECT, SESSION, ev.rows, [], samples, t)
    return [(i.issue_type, i.entity_id, i.connection_id, i.start_ts, i.end_ts, i.metric, i.value, i.samples)
            for i in q.issues]


def test_bad_patch_gives_loss_and_rtt_for_minutes_5_to_10() -> None:
    ev, samples = bad_patch_call()
    assert issues(ev, samples) == [
        ("high_packet_loss", "S", "A", at(5), at(10), "packetLoss", 0.05, 10),
        ("high_rtt", "S", "A", at(5), at(10), "roundTripMs", 300.0, 10),
    ]


def test_thresholds_are_settings() -> None:
    ev, samples = bad_patch_call()
    strict = QualityThresholds(packet_loss=0.06, rtt_ms=301.0)
    assert issues(ev, samples, strict) == []
    # 10 offending samples: a run must have at least min_samples
    assert issues(ev, samples, replace(QualityThresholds(), rtt_ms=1000.0, min_samples=11)) == []


def test_single_bad_sample_is_not_an_issue() -> None:
    ev, samples = bad_patch_call()
    for s in samples:
        s.update(round_trip_ms=50.0, audio_packet_loss=0.0)
    samples[3].update(audio_packet_loss=0.2)
    assert issues(ev, samples) == []


def test_publisher_nobody_receives_is_one_way_media() -> None:
    ev = Events()
    ev.connect("A", at(0))
    ev.publish("S", "A", at(0))
    ev.connect("B", at(1))
    ev.unpublish("S", at(5))
    ev.disconnect("A", at(5))
    ev.disconnect("B", at(5))
    assert issues(ev, []) == [("one_way_media", "S", "A", at(0), at(5), "otherConnectionSeconds", 240.0, 0)]


def test_alone_in_the_session_is_not_one_way_media() -> None:
    ev = Events()
    ev.connect("A", at(0))
    ev.publish("S", "A", at(0))
    ev.unpublish("S", at(5))
    ev.disconnect("A", at(5))
    assert issues(ev, []) == []


def test_network_drop_and_rejoin_is_a_reconnect() -> None:
    ev = Events()
    ev.connect("A", at(0))
    ev.disconnect("A", at(3), reason="networkDisconnected")
    ev.connect("A2", at(3.25))
    ev.disconnect("A2", at(8))
    ev.connect("C", at(0))
    ev.disconnect("C", at(8), reason="clientDisconnected")
    assert issues(ev, []) == [("reconnect", "A", "A", at(3), at(3.25), "gapSeconds", 15.0, 0)]


def test_three_failed_connects_are_repeated_failures() -> None:
    ev = Events()
    for k in range(3):
        ev.add("connectAttempt", at(k), outcome="failure")
    ev.add("connectAttempt", at(4), outcome="success")
    ev.add("subscribeAttempt", at(4), outcome="failure")
    assert issues(ev, []) == [("failed_attempts", "connectAttempt", None, at(0), at(2), "failures", 3.0, 3)]


def test_bandwidth_limited_and_low_frame_rate_on_video() -> None:
    ev = Events()
    ev.connect("A", at(0))
    ev.connect("B", at(0))
    ev.publish("S", "A", at(0))
    ev.subscribe("U", "S", "B", at(0))
    ev.disconnect("A", at(3))
    ev.disconnect("B", at(3))
    samples = Events()
    # 1280x720 at 10 fps and 300 kbps: bpp = 300,000 / (921,600 x 10) = 0.0326 (not low), fps 10 < 15
    for k in range(1, 5):
        samples.add("publisherStats", at(k / 2), stream_id="S", video_bitrate_kbps=300.0 + k,
                    video_resolution="1280x720", frame_rate=10.0, quality_limitation_reason="bandwidth")
    assert issues(ev, samples.rows) == [
        ("bandwidth_limited", "S", "A", at(0), at(2), "videoBitrateKbps", 301.0, 4),
        ("low_frame_rate", "S", "A", at(0), at(2), "frameRate", 10.0, 4),
    ]
