"""30-second `publisherStats` / `subscriberStats` from network conditions.

Each person has a network-condition timeline on the session's 30-second grid
(`NetState`): a bandwidth level drifting around 1 (AR(1)), degradation
episodes that cut bandwidth and add loss, jitter and delay, and baseline loss,
jitter and RTT from the person's network profile plus the country's distance.
All of a person's streams and subscribers share that timeline.

A publisher's sample k (at `start + 30 s * k`) covers the preceding 30 s: its
video bitrate is the configured target for its resolution limited by the
uplink, the resolution steps down when the bitrate cannot carry it, loss
raises latency. A subscriber's sample at t reads the publisher's sample that
covers t and degrades it by the subscriber's downlink: its bitrate is at most
the publisher's (times the simulcast layer), its loss compounds both legs and
its latency adds its own leg to the publisher's. Sample values are memoised
and each timeline/stream/subscriber has its own RNG, so values do not depend on
the order in which the merge asks for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from random import Random

from videoinsights.simulate.config import NetworkProfile, Quality
from videoinsights.simulate.model import Interval, Stream, Subscriber

Event = dict[str, object]

# (resolution, minimum kbps to sustain it, target kbps)
LADDER: tuple[tuple[str, float, float], ...] = (
    ("1920x1080", 1700.0, 3000.0),
    ("1280x720", 800.0, 1500.0),
    ("640x480", 300.0, 650.0),
    ("320x240", 0.0, 250.0),
)
_RUNG = {r: i for i, (r, _, _) in enumerate(LADDER)}
_LAST = len(LADDER) - 1


class NetState:
    """A person's network condition per 30 s slot: (bandwidth factor, loss, rtt ms, jitter ms)."""

    __slots__ = ("_ep_left", "_ep_p", "_level", "_rng", "_sev", "conds", "episode", "extra_rtt", "profile")

    def __init__(self, profile: NetworkProfile, extra_rtt_ms: float, seed: int) -> None:
        self.profile = profile
        self.extra_rtt = extra_rtt_ms
        self._rng = Random(seed)
        self._level = 0.85 + 0.3 * self._rng.random()
        self._ep_left = 0
        self._sev = 0.0
        self._ep_p = profile.episodes_per_hour / 120.0
        self.conds: list[tuple[float, float, float, float]] = []
        self.episode: list[bool] = []  # per slot: inside a degradation (bandwidth-cut) episode

    def at(self, slot: int) -> tuple[float, float, float, float]:
        conds = self.conds
        while len(conds) <= slot:
            self._step()
        return conds[slot]

    def _step(self) -> None:
        p, r = self.profile, self._rng.random
        if self._ep_left > 0:
            self._ep_left -= 1
        elif r() < self._ep_p:
            self._ep_left = 1 + int(-p.episode_slots * math.log(1.0 - r()))
            lo, hi = p.severity
            self._sev = lo + (hi - lo) * r()
        # AR(1) towards 1 with roughly normal noise (sum of three uniforms, unit variance).
        level = self._level + 0.3 * (1.0 - self._level) + p.volatility * 2.0 * (r() + r() + r() - 1.5)
        self._level = level = min(max(level, 0.25), 1.25)
        sev = self._sev if self._ep_left > 0 else 0.0
        self.episode.append(self._ep_left > 0)
        jitter = p.jitter_ms * (0.6 + 0.8 * r()) * (1.0 + 3.0 * sev)
        self.conds.append((
            level * (1.0 - sev),
            p.loss * (0.4 + 1.2 * r()) + sev * p.episode_loss,
            (p.rtt_ms + self.extra_rtt) * (1.0 + 0.6 * sev) * (0.9 + 0.2 * r()),
            jitter,
        ))


def _inside(iv: Interval | None, t: int) -> bool:
    return iv is not None and iv[0] <= t < iv[1]


