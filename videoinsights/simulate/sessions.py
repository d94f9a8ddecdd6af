"""Build one session's timeline (a `SessionModel`) from its plan.

A session is one or more *meetings* (segments): the first starts at the plan's
start and lasts a heavy-tailed duration of its shape; with probability
`behaviour.resume` everyone leaves and the session is used again after a short
(< 10 min) or long (>= 10 min) gap. In each meeting the host joins first,
guests join on time or late and leave at the end or early, webinar viewers
trickle in and out. Each person's presence is cut by network drops
(`drops_per_hour` of their network profile), after which they reconnect with a
new connection id after a short or long gap, or leave. Every connection,
publish and subscribe goes through attempts that may fail and be retried.
"""

from __future__ import annotations

from random import Random

from videoinsights.simulate.attempts import AttemptPolicy
from videoinsights.simulate.config import SimConfig
from videoinsights.simulate.draw import Weighted, count, exp_ms, lognormal, uniform_int
from videoinsights.simulate.endpoints import EndpointSampler
from videoinsights.simulate.ids import session_id, uuid4
from videoinsights.simulate.model import AddOn, Connection, Interval, Person, SessionModel, Stream, Subscriber
from videoinsights.simulate.schedule import SessionPlan

MIN = 60_000
TEN_MIN = 600_000
SIMULCAST_LAYERS = Weighted([(1.0, 0.5), (0.55, 0.3), (0.25, 0.2)])


