"""What derivation produces for one session: plain rows, one dataclass per
derived table. The store persists them as they are (field name = column).

Times are epoch milliseconds; days are America/Los_Angeles dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from videoinsights.domain.quality import BITRATE_FIELDS, LATENCY_FIELDS, STATS_EXTRA_COLUMNS
from videoinsights.domain.scoring import ISSUE_COLUMNS, SCORE_COLUMNS
from videoinsights.domain.tiers import TIER_COLUMNS

# Endpoint dimensions that project data can filter and group by.
DIMENSIONS: tuple[str, ...] = ("sdk_type", "sdk_version", "country", "region", "browser", "browser_version")

# Additive per-(session, day, endpoint) measures. Histogram columns are named
# pub_lat_<bucket>, pub_br_<bucket>, sub_lat_<bucket>, sub_br_<bucket>.
QUALITY_SIDES = ("pub", "sub")
QUALITY_COLUMNS: tuple[str, ...] = tuple(
    f"{side}_{col}"
    for side in QUALITY_SIDES
    for col in (
        *(f"lat_{b.lower()}" for b in LATENCY_FIELDS),
        *(f"br_{b.lower()}" for b in BITRATE_FIELDS),
        "samples",
        "lat_sum",
        "lat_count",
        "br_sum",
        "br_count",
        *STATS_EXTRA_COLUMNS,
    )
)
ENDPOINT_MEASURES: tuple[str, ...] = (
    "published_minutes",
    "subscribed_minutes",
    *QUALITY_COLUMNS,
    "connect_attempts",
    "connect_failures",
    "publish_attempts",
    "publish_failures",
    "subscribe_attempts",
    "subscribe_failures",
    *SCORE_COLUMNS,
    *ISSUE_COLUMNS,
)

# Additive per-(session, day) measures without endpoint dimensions.
PROJECT_MEASURES: tuple[str, ...] = (
    *TIER_COLUMNS,
    "sd_archive_composed_minutes",
    "hd_archive_composed_minutes",
    "individual_archive_minutes",
    "sd_broadcast_composed_minutes",
    "hd_broadcast_composed_minutes",
    "hls_minutes",
    "sip_user_minutes",
    "experience_composer_minutes",
    "experience_composer_archive_minutes",
    "experience_composer_broadcast_minutes",
)


def _zeros(names: tuple[str, ...]) -> dict[str, float]:
    return dict.fromkeys(names, 0.0)


@dataclass
class SessionRow:
    project_id: str
    session_id: str
    media_mode: str  # "routed" | "relayed"
    created_at: int  # first connection (or first event)
    last_seen_at: int  # latest event of the session
    meeting_count: int
    publisher_minutes: float
    subscriber_minutes: float
    tiers: dict[str, float] = field(default_factory=lambda: _zeros(TIER_COLUMNS))


@dataclass
class MeetingRow:
    """One meeting record: a maximal period with at least one connection.

    Records less than 10 minutes apart share meeting_id."""

    project_id: str
    session_id: str
    meeting_index: int  # 0.. in time order within the session
    meeting_id: str
    created_at: int
    destroyed_at: int | None  # None while a connection is still open
    publisher_minutes: float
    subscriber_minutes: float
    max_concurrent_connections: int
    max_concurrent_streams: int
    max_concurrent_subscribers: int
    total_connections: int
    total_streams: int
    total_subscribers: int
    tiers: dict[str, float] = field(default_factory=lambda: _zeros(TIER_COLUMNS))


@dataclass
class ConnectionRow:
    project_id: str
    session_id: str
    meeting_index: int
    connection_id: str
    created_at: int
    destroyed_at: int | None
    ended_at: int  # destroyed_at, or the latest evidence that it was alive
    reason: str | None
    sdk_type: str | None = None
    sdk_version: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    guid: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_model: str | None = None
    network_type: str | None = None
    app_version: str | None = None
    user_agent: str | None = None


@dataclass
class PublisherRow:
    project_id: str
    session_id: str
    meeting_index: int
    stream_id: str
    connection_id: str | None
    created_at: int
    destroyed_at: int | None
    ended_at: int
    minutes: float
    video_type: str | None
    has_audio: bool | None
    has_video: bool | None
    name: str | None
    reason: str | None


@dataclass
class SubscriberRow:
    project_id: str
    session_id: str
    meeting_index: int
    subscriber_id: str
    stream_id: str | None
    connection_id: str | None
    created_at: int
    destroyed_at: int | None
    ended_at: int
    minutes: float


@dataclass
class EndpointDayRow:
    """A session's contribution to one day for one endpoint-dimension combination."""

    project_id: str
    session_id: str
    day: date
    sdk_type: str | None
    sdk_version: str | None
    country: str | None
    region: str | None
    browser: str | None
    browser_version: str | None
    measures: dict[str, float] = field(default_factory=lambda: _zeros(ENDPOINT_MEASURES))


