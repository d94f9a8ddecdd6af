"""Scores of docs/quality.md's worked examples, computed by hand from the documented formulas."""

from __future__ import annotations

import random

import pytest

from tests.derive.derive_helpers import PROJECT, SESSION, Events, at
from videoinsights.derive.quality import derive_quality, weighted_scores
from videoinsights.domain.scoring import SampleMetrics, sample_score

# docs/quality.md, "A 20-minute call with a bad patch"
GOOD = 4.397371768  # R = 92.6: 1 + 0.035 R + 7e-6 R (R - 60)(100 - R)
BAD = 3.7706283583  # R = 93.2 - 3.6 - 95 x 5 / 30.1
MEAN = (30 * GOOD + 10 * BAD) / 40


def bad_patch_call() -> tuple[Events, list[dict]]:
    """A publishes audio 0-20 min, B subscribes; 40 samples, those at 5:30-10:00 with RTT 300 and 5% loss."""
    ev = Events()
    ev.connect("A", at(0))
    ev.connect("B", at(0))
    ev.publish("S", "A", at(0), has_audio=True, has_video=False)
    ev.subscribe("U", "S", "B", at(0))
    ev.unsubscribe("U", at(20))
    ev.unpublish("S", at(20))
    ev.disconnect("A", at(20))
    ev.disconnect("B", at(20))
    samples = Events()
    for k in range(1, 41):
        bad = 11 <= k <= 20  # 5:30 .. 10:00
        samples.add("publisherStats", at(k / 2), stream_id="S", round_trip_ms=300.0 if bad else 50.0,
                    audio_packet_loss=0.05 if bad else 0.0)
    return ev, samples.rows


def test_bad_patch_scores_per_level() -> None:
    ev, samples = bad_patch_call()
    q = derive_quality(PROJECT, SESSION, ev.rows, [], samples)
    by_level = {(r.level, r.entity_id): r for r in q.scores}
    assert set(by_level) == {("stream", "S"), ("connection", "A"), ("meeting", "0"), ("session", SESSION)}
    for row in by_level.values():
        assert row.samples == 40
        assert row.scored_ms == 40 * 30_000
        assert row.score == pytest.approx(MEAN, abs=1e-6)
        assert row.score_p10 == pytest.approx(BAD, abs=1e-6)
    assert by_level[("stream", "S")].connection_id == "A"


def test_scores_do_not_depend_on_sample_order() -> None:
    ev, samples = bad_patch_call()
    expected = derive_quality(PROJECT, SESSION, ev.rows, [], samples)
    for seed in range(3):
        shuffled = samples[:]
        random.Random(seed).shuffle(shuffled)
        assert derive_quality(PROJECT, SESSION, ev.rows, [], shuffled) == expected


def test_video_sample_scores_its_weaker_side() -> None:
    # docs/quality.md "Video": bpp 0.025, 4% video loss, one freeze
    m = SampleMetrics(video_kbps=691.2, width=1280, height=720, fps=30.0, video_loss=0.04, freezes=1)
    assert sample_score(m) == pytest.approx(1 + 4 * 0.5**0.5 * 0.8 / 3, abs=1e-9)


def test_audio_only_sample_with_loss_from_video() -> None:
    r = 93.2 - 95 * 4 / 29.1
    mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)
    assert sample_score(SampleMetrics(video_loss=0.04)) == pytest.approx(mos)


def test_mos_is_clamped() -> None:
    # 100% loss and 2 s one-way: R below 0 -> 1.0; no impairment at all: R = 93.2 -> 4.41
    assert sample_score(SampleMetrics(rtt_ms=4000.0, audio_loss=1.0)) == 1.0
    assert sample_score(SampleMetrics(rtt_ms=0.0)) == pytest.approx(1 + 0.035 * 93.2 + 7e-6 * 93.2 * 33.2 * 6.8)


def test_weighted_p10_uses_time_weights() -> None:
    # one 1-s sample at 1.0 and nine 30-s samples at 4.0: 1 s is under 10% of 271 s, so p10 = 4.0
    mean, p10, total = weighted_scores([(1.0, 1000)] + [(4.0, 30_000)] * 9)
    assert total == 271_000
    assert p10 == 4.0
    assert mean == pytest.approx((1.0 * 1000 + 4.0 * 270_000) / 271_000)
