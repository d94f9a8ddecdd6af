"""`generate`: the whole simulated window as one timestamp-ordered event stream.

Sessions are built lazily in start order. Each active session contributes
merge *sources*: its lifecycle events (a sorted list) and one stats source per
stream and per subscriber. A heap keyed by (timestamp, session ordinal,
source index) merges them; a session is built only when the merge reaches its
start time, and dropped when its sources run dry, so memory holds the live
sessions, not the window.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from videoinsights.simulate.config import DEFAULT_CONFIG, SimConfig
from videoinsights.simulate.ids import session_tag
from videoinsights.simulate.lifecycle import Event, lifecycle_events
from videoinsights.simulate.model import SessionModel
from videoinsights.simulate.quality import NetState, PublisherStatsSource, PubSeries, SubscriberStatsSource
from videoinsights.simulate.schedule import plans
from videoinsights.simulate.sessions import SessionBuilder


class ListSource:
    """Merge source over an already sorted list of events."""

    __slots__ = ("_events", "_i", "ts")

    def __init__(self, events: list[Event]) -> None:
        self._events, self._i = events, 0
        self.ts: int | None = events[0]["timestamp"] if events else None  # type: ignore[assignment]

    def pop(self) -> Event:
        ev = self._events[self._i]
        self._i += 1
        self.ts = self._events[self._i]["timestamp"] if self._i < len(self._events) else None  # type: ignore[assignment]
        return ev


Source = ListSource | PublisherStatsSource | SubscriberStatsSource


def session_sources(m: SessionModel, seed: int | str, config: SimConfig) -> list[Source]:
    """The merge sources of one session: lifecycle first, then streams, then subscribers."""
    tag = session_tag(m.session_id, seed)
    sources: list[Source] = [ListSource(lifecycle_events(m, tag, config.behaviour.lost_destroy))]
    if not config.stats:
        return sources
    t0, q = m.plan.start, config.quality
    nets: dict[int, NetState] = {}

    def net(person_index: int) -> NetState:
        if person_index not in nets:
            p = m.persons[person_index]
            nets[person_index] = NetState(p.endpoint.profile, p.endpoint.extra_rtt_ms, p.net_seed)
        return nets[person_index]

    series = [PubSeries(s, net(s.conn.person.index), t0, q) for s in m.streams]
    for s, ser in zip(m.streams, series, strict=True):
        sources.append(PublisherStatsSource(ser, m.session_id, m.video_codec, f"{tag}-p{s.index}-"))
    for u in m.subscribers:
        sources.append(SubscriberStatsSource(u, series[u.stream.index], net(u.conn.person.index), t0, m.session_id,
                                             m.video_codec, f"{tag}-s{u.index}-"))
    return sources


def generate(project_id: int | str, start_ms: int, days: int, sessions_per_day: float, seed: int | str = 0,
             config: SimConfig | None = None) -> Iterator[Event]:
    """Simulated events of `days` days from `start_ms`, in timestamp order.

    Deterministic: the same arguments give the same events (values, ids and
    order). Every event is a JSON-ready dict in the ingestion format."""
    cfg = config or DEFAULT_CONFIG
    builder = SessionBuilder(cfg, project_id)
    pending = plans(start_ms, days, sessions_per_day, seed, cfg)
    heap: list[tuple[int, int, int, Source]] = []
    push, replace, pop = heapq.heappush, heapq.heapreplace, heapq.heappop
    plan = next(pending, None)
    while True:
        # Activate every session that starts no later than the earliest pending event.
        while plan is not None and (not heap or plan.start <= heap[0][0]):
            for i, src in enumerate(session_sources(builder.build(plan), seed, cfg)):
                if src.ts is not None:
                    push(heap, (src.ts, plan.ordinal, i, src))
            plan = next(pending, None)
        if not heap:
            return
        _, ordinal, i, src = heap[0]
        ev = src.pop()
        if src.ts is None:
            pop(heap)
        else:
            replace(heap, (src.ts, ordinal, i, src))
        yield ev
