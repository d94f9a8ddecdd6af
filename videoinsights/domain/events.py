"""The event vocabulary: one declarative table of fields and event types.

Everything that knows about event fields (validation, the raw-events table,
the JSON Schema in docs/events.md, the simulator) reads these tables, so a
field is added in exactly one place.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

Number = int | float

# The values each SQL column type can hold. A value outside its column's range must be refused
# per event at validation: at insert it would fail the whole group commit (several requests).
SQL_RANGES: dict[str, tuple[Number, Number]] = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
    "FLOAT": (-3.4028234663852886e38, 3.4028234663852886e38),
    "DOUBLE": (-sys.float_info.max, sys.float_info.max),
}
# The column type of each field kind: the DDL (store/duckdb/schema.py) is generated from this.
SQL_TYPE: dict[str, str] = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "ratio": "DOUBLE", "bool": "BOOLEAN"}
NUMERIC_KINDS = frozenset({"int", "float", "ratio"})


@dataclass(frozen=True)
class Field:
    """One JSON field of an event and the raw-table column it lands in."""

    name: str  # JSON spelling (camelCase), as clients send it
    column: str  # column in the raw events table (snake_case)
    kind: str  # "str" | "int" | "float" | "bool" | "ratio" (float in 0..1)
    help: str
    choices: tuple[str, ...] = ()  # allowed values (case-insensitive for enums)
    upper: bool = False  # normalise to upper case (enum-like dimensions)
    # Numbers: the physically sane range, with a wide margin (documented in docs/events.md). Values
    # beyond it are refused, so no stored value can overflow a sum or an average in a report.
    bounds: tuple[Number, Number] | None = None

    @property
    def value_range(self) -> tuple[Number, Number]:
        """The accepted range of a number: its sane bounds, never beyond what its column holds."""
        low, high = SQL_RANGES[SQL_TYPE[self.kind]]
        if self.bounds is None:
            return low, high
        return max(low, self.bounds[0]), min(high, self.bounds[1])

    @property
    def range_text(self) -> str:
        """The accepted range for people: "0..1,000,000"."""
        return "..".join(f"{v:,.0f}" if float(v).is_integer() else f"{v:,}" for v in self.value_range)


def _f(
    name: str,
    column: str,
    kind: str,
    help: str,
    choices: tuple[str, ...] = (),
    upper: bool = False,
    bounds: tuple[Number, Number] | None = None,
) -> Field:
    if kind == "ratio":
        bounds = (0.0, 1.0)
    return Field(name, column, kind, help, choices, upper, bounds)


# Sane physical bounds, with a margin of orders of magnitude over anything real.
_KBPS = (0.0, 1_000_000.0)  # 1 Gbit/s: far beyond any WebRTC stream
_MS = (0.0, 600_000.0)  # 10 minutes of latency, round trip or jitter


# Fields that every event carries. `id` and `timestamp` are handled specially.
ENVELOPE = ("id", "type", "sessionId", "timestamp")

FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        _f("mediaMode", "media_mode", "str", "Session media mode", ("routed", "relayed")),
        _f("connectionId", "connection_id", "str", "Connection id (Vonage connection.id)"),
        _f("streamId", "stream_id", "str", "Stream id (Vonage stream.id)"),
        _f("subscriberId", "subscriber_id", "str", "Subscriber id"),
        _f("reason", "reason", "str", "Why a connection or stream ended (clientDisconnected, ...)"),
        # endpoint dimensions
        _f("sdkType", "sdk_type", "str", "Client SDK: JS, IOS, ANDROID, WINDOWS, OTHER, ...", upper=True),
        _f("sdkVersion", "sdk_version", "str", "Client SDK version, e.g. 2.27.3"),
        _f("browser", "browser", "str", "CHROME, FIREFOX, SAFARI, EDGE, IE, OTHER, ...", upper=True),
        _f("browserVersion", "browser_version", "str", "Browser version, e.g. 120.0"),
        _f("country", "country", "str", "ISO 3166-1 alpha-2 country code", upper=True),
        _f("region", "region", "str", "Subdivision code, e.g. CA for a US state", upper=True),
        _f("city", "city", "str", "City name"),
        _f("guid", "guid", "str", "Client endpoint id (Inspector 'user')"),
        _f("os", "os", "str", "Operating system, e.g. Windows, macOS, iOS, Android"),
        _f("osVersion", "os_version", "str", "Operating-system version"),
        _f("deviceModel", "device_model", "str", "Device model, e.g. iPhone15,2"),
        _f("networkType", "network_type", "str", "wifi, ethernet, cellular, ...", ()),
        _f("appVersion", "app_version", "str", "Version of the customer's own app"),
        _f("userAgent", "user_agent", "str", "Browser user agent string"),
        # stream
        _f(
            "videoType",
            "video_type",
            "str",
            "camera, screen or custom; absent for audio-only",
            ("camera", "screen", "custom"),
        ),
        _f("name", "name", "str", "Publisher name"),
        _f("hasAudio", "has_audio", "bool", "Stream (or snapshot) carries audio"),
        _f("hasVideo", "has_video", "bool", "Stream (or snapshot) carries video"),
        # 30-second stats snapshot
        _f("audioBitrateKbps", "audio_bitrate_kbps", "float", "Audio bitrate, kbps", bounds=_KBPS),
        _f("videoBitrateKbps", "video_bitrate_kbps", "float", "Video bitrate, kbps", bounds=_KBPS),
        _f("audioLatencyMs", "audio_latency_ms", "float", "Audio latency, ms", bounds=_MS),
        _f("videoLatencyMs", "video_latency_ms", "float", "Video latency, ms", bounds=_MS),
        _f("audioPacketLoss", "audio_packet_loss", "ratio", "Audio packet-loss ratio, 0..1"),
        _f("videoPacketLoss", "video_packet_loss", "ratio", "Video packet-loss ratio, 0..1"),
        _f("videoResolution", "video_resolution", "str", "WIDTHxHEIGHT, e.g. 1280x720"),
        _f("audioCodec", "audio_codec", "str", "Audio codec, e.g. opus"),
        _f("videoCodec", "video_codec", "str", "Video codec, e.g. VP8, H264"),
        _f("subscribeToAudio", "subscribe_to_audio", "bool", "Subscriber wants audio at the time of the snapshot"),
        _f("subscribeToVideo", "subscribe_to_video", "bool", "Subscriber wants video at the time of the snapshot"),
        _f("jitterMs", "jitter_ms", "float", "Jitter, ms", bounds=_MS),
        _f("roundTripMs", "round_trip_ms", "float", "Round-trip time, ms", bounds=_MS),
        _f("frameRate", "frame_rate", "float", "Video frames per second", bounds=(0.0, 1000.0)),
        _f("freezeCount", "freeze_count", "int", "Video freezes during the snapshot period", bounds=(0, 100_000)),
        _f(
            "qualityLimitationReason",
            "quality_limitation_reason",
            "str",
            "Why the sender lowered its video quality (W3C qualityLimitationReason); publisher only",
            ("none", "bandwidth", "cpu", "other"),
        ),
        _f(
            "availableOutgoingBitrateKbps",
            "available_outgoing_bitrate_kbps",
            "float",
            "Estimated available outgoing bitrate (W3C availableOutgoingBitrate), kbps; publisher only",
            bounds=_KBPS,
        ),
        # attempts
        _f("outcome", "outcome", "str", "success or failure", ("success", "failure")),
        _f("errorCode", "error_code", "int", "Platform error code of a failed attempt", bounds=(-(2**31), 2**31 - 1)),
        # archives, broadcasts, SIP, Experience Composer (their id shares one column)
        _f("archiveId", "resource_id", "str", "Archive id"),
        _f("broadcastId", "resource_id", "str", "Broadcast id"),
        _f("callId", "resource_id", "str", "SIP call id"),
        _f("composerId", "resource_id", "str", "Experience Composer id"),
        _f("outputMode", "output_mode", "str", "composed or individual", ("composed", "individual")),
        _f("resolution", "resolution", "str", "WIDTHxHEIGHT of a composed archive or broadcast"),
        _f("streamCount", "stream_count", "int", "Archived streams (individual mode)", bounds=(0, 100_000)),
        _f("hls", "hls", "bool", "Broadcast has an HLS output"),
        _f("rtmpCount", "rtmp_count", "int", "Number of RTMP outputs of a broadcast", bounds=(0, 10_000)),
        _f(
            "destination",
            "destination",
            "str",
            "Where an Experience Composer publishes",
            ("session", "archive", "broadcast"),
        ),
    ]
}

ENDPOINT = (
    "sdkType",
    "sdkVersion",
    "browser",
    "browserVersion",
    "country",
    "region",
    "city",
    "guid",
    "os",
    "osVersion",
    "deviceModel",
    "networkType",
    "appVersion",
    "userAgent",
)
SNAPSHOT = (
    "audioBitrateKbps",
    "videoBitrateKbps",
    "audioLatencyMs",
    "videoLatencyMs",
    "audioPacketLoss",
    "videoPacketLoss",
    "videoResolution",
    "audioCodec",
    "videoCodec",
    "hasAudio",
    "hasVideo",
    "jitterMs",
    "roundTripMs",
    "frameRate",
    "freezeCount",
)
# What only the sending side knows (W3C RTCOutboundRtpStreamStats and the ICE candidate pair).
PUBLISHER_SNAPSHOT = ("qualityLimitationReason", "availableOutgoingBitrateKbps")


@dataclass(frozen=True)
class EventType:
    """An event type: its required and optional fields (JSON names)."""

    name: str
    help: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


def _t(name: str, help: str, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> EventType:
    return EventType(name, help, required, optional)


_ATTEMPT = ("connectionId", "errorCode", "reason", *ENDPOINT)

EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in [
        _t("sessionCreated", "A session was created (a session with no such event is routed)", optional=("mediaMode",)),
        _t("sessionDestroyed", "All clients left the session (informational)"),
        _t("connectionCreated", "A client connected", ("connectionId",), ENDPOINT),
        _t("connectionDestroyed", "A client disconnected", ("connectionId",), ("reason",)),
        _t(
            "streamCreated",
            "A client started publishing a stream",
            ("streamId", "connectionId"),
            ("videoType", "hasAudio", "hasVideo", "name"),
        ),
        _t("streamDestroyed", "A stream ended", ("streamId",), ("reason",)),
        _t("subscriberCreated", "A client subscribed to a stream", ("subscriberId", "streamId", "connectionId")),
        _t("subscriberDestroyed", "A subscriber ended", ("subscriberId",), ("reason",)),
        _t(
            "publisherStats",
            "30-second snapshot of a published stream",
            ("streamId",),
            (*SNAPSHOT, *PUBLISHER_SNAPSHOT),
        ),
        _t(
            "subscriberStats",
            "30-second snapshot of a subscriber",
            ("subscriberId",),
            (*SNAPSHOT, "subscribeToAudio", "subscribeToVideo"),
        ),
        _t("connectAttempt", "A client tried to connect", ("outcome",), _ATTEMPT),
        _t("publishAttempt", "A client tried to publish", ("outcome",), (*_ATTEMPT, "streamId")),
        _t("subscribeAttempt", "A client tried to subscribe", ("outcome",), (*_ATTEMPT, "streamId", "subscriberId")),
        _t("archiveStarted", "An archive started", ("archiveId",), ("outputMode", "resolution", "streamCount")),
        _t("archiveStopped", "An archive stopped", ("archiveId",), ("outputMode", "resolution", "streamCount")),
        _t("broadcastStarted", "A broadcast started", ("broadcastId",), ("hls", "rtmpCount", "resolution")),
        _t("broadcastStopped", "A broadcast stopped", ("broadcastId",), ("hls", "rtmpCount", "resolution")),
        _t("sipCallStarted", "A SIP call joined the session", ("callId",)),
        _t("sipCallStopped", "A SIP call left the session", ("callId",)),
        _t(
            "experienceComposerStarted",
            "An Experience Composer started",
            ("composerId",),
            ("destination", "resolution"),
        ),
        _t("experienceComposerStopped", "An Experience Composer stopped", ("composerId",), ("destination",)),
    ]
}

STATS_TYPES = frozenset({"publisherStats", "subscriberStats"})

# Columns of the raw events table, in order (envelope first, then each field column once).
ENVELOPE_COLUMNS = ("project_id", "event_id", "type", "session_id", "ts", "day", "received_at")
FIELD_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(f.column for f in FIELDS.values()))
RAW_COLUMNS: tuple[str, ...] = ENVELOPE_COLUMNS + FIELD_COLUMNS
# The columns a lifecycle event (any type but the stats ones, which are stored apart) can have a value in: what a
# derivation reads of `events` (validation refuses a field its type does not have). 39 of the 56.
_LIFECYCLE_FIELDS = {n for t in EVENT_TYPES.values() if t.name not in STATS_TYPES for n in (*t.required, *t.optional)}
LIFECYCLE_COLUMNS: tuple[str, ...] = ENVELOPE_COLUMNS + tuple(
    dict.fromkeys(f.column for f in FIELDS.values() if f.name in _LIFECYCLE_FIELDS))
COLUMN_KIND: dict[str, str] = {f.column: f.kind for f in FIELDS.values()}

_UNBOUNDED = [f.name for f in FIELDS.values() if f.kind in NUMERIC_KINDS and f.bounds is None]
if _UNBOUNDED:  # a new number must say what is sane for it
    raise ValueError(f"numeric fields without bounds: {', '.join(_UNBOUNDED)}")
