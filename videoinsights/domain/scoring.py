"""Quality score of one stats sample, 1.0-5.0 (MOS-like). Formulas and sources: docs/quality.md.

Pure functions of the sample's metrics, so that the tests can recompute every
score by hand from the documented formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# E-model constants (ITU-T G.107, simplified as published by Cole & Rosenbluth 2001).
R0 = 93.2  # default transmission rating with no impairment
OPUS_IE = 0.0  # equipment impairment of Opus at speech bitrates
OPUS_BPL = 25.1  # packet-loss robustness: G.113 Appendix I value for G.711 with concealment (Opus is no worse)
JITTER_BUFFER_FACTOR = 2.0  # a jitter buffer holds about two jitters of audio
# Video model (docs/quality.md): bits per pixel that give full marks, frame rate that gives full marks.
VIDEO_GOOD_BPP = 0.05
VIDEO_GOOD_FPS = 24.0
VIDEO_LOSS_WEIGHT = 5.0  # each 1% of video loss costs 5% of the score range
SAMPLE_PERIOD_S = 30.0

ISSUE_TYPES: tuple[str, ...] = (
    "high_packet_loss", "high_rtt", "high_jitter", "low_bitrate", "bandwidth_limited", "cpu_limited",
    "low_frame_rate", "video_freeze", "one_way_media", "failed_attempts", "reconnect",
)
# Additive endpoint-day measures for projectData (docs/quality.md): per side the score x ms and the scored ms
# (their ratio is the time-weighted mean), and issues counted by type on the affected participant's endpoint.
SCORE_COLUMNS: tuple[str, ...] = tuple(f"{side}_{c}" for side in ("pub", "sub") for c in ("score_ms", "scored_ms"))
ISSUE_COLUMNS: tuple[str, ...] = tuple(f"issues_{t}" for t in ISSUE_TYPES)


@dataclass(frozen=True)
class SampleMetrics:
    """The metrics of one sample that scores use; None = not reported."""

    latency_ms: float | None = None  # one-way (audio latency, else video latency)
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    audio_loss: float | None = None  # ratio 0..1
    video_loss: float | None = None
    audio_kbps: float | None = None
    video_kbps: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    freezes: int | None = None


def one_way_delay_ms(m: SampleMetrics) -> float:
    """Mouth-to-ear delay: latency (or RTT/2) plus a jitter buffer of 2 x jitter."""
    base = m.latency_ms if m.latency_ms is not None else (m.rtt_ms / 2 if m.rtt_ms is not None else 0.0)
    return base + JITTER_BUFFER_FACTOR * (m.jitter_ms or 0.0)


def delay_impairment(d_ms: float) -> float:
    """Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)."""
    return 0.024 * d_ms + (0.11 * (d_ms - 177.3) if d_ms > 177.3 else 0.0)


def loss_impairment(loss_ratio: float, ie: float = OPUS_IE, bpl: float = OPUS_BPL) -> float:
    """Ie_eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl), Ppl in percent (random loss, BurstR = 1)."""
    ppl = 100.0 * loss_ratio
    return ie + (95.0 - ie) * ppl / (ppl + bpl)


def r_to_mos(r: float) -> float:
    """G.107 Annex B: MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R); 1 below R=0, 4.5 above R=100."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)


def audio_score(m: SampleMetrics) -> float | None:
    """E-model MOS of the sample's audio; None when the sample has no network metric at all."""
    loss = m.audio_loss if m.audio_loss is not None else m.video_loss
    if loss is None and m.latency_ms is None and m.rtt_ms is None and m.jitter_ms is None:
        return None
    r = R0 - delay_impairment(one_way_delay_ms(m)) - loss_impairment(loss or 0.0)
    return r_to_mos(r)


def video_score(m: SampleMetrics) -> float | None:
    """1 + 4 x q_bitrate x q_fps x q_loss x q_freeze; None without a video bitrate."""
    if m.video_kbps is None:
        return None
    q = 1.0
    if m.width and m.height:
        fps = m.fps if m.fps else VIDEO_GOOD_FPS
        bpp = m.video_kbps * 1000.0 / (m.width * m.height * fps)
        q *= min(1.0, math.sqrt(bpp / VIDEO_GOOD_BPP))
    if m.fps is not None:
        q *= min(1.0, m.fps / VIDEO_GOOD_FPS)
    if m.video_loss is not None:
        q *= max(0.0, 1.0 - VIDEO_LOSS_WEIGHT * m.video_loss)
    if m.freezes:
        q *= 1.0 / (1.0 + m.freezes * 60.0 / SAMPLE_PERIOD_S)  # freezes per minute
    return 1.0 + 4.0 * q


def sample_score(m: SampleMetrics) -> float | None:
    """The weaker of the audio and video scores (people notice the worse one); None if neither."""
    scores = [s for s in (audio_score(m), video_score(m)) if s is not None]
    return min(scores) if scores else None


def parse_resolution(value: str | None) -> tuple[int | None, int | None]:
    """'1280x720' -> (1280, 720); anything else -> (None, None)."""
    if not value:
        return None, None
    w, sep, h = value.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        return None, None
    return int(w), int(h)
