"""The simulator's publisher-only fields: qualityLimitationReason follows the bandwidth-cut episodes and the
uplink, availableOutgoingBitrateKbps follows the uplink's capacity (issue 8)."""

from __future__ import annotations

import statistics
from dataclasses import replace

from videoinsights.simulate.config import NETWORK_PROFILES, Quality
from videoinsights.simulate.model import Stream
from videoinsights.simulate.quality import NetState, PublisherStatsSource, PubSeries

BROADBAND = NETWORK_PROFILES[0]  # 2500 kbps up: carries a 320x240 camera (250 kbps) even at its lowest level


def simulate(episodes_per_hour: float, resolution: str = "320x240", n: int = 40) -> tuple[list[dict], NetState]:
    """n samples of one camera stream starting at 0 (sample k covers slot k), and its network timeline."""
    net = NetState(replace(BROADBAND, episodes_per_hour=episodes_per_hour), 0.0, 5)
    stream = Stream(0, "st", None, 0, (n + 1) * 30_000, "clientDisconnected", "camera",  # type: ignore[arg-type]
                    True, True, "cam", resolution, 30.0, None, None, 11)
    source = PublisherStatsSource(PubSeries(stream, net, 0, Quality()), "s", "VP8", "p")
    return [source.pop() for _ in range(n)], net


def samples(episodes_per_hour: float, resolution: str = "320x240") -> list[dict]:
    return simulate(episodes_per_hour, resolution)[0]


def test_no_episode_and_enough_uplink_means_no_limitation() -> None:
    assert {ev["qualityLimitationReason"] for ev in samples(0.0)} == {"none"}


def test_bandwidth_exactly_during_episodes() -> None:
    # 120 episodes an hour: a new one starts in every slot that follows the end of the last one
    events, net = simulate(120.0)
    assert [ev["qualityLimitationReason"] for ev in events] == [
        "bandwidth" if net.episode[k] else "none" for k in range(1, len(events) + 1)]
    assert sum(net.episode) > len(events) / 2


def test_bandwidth_when_the_uplink_cannot_carry_the_target() -> None:
    # 1920x1080 targets 3000 kbps, above this uplink's 2500 x a level of at most 1.25 only when the level is high
    reasons = {ev["qualityLimitationReason"] for ev in samples(0.0, "1920x1080")}
    assert "bandwidth" in reasons


def test_available_bitrate_tracks_the_uplink_and_bounds_the_video_bitrate() -> None:
    calm, cut = samples(0.0), samples(120.0)
    for ev in calm + cut:
        assert ev["videoBitrateKbps"] <= ev["availableOutgoingBitrateKbps"]
    # the uplink is 2500 kbps, its level drifts around 1; episodes cut it by 30-60 %
    assert 2000 < statistics.mean(ev["availableOutgoingBitrateKbps"] for ev in calm) < 3000
    assert statistics.mean(ev["availableOutgoingBitrateKbps"] for ev in cut) < 0.8 * statistics.mean(
        ev["availableOutgoingBitrateKbps"] for ev in calm)


def test_default_run_reports_both_and_only_on_publishers(run) -> None:
    reasons = []
    for ev in run:
        if ev["type"] == "subscriberStats":
            assert "qualityLimitationReason" not in ev and "availableOutgoingBitrateKbps" not in ev
        elif ev["type"] == "publisherStats":
            assert ev["availableOutgoingBitrateKbps"] > 0
            assert ("qualityLimitationReason" in ev) == ev["hasVideo"]  # a video-encoder field
            reasons.append(ev.get("qualityLimitationReason"))
    assert {"none", "bandwidth"} <= set(reasons)
