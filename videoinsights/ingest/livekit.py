"""LiveKit webhook events -> our lifecycle events.

LiveKit reports rooms, participants and tracks; Insights counts sessions,
connections and streams. The mapping (docs/events.md, "LiveKit webhooks"):

* the session id is the room's name (what the app knows; a room name reused
  later is the same session, its meetings apart, as with a Vonage session id);
* a participant is a connection (its sid; `guid` = its identity); egress
  participants (recorders) are not clients and are left out;
* a participant's camera and microphone tracks are one stream
  (`<participant sid>:camera`), its screen share and screen audio another
  (`<participant sid>:screen`), as audio and video of one Vonage publisher are
  one stream. The first track published opens the stream; the first
  unpublished closes it.

Event ids are built from LiveKit's own ids (room, participant and track
sids), so a retried webhook, or the same fact reported twice, is a no-op.
Webhooks carry no subscriptions and no statistics: only the collector sends those.
"""

from __future__ import annotations

from typing import Any

from videoinsights.ingest.validate import EventError

HANDLED = ("room_started", "room_finished", "participant_joined", "participant_left",
           "participant_connection_aborted", "track_published", "track_unpublished")
_SCREEN_SOURCES = ("SCREEN_SHARE", "SCREEN_SHARE_AUDIO")
_REASONS = {"CLIENT_INITIATED": "clientDisconnected", "DUPLICATE_IDENTITY": "forceDisconnected",
            "PARTICIPANT_REMOVED": "forceDisconnected", "ROOM_DELETED": "forceDisconnected",
            "ROOM_CLOSED": "forceDisconnected"}


def _get(obj: Any, camel: str) -> Any:
    """A field in LiveKit's protojson (camelCase) or in snake_case, which its parsers also accept."""
    if not isinstance(obj, dict):
        return None
    if camel in obj:
        return obj[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return obj.get(snake)


def _seconds_ms(value: Any) -> int:
    """protojson int64 seconds (a string, or a number) -> epoch ms."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise EventError("the webhook has no createdAt (epoch seconds)") from None
    if seconds <= 0:
        raise EventError("the webhook has no createdAt (epoch seconds)")
    return seconds * 1000


def map_webhook(payload: Any) -> list[dict[str, Any]]:
    """One LiveKit webhook body -> our events (none for kinds without Insights meaning, e.g. egress)."""
    if not isinstance(payload, dict):
        raise EventError("a LiveKit webhook is a JSON object")
    kind = payload.get("event")
    if kind not in HANDLED:
        return []
    room = _get(payload, "room") or {}
    session = _get(room, "name") or _get(room, "sid")
    room_sid = _get(room, "sid") or session
    if not isinstance(session, str) or not session:
        raise EventError(f"{kind}: the webhook names no room")
    base = {"sessionId": session, "timestamp": _seconds_ms(_get(payload, "createdAt"))}
    if kind == "room_started":
        return [{"id": f"livekit:{room_sid}:started", "type": "sessionCreated", "mediaMode": "routed", **base}]
    if kind == "room_finished":
        return [{"id": f"livekit:{room_sid}:finished", "type": "sessionDestroyed", **base}]
    participant = _get(payload, "participant") or {}
    psid = _get(participant, "sid")
    if not isinstance(psid, str) or not psid:
        raise EventError(f"{kind}: the webhook names no participant")
    if _get(participant, "kind") == "EGRESS":
        return []
    if kind == "participant_joined":
        guid = _get(participant, "identity")
        return [{"id": f"livekit:{room_sid}:{psid}:joined", "type": "connectionCreated", "connectionId": psid,
                 **({"guid": guid} if isinstance(guid, str) and guid else {}), **base}]
    if kind in ("participant_left", "participant_connection_aborted"):
        reason = _REASONS.get(str(_get(participant, "disconnectReason")), "networkDisconnected")
        return [{"id": f"livekit:{room_sid}:{psid}:left", "type": "connectionDestroyed", "connectionId": psid,
                 "reason": reason, **base}]
    return _track_events(kind, room_sid, psid, _get(payload, "track") or {}, base)


def _track_events(kind: str, room_sid: str, psid: str, track: Any, base: dict[str, Any]) -> list[dict[str, Any]]:
    track_sid = _get(track, "sid")
    if not isinstance(track_sid, str) or not track_sid:
        raise EventError(f"{kind}: the webhook names no track")
    # protojson leaves out enum defaults: no "type" means AUDIO (0), no "source" UNKNOWN (0)
    track_type = _get(track, "type") or "AUDIO"
    if track_type not in ("AUDIO", "VIDEO"):
        return []  # data tracks carry no media
    source = str(_get(track, "source") or "")
    group = "screen" if source in _SCREEN_SOURCES else "camera"
    stream_id = f"{psid}:{group}"
    if kind == "track_unpublished":
        return [{"id": f"livekit:{room_sid}:{track_sid}:unpublished", "type": "streamDestroyed",
                 "streamId": stream_id, "reason": "clientDisconnected", **base}]
    event = {"id": f"livekit:{room_sid}:{track_sid}:published", "type": "streamCreated", "streamId": stream_id,
             "connectionId": psid, **base}
    # Only what this track tells: a later track of the same stream fills in the rest (derive/lifetimes.py).
    if track_type == "VIDEO":
        event.update(hasVideo=True, videoType=group)
    else:
        event["hasAudio"] = True
    return [event]