class SessionBuilder:
    """Turns plans into session models; compiled once per run from the config."""

    def __init__(self, config: SimConfig, project_id: int | str) -> None:
        self.cfg = config
        self.b = config.behaviour
        self.project_id = project_id
        self.endpoints = EndpointSampler(config)
        self.attempts = AttemptPolicy(config.failures)
        self.codecs = Weighted(config.quality.video_codecs)
        self.resolutions = Weighted(config.quality.camera_resolutions)
        self.fps = Weighted(config.quality.camera_fps)
        a = config.addons
        self.archive_res = Weighted(a.archive_resolutions)
        self.broadcast_res = Weighted(a.broadcast_resolutions)
        self.rtmp = Weighted(a.broadcast_rtmp)
        self.destinations = Weighted(a.composer_destinations)
        self.composer_res = Weighted(a.composer_resolutions)

    # ------------------------------------------------------------------ session

    def build(self, plan: SessionPlan) -> SessionModel:
        rng = Random(plan.seed)
        shape = plan.shape
        m = SessionModel(plan, session_id(self.project_id, plan.start, plan.ordinal, rng), shape.media_mode,
                         self.codecs.pick(rng))
        m.lost_seed = rng.getrandbits(64)
        self._roster(m, rng)
        for k, (s, e) in enumerate(self._segments(rng, plan)):
            attendees = [p for p in m.persons if p.role != "sip"
                         and (k == 0 or p.role == "host" or rng.random() < self.b.resume_return)]
            for p in attendees:
                presence = self._presence(rng, p, s, e)
                if presence is not None:
                    self._attend(m, rng, p, presence[0], presence[1], k)
            conns = [c for c in m.connections if c.segment == k]
            if not conns:
                continue
            span = (min(c.start for c in conns), max(c.end for c in conns))
            if shape.media_mode == "routed" and rng.random() < shape.addons.sip:
                self._sip_calls(m, rng, span, k)
            for c in m.connections:
                if c.segment == k and c.person.role != "viewer":
                    self._publish(m, rng, c)
            if rng.random() < shape.screen_share:
                self._screen_share(m, rng, k)
            if shape.media_mode == "routed":
                self._addons(m, rng, span)
        self._subscriptions(m, rng)
        return m

    def _roster(self, m: SessionModel, rng: Random) -> None:
        plan, shape, names = m.plan, m.plan.shape, self.cfg.names
        publishers = count(rng, shape.publishers)
        viewers = count(rng, shape.viewers) if shape.viewers.median > 0 else 0
        first_name = int(rng.random() * len(names))
        for i in range(publishers + viewers):
            role = "host" if i == 0 else ("guest" if i < publishers else "viewer")
            endpoint = self.endpoints.draw(rng, plan.country, plan.region, may_be_foreign=i > 0)
            audio_only = role != "viewer" and rng.random() < self.b.audio_only
            name = names[(first_name + i) % len(names)] if role != "viewer" else ""
            m.persons.append(Person(i, role, name, endpoint, audio_only, rng.getrandbits(64)))

    def _segments(self, rng: Random, plan: SessionPlan) -> list[Interval]:
        """The session's meetings: [start, planned end) each, inside the window."""
        limit = plan.window_end - 1_000
        segments: list[Interval] = []
        s, dur = plan.start, lognormal(rng, plan.shape.duration) * MIN
        while True:
            e = min(s + int(dur), limit)
            if e - s < MIN:
                break
            segments.append((s, e))
            if len(segments) >= 3 or rng.random() >= self.b.resume:
                break
            s = e + self._gap(rng, rng.random() < self.b.resume_short)
            dur = max(dur * self.b.resume_duration_factor, 2 * MIN)
        return segments

    def _gap(self, rng: Random, short: bool) -> int:
        if short:
            return int(lognormal(rng, self.b.short_gap_s) * 1000)
        return max(TEN_MIN, int(lognormal(rng, self.b.long_gap_min) * MIN))

    def _presence(self, rng: Random, p: Person, s: int, e: int) -> Interval | None:
        b, span = self.b, e - s
        if p.role == "host":
            join, leave = s + uniform_int(rng, 0, 5_000), e
        elif p.role == "viewer":
            join = s + min(exp_ms(rng, b.viewer_join_spread_s * 1000), span // 2)
            early = rng.random() < b.viewer_early_leave
            leave = join + int((0.1 + 0.9 * rng.random()) * (e - join)) if early else e - exp_ms(rng, 40_000)
        else:
            if rng.random() < b.late_join:
                join = s + int(rng.random() * 0.7 * span)
            else:
                join = s + 1_000 + min(exp_ms(rng, b.join_spread_s * 1000), span // 2)
            early = rng.random() < b.early_leave
            leave = join + int((0.1 + 0.9 * rng.random()) * (e - join)) if early else e - exp_ms(rng, 20_000)
        leave = min(leave, e)
        return (join, leave) if leave - join >= 20_000 else None

    # ------------------------------------------------------------------ connections

    def _attend(self, m: SessionModel, rng: Random, p: Person, join: int, leave: int, segment: int) -> None:
        """Connect `p` for [join, leave), cut by network drops and reconnects."""
        final = "forceDisconnected" if rng.random() < self.b.force_disconnect else "clientDisconnected"
        per_ms = p.endpoint.profile.drops_per_hour / 3_600_000
        a = join
        while a < leave - 20_000:
            drop = a + exp_ms(rng, 1 / per_ms) if per_ms > 0 else leave
            if drop >= leave - 20_000:
                self._connect(m, rng, p, a, leave, final, segment)
                return
            self._connect(m, rng, p, a, drop, "networkDisconnected", segment)
            if rng.random() >= self.b.reconnect:
                return
            a = drop + self._gap(rng, rng.random() >= self.b.reconnect_long)

    def _connect(self, m: SessionModel, rng: Random, p: Person, a: int, b: int, reason: str, segment: int) -> None:
        conn_id = uuid4(rng)
        start = self.attempts.connect(m, rng, p.endpoint, conn_id, a, b - 10_000)
        if start is not None:
            m.connections.append(Connection(conn_id, p, start, b, reason, segment))

    def _sip_calls(self, m: SessionModel, rng: Random, span: Interval, segment: int) -> None:
        """SIP calls: a gateway connection publishing audio, framed by sipCall events."""
        plan, lo, hi = m.plan, span[0], span[1]
        for _ in range(count(rng, self.cfg.addons.sip_calls)):
            a = lo + int(rng.random() * 0.8 * (hi - lo))
            b = min(a + int(lognormal(rng, self.cfg.addons.sip_call_min) * MIN), hi - 1_000)
            if b - a < 30_000:
                continue
            person = Person(len(m.persons), "sip", "SIP", self.endpoints.sip(rng, plan.country, plan.region),
                            True, rng.getrandbits(64))
            m.persons.append(person)
            call_id = uuid4(rng)
            m.addons.append(AddOn("sipCall", call_id, a, b, {}, {}))
            conn = Connection(uuid4(rng), person, a + uniform_int(rng, 500, 2_000), b - 1_000, "clientDisconnected",
                              segment)
            m.connections.append(conn)

    # ------------------------------------------------------------------ streams

    def _publish(self, m: SessionModel, rng: Random, conn: Connection) -> None:
        """Publish from `conn` (once, or stop and publish again) until it ends."""
        t, end, restarts = conn.start + uniform_int(rng, 500, 4_000), conn.end - 1, 0
        sip = conn.person.role == "sip"
        while t < end - 5_000:
            stream_id = uuid4(rng)
            if sip:
                start: int | None = t
            else:
                start = self.attempts.publish(m, rng, conn, stream_id, t, end - 5_000)
            if start is None:
                return
            stop, reason = end, conn.reason
            if (not sip and restarts == 0 and end - start > 3 * MIN and rng.random() < self.b.republish):
                stop = start + MIN + int(rng.random() * (end - start - 2 * MIN))
                reason = "clientDisconnected"
            self._stream(m, rng, conn, stream_id, start, stop, reason, screen=False)
            if stop == end:
                return
            restarts += 1
            t = stop + int(lognormal(rng, self.b.republish_gap_s) * 1000)

    def _screen_share(self, m: SessionModel, rng: Random, segment: int) -> None:
        conns = [c for c in m.connections if c.segment == segment and c.person.role in ("host", "guest")
                 and c.end - c.start >= 3 * MIN]
        if not conns:
            return
        conn = conns[int(rng.random() * len(conns))]
        t = conn.start + 10_000 + int(rng.random() * 0.6 * (conn.end - conn.start))
        stream_id = uuid4(rng)
        start = self.attempts.publish(m, rng, conn, stream_id, t, conn.end - 30_000)
        if start is None:
            return
        stop = min(start + int(lognormal(rng, self.b.screen_share_min) * MIN), conn.end - 1)
        if stop - start < 30_000:
            return
        reason = conn.reason if stop == conn.end - 1 else "mediaStopped"
        self._stream(m, rng, conn, stream_id, start, stop, reason, screen=True)

    def _stream(self, m: SessionModel, rng: Random, conn: Connection, stream_id: str, start: int, end: int,
                reason: str, screen: bool) -> None:
        p, q = conn.person, self.cfg.quality
        if screen:
            video_type, has_audio, has_video, res, fps = "screen", False, True, q.screen_resolution, q.screen_fps
            name = f"{p.name} (screen)"
        elif p.audio_only:
            video_type, has_audio, has_video, res, fps, name = None, True, False, None, 0.0, p.name
        else:
            video_type, has_audio, has_video = "camera", True, True
            res, fps, name = self.resolutions.pick(rng), float(self.fps.pick(rng)), p.name
        b = self.b
        video_off = self._muted(rng, start, end) if video_type == "camera" and rng.random() < b.video_mute else None
        audio_off = self._muted(rng, start, end) if has_audio and rng.random() < b.audio_mute else None
        m.streams.append(Stream(len(m.streams), stream_id, conn, start, end, reason, video_type, has_audio, has_video,
                                name, res, fps, video_off, audio_off, rng.getrandbits(64)))

    @staticmethod
    def _muted(rng: Random, start: int, end: int) -> Interval:
        a = start + int(rng.random() * 0.8 * (end - start))
        return a, min(end, a + exp_ms(rng, 3 * MIN) + 10_000)

    # ------------------------------------------------------------------ subscribers

    def _subscriptions(self, m: SessionModel, rng: Random) -> None:
        shape, b = m.plan.shape, self.b
        churn = b.subscriber_churn_large if shape.subscribe_cap else b.subscriber_churn
        for conn in m.connections:
            p = conn.person
            if p.role == "sip":
                continue
            live = [s for s in m.streams if s.conn.person is not p and s.start < conn.end and s.end > conn.start]
            if shape.subscribe_cap:
                cameras = [s for s in live if s.video_type != "screen"]
                if len(cameras) > shape.subscribe_cap:
                    keep = set(map(id, rng.sample(cameras, shape.subscribe_cap)))
                    live = [s for s in live if s.video_type == "screen" or id(s) in keep]
            audio_only_viewer = p.role == "viewer" and rng.random() < b.viewer_audio_only
            for s in live:
                self._subscribe(m, rng, conn, s, churn, audio_only_viewer)

    def _subscribe(self, m: SessionModel, rng: Random, conn: Connection, s: Stream, churn: float,
                   audio_only: bool) -> None:
        a = max(conn.start, s.start) + uniform_int(rng, 300, 2_500)
        b = min(conn.end, s.end) - 1
        if b - a < 5_000:
            return
        end_reason = conn.reason if conn.end - 1 <= s.end - 1 else "streamDestroyed"
        pieces = [(a, b, end_reason)]
        if rng.random() < churn and b - a > 2 * MIN:
            mid = a + int((0.2 + 0.6 * rng.random()) * (b - a))
            back = mid + uniform_int(rng, 5_000, 5 * MIN)
            pieces = [(a, mid, "clientDisconnected")] + ([(back, b, end_reason)] if back < b - 10_000 else [])
        layer = SIMULCAST_LAYERS.pick(rng) if m.plan.shape.simulcast and m.media_mode == "routed" else 1.0
        for a, b, reason in pieces:
            sub_id = uuid4(rng)
            start = self.attempts.subscribe(m, rng, conn, s.id, sub_id, a, b - 2_000)
            if start is None:
                continue
            video_off = self._muted(rng, start, b) if rng.random() < self.b.subscriber_video_off else None
            m.subscribers.append(Subscriber(len(m.subscribers), sub_id, conn, s, start, b, reason, layer,
                                            not audio_only, video_off, rng.getrandbits(64)))

    # ------------------------------------------------------------------ add-ons

    def _addons(self, m: SessionModel, rng: Random, span: Interval) -> None:
        rates, lo, hi = m.plan.shape.addons, span[0], span[1]
        if hi - lo < 2 * MIN:
            return
        a_cfg = self.cfg.addons

        def window() -> Interval:
            a = lo + int((0.005 + 0.2 * rng.random()) * (hi - lo))
            return a, a + int((0.5 + 0.5 * rng.random()) * (hi - a)) - 1_000

        if rng.random() < rates.archive:
            a, b = window()
            if rng.random() < a_cfg.archive_individual:
                streams = _max_concurrent(m.streams, a, b)
                if streams:
                    fields: dict[str, object] = {"outputMode": "individual", "streamCount": streams}
                    m.addons.append(AddOn("archive", uuid4(rng), a, b, fields, fields))
            else:
                fields = {"outputMode": "composed", "resolution": self.archive_res.pick(rng)}
                m.addons.append(AddOn("archive", uuid4(rng), a, b, fields, fields))
        if rng.random() < rates.broadcast:
            a, b = window()
            hls = rng.random() < a_cfg.broadcast_hls
            rtmp = self.rtmp.pick(rng)
            fields = {"hls": hls, "rtmpCount": rtmp if hls else max(1, rtmp),
                      "resolution": self.broadcast_res.pick(rng)}
            m.addons.append(AddOn("broadcast", uuid4(rng), a, b, fields, fields))
        if rng.random() < rates.composer:
            a, b = window()
            dest = self.destinations.pick(rng)
            m.addons.append(AddOn("experienceComposer", uuid4(rng), a, b,
                                  {"destination": dest, "resolution": self.composer_res.pick(rng)},
                                  {"destination": dest}))


def _max_concurrent(streams: list[Stream], a: int, b: int) -> int:
    """Most streams alive at once during [a, b)."""
    points = sorted(p for s in streams if s.start < b and s.end > a
                    for p in ((max(s.start, a), 1), (min(s.end, b), -1)))
    best = live = 0
    for _, d in points:
        live += d
        best = max(best, live)
    return best