@dataclass
class ProjectDayRow:
    """A session's dimensionless contribution to one day (participant, archive, ... minutes)."""

    project_id: str
    session_id: str
    day: date
    measures: dict[str, float] = field(default_factory=lambda: _zeros(PROJECT_MEASURES))


@dataclass
class SessionDerivation:
    session: SessionRow
    meetings: list[MeetingRow]
    connections: list[ConnectionRow]
    publishers: list[PublisherRow]
    subscribers: list[SubscriberRow]
    endpoint_days: list[EndpointDayRow]
    project_days: list[ProjectDayRow]
    # Finer contributions (derive/fine.py: EndpointBucketRow) for the HOURLY and MINUTE intervals.
    endpoint_hours: list = field(default_factory=list)
    endpoint_minutes: list = field(default_factory=list)
    quality: QualityDerivation | None = None  # scores and issues (derive/quality.py), set by the engine


@dataclass(frozen=True)
class StatsAggregate:
    """Stats samples of one publisher stream or subscriber on one day, aggregated by the store.

    `side` is "pub" (publisherStats, entity_id = stream_id) or "sub"
    (subscriberStats, entity_id = subscriber_id). `latency` / `bitrate` are
    bucket counts in the order of LATENCY_FIELDS / BITRATE_FIELDS."""

    side: str
    entity_id: str
    day: date
    samples: int
    first_ts: int
    last_ts: int
    latency: tuple[int, ...]
    bitrate: tuple[int, ...]
    lat_sum: float
    lat_count: int
    br_sum: float
    br_count: int
    # the STATS_EXTRA_COLUMNS in their order (jitter, RTT, ... sums and counts); () = none reported
    extras: tuple[float, ...] = ()


# Quality scores and issues (derive/quality.py, docs/quality.md): kept apart from SessionDerivation
# so that they can be computed, stored and measured on their own.
@dataclass
class QualityScoreRow:
    project_id: str
    session_id: str
    level: str  # "stream" | "subscriber" | "connection" | "meeting" | "session"
    entity_id: str  # stream, subscriber or connection id; meeting index as text; the session id
    meeting_index: int | None
    connection_id: str | None  # the participant: publishing / subscribing connection
    samples: int
    scored_ms: int  # total sample weight
    score: float  # time-weighted mean, 1..5
    score_p10: float  # time-weighted 10th percentile


@dataclass
class QualityIssueRow:
    project_id: str
    session_id: str
    meeting_index: int | None
    issue_type: str  # derive/quality.py ISSUE_TYPES
    entity_kind: str  # "stream" | "subscriber" | "connection" | "attempt"
    entity_id: str  # stream / subscriber / connection id, or the attempt kind
    connection_id: str | None  # the affected participant
    start_ts: int
    end_ts: int
    metric: str  # the evidence: which metric ...
    value: float  # ... its worst value in the window
    threshold: float
    samples: int  # offending samples (0 for lifecycle issues)


@dataclass
class QualityDerivation:
    scores: list[QualityScoreRow]
    issues: list[QualityIssueRow]
    # additions to the endpoint day rows: (day, endpoint dims, SCORE_COLUMNS / ISSUE_COLUMNS column, value)
    endpoint_parts: list[tuple[date, tuple[str | None, ...], str, float]] = field(default_factory=list)
