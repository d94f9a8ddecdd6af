"""Lifetimes of connections, publisher streams and subscribers.

Every lifetime is a half-open interval [created_at, ended_at) in epoch ms.

An entity exists only if its create event was seen (connectionCreated,
streamCreated, subscriberCreated); events about unknown entities (a
streamDestroyed without streamCreated, stats of an unknown subscriber, ...)
never create one, but they still count as evidence for the entities they
also reference (e.g. the connection of an attempt).

Rules, beyond the obvious create -> destroy:
* Repeated create events: the earliest wins; missing fields are filled from
  later copies. Repeated destroy events: the earliest at or after the create
  wins. A destroy stamped *before* its create (clock skew) closes the entity
  at its create (zero length) rather than leaving it open.
* Evidence that an entity was alive = the max ts of events referencing it
  (by connection_id / stream_id / subscriber_id) and the stats `last_ts` of
  it. A stream's evidence includes that of the subscribers on it; a
  connection's evidence includes that of its streams and its subscribers.
* Connection without destroy: ends at its evidence (destroyed_at stays None).
* Stream without destroy: ends at its connection's destroy if there is one,
  else at its evidence. Always capped at its connection's end.
* Subscriber without destroy: ends at the earliest *known* end (an explicit
  destroy of the subscribing connection, of the stream or of the stream's
  connection), else at its evidence. Always capped at the end of its
  subscribing connection and of its stream: one cannot receive a stream that
  no longer exists.
* `destroyed_at` keeps the raw destroy timestamp; `ended_at` is the capped
  end that all minutes are computed from (never before created_at).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from videoinsights.derive.model import StatsAggregate
from videoinsights.domain.events import ENDPOINT, FIELDS

ENDPOINT_COLUMNS: tuple[str, ...] = tuple(FIELDS[name].column for name in ENDPOINT)
STREAM_COLUMNS: tuple[str, ...] = ("video_type", "has_audio", "has_video", "name")


@dataclass
class ConnectionLife:
    connection_id: str
    created_at: int
    destroyed_at: int | None = None
    ended_at: int = 0
    reason: str | None = None
    endpoint: dict[str, Any] = field(default_factory=dict)  # ENDPOINT_COLUMNS -> value


@dataclass
class StreamLife:
    stream_id: str
    connection_id: str | None
    created_at: int
    destroyed_at: int | None = None
    ended_at: int = 0
    reason: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # STREAM_COLUMNS -> value
    explicit_end: int | None = None  # end known from a destroy event (own or its connection's)


@dataclass
class SubscriberLife:
    subscriber_id: str
    stream_id: str | None
    connection_id: str | None
    created_at: int
    destroyed_at: int | None = None
    ended_at: int = 0


@dataclass
class Lifetimes:
    connections: dict[str, ConnectionLife]
    streams: dict[str, StreamLife]
    subscribers: dict[str, SubscriberLife]

    def all_intervals(self) -> list[tuple[int, int]]:
        return [(e.created_at, e.ended_at) for group in (self.connections, self.streams, self.subscribers)
                for e in group.values()]


_ID_COLUMN = {"conn": "connection_id", "stream": "stream_id", "sub": "subscriber_id"}


def _fill(target: dict[str, Any], event: dict[str, Any], columns: tuple[str, ...]) -> None:
    for col in columns:
        if target.get(col) is None:
            target[col] = event.get(col)


def _created(events: list[dict[str, Any]]) -> Lifetimes:
    conns: dict[str, ConnectionLife] = {}
    streams: dict[str, StreamLife] = {}
    subs: dict[str, SubscriberLife] = {}
    for ev in events:  # canonical order: the first create seen is the earliest
        kind = ev["type"]
        if kind == "connectionCreated" and ev.get("connection_id"):
            c = conns.setdefault(ev["connection_id"], ConnectionLife(ev["connection_id"], ev["ts"]))
            _fill(c.endpoint, ev, ENDPOINT_COLUMNS)
        elif kind == "streamCreated" and ev.get("stream_id"):
            s = streams.setdefault(ev["stream_id"], StreamLife(ev["stream_id"], ev.get("connection_id"), ev["ts"]))
            s.connection_id = s.connection_id or ev.get("connection_id")
            _fill(s.attrs, ev, STREAM_COLUMNS)
        elif kind == "subscriberCreated" and ev.get("subscriber_id"):
            sub = subs.setdefault(ev["subscriber_id"], SubscriberLife(
                ev["subscriber_id"], ev.get("stream_id"), ev.get("connection_id"), ev["ts"]))
            sub.stream_id = sub.stream_id or ev.get("stream_id")
            sub.connection_id = sub.connection_id or ev.get("connection_id")
    return Lifetimes(conns, streams, subs)


def _destroy(created_at: int, destroys: list[dict[str, Any]]) -> tuple[int | None, str | None]:
    """(destroyed_at, reason) from the destroy events of one entity, in canonical order."""
    if not destroys:
        return None, None
    after = [ev for ev in destroys if ev["ts"] >= created_at]
    if after:
        return after[0]["ts"], after[0].get("reason")
    return created_at, destroys[0].get("reason")


def _own_evidence(events: list[dict[str, Any]], stats: list[StatsAggregate]) -> dict[tuple[str, str], int]:
    latest: dict[tuple[str, str], int] = {}
    for ev in events:
        for kind, col in _ID_COLUMN.items():
            key = ev.get(col)
            if key:
                latest[(kind, key)] = max(latest.get((kind, key), ev["ts"]), ev["ts"])
    for agg in stats:
        key = ("stream" if agg.side == "pub" else "sub", agg.entity_id)
        latest[key] = max(latest.get(key, agg.last_ts), agg.last_ts)
    return latest


def derive_lifetimes(events: list[dict[str, Any]], stats: list[StatsAggregate]) -> Lifetimes:
    """Lifetimes from canonical events and stats aggregates (see module docstring)."""
    lt = _created(events)
    destroys: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        for kind, etype in (("conn", "connectionDestroyed"), ("stream", "streamDestroyed"),
                            ("sub", "subscriberDestroyed")):
            if ev["type"] == etype and ev.get(_ID_COLUMN[kind]):
                destroys[(kind, ev[_ID_COLUMN[kind]])].append(ev)
    own = _own_evidence(events, stats)

    sub_evidence = {sid: max(own.get(("sub", sid), sub.created_at), sub.created_at)
                    for sid, sub in lt.subscribers.items()}
    stream_evidence = {sid: max(own.get(("stream", sid), s.created_at), s.created_at)
                       for sid, s in lt.streams.items()}
    conn_evidence = {cid: max(own.get(("conn", cid), c.created_at), c.created_at)
                     for cid, c in lt.connections.items()}
    for sid, sub in lt.subscribers.items():
        if sub.stream_id in stream_evidence:
            stream_evidence[sub.stream_id] = max(stream_evidence[sub.stream_id], sub_evidence[sid])
        if sub.connection_id in conn_evidence:
            conn_evidence[sub.connection_id] = max(conn_evidence[sub.connection_id], sub_evidence[sid])
    for sid, s in lt.streams.items():
        if s.connection_id in conn_evidence:
            conn_evidence[s.connection_id] = max(conn_evidence[s.connection_id], stream_evidence[sid])

    for cid, c in lt.connections.items():
        c.destroyed_at, c.reason = _destroy(c.created_at, destroys[("conn", cid)])
        c.ended_at = c.destroyed_at if c.destroyed_at is not None else conn_evidence[cid]

    for sid, s in lt.streams.items():
        s.destroyed_at, s.reason = _destroy(s.created_at, destroys[("stream", sid)])
        conn = lt.connections.get(s.connection_id or "")
        conn_end = conn.destroyed_at if conn else None
        known = [t for t in (s.destroyed_at, conn_end) if t is not None]
        s.explicit_end = max(s.created_at, min(known)) if known else None
        end = s.explicit_end if s.explicit_end is not None else stream_evidence[sid]
        if conn is not None:
            end = min(end, conn.ended_at)
        s.ended_at = max(s.created_at, end)

    for sid, sub in lt.subscribers.items():
        sub.destroyed_at, _ = _destroy(sub.created_at, destroys[("sub", sid)])
        conn = lt.connections.get(sub.connection_id or "")
        stream = lt.streams.get(sub.stream_id or "")
        if sub.destroyed_at is not None:
            end = sub.destroyed_at
        else:
            known = [t for t in (conn.destroyed_at if conn else None, stream.explicit_end if stream else None)
                     if t is not None]
            end = min(known) if known else sub_evidence[sid]
        for limit in (conn.ended_at if conn else None, stream.ended_at if stream else None):
            if limit is not None:
                end = min(end, limit)
        sub.ended_at = max(sub.created_at, end)
    return lt