class PubSeries:
    """Memoised per-sample values of one published stream (k >= 1)."""

    __slots__ = ("_audio", "_rng", "_target", "_up", "audio_codec", "fps", "interval", "net", "rung", "stream", "t0",
                 "vals")

    def __init__(self, stream: Stream, net: NetState, t0: int, q: Quality) -> None:
        self.stream, self.net, self.t0, self.interval = stream, net, t0, q.interval_ms
        self._rng = Random(stream.seed)
        self._up = net.profile.up_kbps
        self._audio = q.audio_kbps
        self.audio_codec = q.audio_codec
        if stream.video_type == "screen":
            self.rung, self._target = _RUNG.get(stream.resolution or "", 0), q.screen_kbps
        elif stream.resolution is not None:
            self.rung = _RUNG.get(stream.resolution, 2)
            self._target = LADDER[self.rung][2]
        else:
            self.rung, self._target = len(LADDER) - 1, 0.0
        self.fps = stream.fps
        # k -> (vbr, abr, vloss, aloss, vlat, alat, fps, resolution, jitter, rtt, limitation, available kbps);
        # None = not sent
        self.vals: list[tuple | None] = [None]

    def at(self, k: int) -> tuple:
        vals = self.vals
        while len(vals) <= k:
            vals.append(self._sample(len(vals)))
        return vals[k]  # type: ignore[return-value]

    def _sample(self, k: int) -> tuple:
        s, r = self.stream, self._rng.random
        t = s.start + k * self.interval
        slot = (t - self.t0) // self.interval
        bw, loss, rtt, jitter = self.net.at(slot)
        # The sender's bandwidth estimate tracks the uplink's capacity (W3C availableOutgoingBitrate).
        available = self._up * bw
        abr = aloss = alat = None
        if s.has_audio and not _inside(s.audio_off, t):
            lo, hi = self._audio
            abr = lo + (hi - lo) * r()
            aloss = loss * (0.6 + 0.8 * r())
            alat = 10.0 + rtt / 2 + jitter + 900.0 * aloss
        vbr = vloss = vlat = None
        fps = 0.0
        res = limitation = None
        if s.has_video and not _inside(s.video_off, t):
            target = self._target
            if s.video_type == "screen":
                target *= 0.4 + 1.2 * r()  # content-dependent
            vbr = min(target, self._up * bw) * (0.85 + 0.15 * r())
            rung = self.rung
            while rung < len(LADDER) - 1 and vbr < LADDER[rung][1]:
                rung += 1
            res = LADDER[rung][0] if s.video_type != "screen" else s.resolution
            vloss = loss * (0.7 + 0.6 * r())
            vlat = 20.0 + rtt / 2 + 1.5 * jitter + 1200.0 * vloss
            fps = self.fps * min(1.0, 0.35 + 0.65 * vbr / (0.6 * target))
            # The encoder is held back by bandwidth during an episode or whenever the uplink cannot carry the target.
            limitation = "bandwidth" if self.net.episode[slot] or available < target else "none"
        return (vbr, abr, vloss, aloss, vlat, alat, fps, res, jitter, rtt, limitation, available)


class PublisherStatsSource:
    """Merge source yielding one stream's publisherStats, every 30 s while it lives."""

    __slots__ = ("_k", "_prefix", "codec", "end", "series", "sid", "ts")

    def __init__(self, series: PubSeries, session_id: str, codec: str, prefix: str) -> None:
        s = series.stream
        self.series, self.sid, self.codec, self._prefix = series, session_id, codec, prefix
        self._k = 1
        self.end = s.end
        self.ts: int | None = s.start + series.interval
        if self.ts >= self.end:
            self.ts = None

    def pop(self) -> Event:
        k, ts = self._k, self.ts
        vbr, abr, vloss, aloss, vlat, alat, fps, res, jitter, rtt, limitation, available = self.series.at(k)
        ev: Event = {"id": f"{self._prefix}{k}", "type": "publisherStats", "sessionId": self.sid, "timestamp": ts,
                     "streamId": self.series.stream.id, "hasAudio": abr is not None, "hasVideo": vbr is not None}
        # int(x * 10 + 0.5) / 10 rounds like round(x, 1) for x >= 0, at half the cost.
        if abr is not None:
            ev["audioBitrateKbps"] = int(abr * 10 + 0.5) / 10
            ev["audioPacketLoss"] = int(aloss * 10000 + 0.5) / 10000
            ev["audioLatencyMs"] = int(alat * 10 + 0.5) / 10
            ev["audioCodec"] = self.series.audio_codec
        if vbr is not None:
            ev["videoBitrateKbps"] = int(vbr * 10 + 0.5) / 10
            ev["videoPacketLoss"] = int(vloss * 10000 + 0.5) / 10000
            ev["videoLatencyMs"] = int(vlat * 10 + 0.5) / 10
            ev["videoResolution"] = res
            ev["videoCodec"] = self.codec
            ev["frameRate"] = int(fps * 10 + 0.5) / 10
            ev["qualityLimitationReason"] = limitation
        ev["jitterMs"] = int(jitter * 10 + 0.5) / 10
        ev["roundTripMs"] = int(rtt * 10 + 0.5) / 10
        ev["availableOutgoingBitrateKbps"] = int(available * 10 + 0.5) / 10
        self._k = k + 1
        nxt = ts + self.series.interval  # type: ignore[operator]
        self.ts = nxt if nxt < self.end else None
        return ev


