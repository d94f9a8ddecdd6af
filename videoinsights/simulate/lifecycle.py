"""A session model's lifecycle events (everything but the 30-second stats), in order.

`sessionCreated` / `sessionDestroyed` frame every period in which the session
has at least one connection (so a session that empties and fills again gets a
new pair). Events with the same timestamp are ordered causally (creates before
what they contain, destroys after). With `behaviour.lost_destroy` > 0 that
fraction of connection/stream/subscriber destroys is dropped, as if never sent.
"""

from __future__ import annotations

from random import Random

from videoinsights.simulate.model import SessionModel

Event = dict[str, object]

# Tie-break rank for events sharing a timestamp.
_RANK = {
    "sessionCreated": 0, "connectAttempt": 1, "connectionCreated": 2, "publishAttempt": 3, "streamCreated": 4,
    "subscribeAttempt": 5, "subscriberCreated": 6, "archiveStarted": 7, "broadcastStarted": 7,
    "sipCallStarted": 7, "experienceComposerStarted": 7, "archiveStopped": 8, "broadcastStopped": 8,
    "sipCallStopped": 8, "experienceComposerStopped": 8, "subscriberDestroyed": 9, "streamDestroyed": 10,
    "connectionDestroyed": 11, "sessionDestroyed": 12,
}


def lifecycle_events(m: SessionModel, tag: str, lost_destroy: float = 0.0) -> list[Event]:
    sid = m.session_id
    out: list[Event] = []

    def add(type_: str, ts: int, **fields: object) -> None:
        ev: Event = {"id": "", "type": type_, "sessionId": sid, "timestamp": ts}
        ev.update(fields)
        out.append(ev)

    lost = Random(m.lost_seed) if lost_destroy > 0 else None

    def destroy(type_: str, ts: int, **fields: object) -> None:
        if lost is None or lost.random() >= lost_destroy:
            add(type_, ts, **fields)

    for start, end in _occupied(m):
        add("sessionCreated", start - 1, mediaMode=m.media_mode)
        add("sessionDestroyed", end + 1)
    for a in m.attempts:
        f: Event = {"outcome": "success" if a.success else "failure"}
        if a.connection_id is not None:
            f["connectionId"] = a.connection_id
        if a.stream_id is not None:
            f["streamId"] = a.stream_id
        if a.subscriber_id is not None:
            f["subscriberId"] = a.subscriber_id
        if a.error_code is not None:
            f["errorCode"] = a.error_code
        if a.endpoint is not None:
            f.update(a.endpoint.fields)
        add(a.type, a.ts, **f)
    for c in m.connections:
        add("connectionCreated", c.start, connectionId=c.id, **c.person.endpoint.fields)
        destroy("connectionDestroyed", c.end, connectionId=c.id, reason=c.reason)
    for s in m.streams:
        f = {"streamId": s.id, "connectionId": s.conn.id}
        if s.video_type is not None:
            f["videoType"] = s.video_type
        f.update(hasAudio=s.has_audio, hasVideo=s.has_video, name=s.name)
        add("streamCreated", s.start, **f)
        destroy("streamDestroyed", s.end, streamId=s.id, reason=s.reason)
    for u in m.subscribers:
        add("subscriberCreated", u.start, subscriberId=u.id, streamId=u.stream.id, connectionId=u.conn.id)
        destroy("subscriberDestroyed", u.end, subscriberId=u.id, reason=u.reason)
    for x in m.addons:
        key = {"archive": "archiveId", "broadcast": "broadcastId", "sipCall": "callId",
               "experienceComposer": "composerId"}[x.kind]
        add(f"{x.kind}Started", x.start, **{key: x.id}, **x.started)
        add(f"{x.kind}Stopped", x.end, **{key: x.id}, **x.stopped)

    out.sort(key=lambda e: (e["timestamp"], _RANK[e["type"]]))  # type: ignore[index]
    for n, ev in enumerate(out):
        ev["id"] = f"{tag}-0-{n}"
    return out


def _occupied(m: SessionModel) -> list[tuple[int, int]]:
    """Maximal periods with at least one connection: [(first start, last end), ...]."""
    # At equal times joins come first, so a hand-over is not an empty session.
    points = sorted((t, -d) for c in m.connections for t, d in ((c.start, 1), (c.end, -1)))
    periods, live, opened = [], 0, 0
    for t, neg in points:
        if live == 0:
            opened = t
        live -= neg
        if live == 0:
            periods.append((opened, t))
    return periods
