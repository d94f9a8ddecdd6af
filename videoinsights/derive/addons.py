"""Add-on minutes: archives, broadcasts, SIP calls and Experience Composers.

Each resource is keyed by (kind, resource_id) and lives from its earliest
start event to its earliest stop event at or after that start, split at LA
midnight. Choices:
* Attributes (output_mode, resolution, stream_count, hls, destination) come
  from the start event, falling back field by field to the stop event.
* No stop event: the resource runs until the latest timestamp seen in the
  session (events and stats), i.e. it is counted as still running.
  A stop stamped before its start (clock skew) gives zero minutes.
  A stop without a start is ignored; extra starts of one id are ignored.
* Archives: output_mode "individual" counts minutes x max(stream_count, 1);
  otherwise (default "composed") SD if width*height <= 640*480 else HD, with
  a missing or unparsable resolution counted as SD. Broadcasts are always
  composed (SD/HD likewise) and add the same minutes to hls_minutes when
  hls is set; rtmp_count does not change minutes.
* Experience Composer: destination "archive" / "broadcast" go to their own
  columns, anything else (default "session") to experience_composer_minutes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from videoinsights.derive.intervals import MINUTE_MS
from videoinsights.domain.days import split_by_day

SD_MAX_PIXELS = 640 * 480
_ATTRIBUTES = ("output_mode", "resolution", "stream_count", "hls", "destination")
_EVENTS: dict[str, tuple[str, bool]] = {
    "archiveStarted": ("archive", True),
    "archiveStopped": ("archive", False),
    "broadcastStarted": ("broadcast", True),
    "broadcastStopped": ("broadcast", False),
    "sipCallStarted": ("sip", True),
    "sipCallStopped": ("sip", False),
    "experienceComposerStarted": ("composer", True),
    "experienceComposerStopped": ("composer", False),
}
_COMPOSER_COLUMNS = {
    "archive": "experience_composer_archive_minutes",
    "broadcast": "experience_composer_broadcast_minutes",
}


def is_hd(resolution: str | None) -> bool:
    """True above 640x480 pixels; missing or malformed resolutions are SD."""
    try:
        width, height = (int(part) for part in str(resolution).lower().split("x"))
    except ValueError:
        return False
    return width * height > SD_MAX_PIXELS


def _columns(kind: str, attrs: dict[str, Any]) -> list[tuple[str, int]]:
    """(measure column, minutes multiplier) pairs that one resource feeds."""
    quality = "hd" if is_hd(attrs["resolution"]) else "sd"
    if kind == "archive":
        if str(attrs["output_mode"] or "composed").lower() == "individual":
            return [("individual_archive_minutes", max(attrs["stream_count"] or 1, 1))]
        return [(f"{quality}_archive_composed_minutes", 1)]
    if kind == "broadcast":
        return [(f"{quality}_broadcast_composed_minutes", 1), *([("hls_minutes", 1)] if attrs["hls"] else [])]
    if kind == "sip":
        return [("sip_user_minutes", 1)]
    destination = str(attrs["destination"] or "session").lower()
    return [(_COMPOSER_COLUMNS.get(destination, "experience_composer_minutes"), 1)]


def addon_minutes(events: list[dict[str, Any]], session_end: int) -> dict[date, dict[str, float]]:
    """LA day -> add-on column -> minutes, from canonical events (see module docstring)."""
    starts: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    stops: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        kind = _EVENTS.get(ev["type"])
        if kind is None or not ev.get("resource_id"):
            continue
        (starts if kind[1] else stops)[(kind[0], ev["resource_id"])].append(ev)

    per_day_ms: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (kind, resource_id), start_events in sorted(starts.items()):
        start_ev = start_events[0]
        start = start_ev["ts"]
        candidates = stops.get((kind, resource_id), [])
        stop_ev = next((ev for ev in candidates if ev["ts"] >= start), candidates[0] if candidates else None)
        end = session_end if stop_ev is None else stop_ev["ts"]
        attrs = {a: start_ev[a] if start_ev.get(a) is not None else (stop_ev or {}).get(a) for a in _ATTRIBUTES}
        for column, multiplier in _columns(kind, attrs):
            for day, part_start, part_end in split_by_day(start, max(start, end)):
                per_day_ms[day][column] += (part_end - part_start) * multiplier
    return {day: {col: ms / MINUTE_MS for col, ms in cols.items()} for day, cols in per_day_ms.items()}