class SubscriberStatsSource:
    """Merge source yielding one subscriber's subscriberStats, every 30 s while it lives."""

    __slots__ = ("_k", "_prefix", "_pub", "_rng", "codec", "down", "end", "interval", "net", "sid", "sub", "t0", "ts")

    def __init__(self, sub: Subscriber, pub: PubSeries, net: NetState, t0: int, session_id: str, codec: str,
                 prefix: str) -> None:
        self.sub, self._pub, self.net, self.t0 = sub, pub, net, t0
        self.sid, self.codec, self._prefix = session_id, codec, prefix
        self.interval = pub.interval
        self.down = net.profile.down_kbps
        self._rng = Random(sub.seed)
        self._k = 1
        self.end = sub.end
        self.ts: int | None = sub.start + self.interval
        if self.ts >= self.end:
            self.ts = None

    def pop(self) -> Event:
        sub, ts, r = self.sub, self.ts, self._rng.random
        assert ts is not None
        interval = self.interval
        # The publisher sample whose 30 s period contains ts.
        kp = max(1, -((sub.stream.start - ts) // interval))
        vbr, abr, vloss, aloss, vlat, alat, fps, res, *_ = self._pub.at(kp)
        bw, loss, rtt, jitter = self.net.at((ts - self.t0) // interval)
        video_off = sub.video_off
        wants_video = sub.video and (video_off is None or not video_off[0] <= ts < video_off[1])
        ev: Event = {"id": f"{self._prefix}{self._k}", "type": "subscriberStats", "sessionId": self.sid,
                     "timestamp": ts, "subscriberId": sub.id, "subscribeToAudio": True,
                     "subscribeToVideo": wants_video, "hasAudio": abr is not None,
                     "hasVideo": vbr is not None and wants_video}
        if abr is not None:
            own = loss * (0.6 + 0.8 * r())
            total = 1.0 - (1.0 - aloss) * (1.0 - own)
            ev["audioBitrateKbps"] = int(abr * (0.96 + 0.04 * r()) * 10 + 0.5) / 10
            ev["audioPacketLoss"] = int(total * 10000 + 0.5) / 10000
            ev["audioLatencyMs"] = int((alat + rtt / 2 + jitter + 900.0 * own) * 10 + 0.5) / 10
            ev["audioCodec"] = self._pub.audio_codec
        if vbr is not None and wants_video:
            br = vbr * sub.layer
            cap = self.down * bw
            br = (br if br < cap else cap) * (0.92 + 0.08 * r())  # <= the publisher's bitrate
            own = loss * (0.7 + 0.6 * r())
            total = 1.0 - (1.0 - vloss) * (1.0 - own)
            if sub.stream.video_type != "screen":
                rung = _RUNG[res]
                while rung < _LAST and br < LADDER[rung][1]:
                    rung += 1
                res = LADDER[rung][0]
            ev["videoBitrateKbps"] = int(br * 10 + 0.5) / 10
            ev["videoPacketLoss"] = int(total * 10000 + 0.5) / 10000
            ev["videoLatencyMs"] = int((vlat + rtt / 2 + 1.5 * jitter + 1200.0 * own) * 10 + 0.5) / 10
            ev["videoResolution"] = res
            ev["videoCodec"] = self.codec
            ev["frameRate"] = int(fps * (0.4 + 0.6 * br / vbr) * 10 + 0.5) / 10 if vbr > 0 else 0.0
            lam = 12.0 * total + (1.0 if bw < 0.4 else 0.0)
            ev["freezeCount"] = _poisson(r, lam)
        ev["jitterMs"] = int(jitter * 10 + 0.5) / 10
        ev["roundTripMs"] = int(rtt * 10 + 0.5) / 10
        self._k += 1
        nxt = ts + interval
        self.ts = nxt if nxt < self.end else None
        return ev


def _poisson(r: Callable[[], float], lam: float) -> int:
    """Knuth's Poisson draw (lam is small here)."""
    limit, k, prod = math.exp(-lam), 0, r()
    while prod > limit:
        k += 1
        prod *= r()
    return k
