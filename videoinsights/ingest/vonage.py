"""Map Vonage session-monitoring callbacks onto our events.

Vonage posts one event per request, with no event id, and retries on
failure; the id is therefore a hash of the body's identifying fields, so a
retried callback is deduplicated like any other repeated event.
"""

from __future__ import annotations

import hashlib
from typing import Any

from videoinsights.ingest.validate import EventError

_STREAM_REASONS = {"clientDisconnected", "forceDisconnected", "forceUnpublished", "mediaStopped", "networkDisconnected"}


def _stable_id(body: dict[str, Any], entity: str | None) -> str:
    basis = f"{body.get('event')}|{body.get('sessionId')}|{entity or ''}|{body.get('timestamp')}"
    return "vonage-" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise EventError(f"{key}.id is required for {body.get('event')}")
    return value


def map_callback(body: Any, project_id: str) -> dict[str, Any]:
    """One Vonage callback body -> one event in our format (validated later as usual)."""
    if not isinstance(body, dict):
        raise EventError("a callback body must be a JSON object")
    kind = body.get("event")
    if body.get("projectId") is not None and str(body["projectId"]) != project_id:
        raise EventError("projectId in the body does not match the callback URL")
    base = {"type": kind, "sessionId": body.get("sessionId"), "timestamp": body.get("timestamp")}
    if kind in ("sessionCreated", "sessionDestroyed"):
        return {**base, "id": _stable_id(body, None)}
    if kind in ("connectionCreated", "connectionDestroyed"):
        connection = _object(body, "connection")
        event = {**base, "id": _stable_id(body, connection["id"]), "connectionId": connection["id"]}
        if kind == "connectionDestroyed" and isinstance(body.get("reason"), str):
            event["reason"] = body["reason"]
        return event
    if kind in ("streamCreated", "streamDestroyed"):
        stream = _object(body, "stream")
        event = {**base, "id": _stable_id(body, stream["id"]), "streamId": stream["id"]}
        if kind == "streamCreated":
            connection = stream.get("connection")
            if not isinstance(connection, dict) or not isinstance(connection.get("id"), str):
                raise EventError("stream.connection.id is required for streamCreated")
            event["connectionId"] = connection["id"]
            video_type = stream.get("videoType")
            if video_type:
                event["videoType"] = video_type
                event["hasVideo"] = True
            if isinstance(stream.get("name"), str) and stream["name"]:
                event["name"] = stream["name"]
        elif body.get("reason") in _STREAM_REASONS:
            event["reason"] = body["reason"]
        return event
    raise EventError(f"unsupported callback event {kind!r}")
