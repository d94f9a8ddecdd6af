"""Project.sessionData and the whole session tree below it (Advanced Insights).

Resolvers here are thin: they check arguments, pick the page, and hand the
batched loading to `loaders.children` with a reader from the store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLResolveInfo

from videoinsights.domain.days import HOUR_MS
from videoinsights.domain.scoring import ISSUE_TYPES
from videoinsights.domain.tiers import TIERS
from videoinsights.query.context import RequestContext
from videoinsights.query.errors import InsightsError
from videoinsights.query.loaders import Entity, Row, children, root_level
from videoinsights.query.pagination import MEETINGS_PAGE, Page
from videoinsights.query.scalars import finite, int32
from videoinsights.query.selection import selection_tree

# Stats samples may be stamped a little outside their publisher's lifetime.
_STATS_SLACK_MS = HOUR_MS


def _tiers(row: Row) -> dict[str, float]:
    return {t.field: row[t.column] for t in TIERS}


def _session(row: Row) -> Entity:
    return {
        "_key": (row["session_id"],),
        "sessionId": row["session_id"],
        "mediaMode": row["media_mode"],
        "publisherMinutes": row["publisher_minutes"],
        "subscriberMinutes": row["subscriber_minutes"],
        "participantMinutes": _tiers(row),
    }


def _meeting(row: Row) -> Entity:
    return {
        "_key": (row["session_id"], row["meeting_index"]),
        "meetingId": row["meeting_id"],
        "createdAt": row["created_at"],
        "destroyedAt": row["destroyed_at"],
        "publisherMinutes": row["publisher_minutes"],
        "subscriberMinutes": row["subscriber_minutes"],
        "participantMinutes": _tiers(row),
        "maxConcurrentStreams": row["max_concurrent_streams"],
        "maxConcurrentConnections": row["max_concurrent_connections"],
        "maxConcurrentSubscribers": row["max_concurrent_subscribers"],
        "totalStreams": row["total_streams"],
        "totalConnections": row["total_connections"],
        "totalSubscribers": row["total_subscribers"],
    }


def _connection(row: Row) -> Entity:
    return {
        "_key": (row["session_id"], row["connection_id"]),
        "connectionId": row["connection_id"],
        "guid": row["guid"],
        "createdAt": row["created_at"],
        "destroyedAt": row["destroyed_at"],
        "country": row["country"],
        "region": row["region"],
        "city": row["city"],
        "browser": row["browser"],
        "browserVersion": row["browser_version"],
        "deviceModel": row["device_model"],
        "userAgent": row["user_agent"],
        "sdkType": row["sdk_type"],
        "sdkVersion": row["sdk_version"],
    }


def _stream(row: Row) -> dict[str, Any] | None:
    if row["stream_id"] is None:
        return None
    return {"streamId": row["stream_id"], "videoType": row["video_type"],
            "hasAudioTrack": row["has_audio"], "hasVideoTrack": row["has_video"]}


def _publisher(row: Row) -> Entity:
    return {
        "_key": (row["session_id"], row["stream_id"]),
        "_span": (row["created_at"], row["ended_at"]),
        "createdAt": row["created_at"],
        "destroyedAt": row["destroyed_at"],
        "connectionId": row["connection_id"],
        "stream": _stream(row),
    }


def _subscriber(row: Row) -> Entity:
    return {
        "_key": (row["session_id"], row["subscriber_id"]),
        "_span": (row["created_at"], row["ended_at"]),
        "subscriberId": row["subscriber_id"],
        "connectionId": row["connection_id"],
        "createdAt": row["created_at"],
        "destroyedAt": row["destroyed_at"],
        "stream": _stream(row),
    }


def _same(value: Any) -> Any:
    return value


# StreamStatistics fields: the stats_samples column each is read from, and how it is reported.
_STATS_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "createdAt": ("ts", _same),
    "hasAudio": ("has_audio", _same),
    "hasVideo": ("has_video", _same),
    "subscribeToAudio": ("subscribe_to_audio", _same),
    "subscribeToVideo": ("subscribe_to_video", _same),
    "audioCodec": ("audio_codec", _same),
    "videoCodec": ("video_codec", _same),
    "audioLatencyMs": ("audio_latency_ms", finite),
    "videoLatencyMs": ("video_latency_ms", finite),
    "audioBitrateKbps": ("audio_bitrate_kbps", finite),
    "videoBitrateKbps": ("video_bitrate_kbps", finite),
    "audioPacketLoss": ("audio_packet_loss", finite),
    "videoPacketLoss": ("video_packet_loss", finite),
    "videoResolution": ("video_resolution", _same),
    # extensions (docs/api.md): not in Vonage's schema
    "jitterMs": ("jitter_ms", finite),
    "roundTripMs": ("round_trip_ms", finite),
    "frameRate": ("frame_rate", finite),
    "freezeCount": ("freeze_count", int32),
    "qualityLimitationReason": ("quality_limitation_reason", _same),
    "availableOutgoingBitrateKbps": ("available_outgoing_bitrate_kbps", finite),
}


def _selected_stats_fields(obj: Entity, info: GraphQLResolveInfo) -> tuple[str, ...]:
    """The StreamStatistics fields the query selects under `resources` (sorted: a stable cache key).

    Only their columns are read: the samples of many sessions are the bulk of a session query,
    and each column costs time for every sample (fetched, converted, put in a dict). Siblings
    share their field nodes, so the answer is kept on their level (with the nodes, so that their
    id() stays theirs)."""
    cache = obj["_level"].cache
    key = ("stats fields", id(info.field_nodes))
    hit = cache.get(key)
    if hit is None:
        resources = selection_tree(info).get("resources", {})
        hit = cache[key] = {"nodes": info.field_nodes,
                            "fields": tuple(sorted(f for f in resources if f in _STATS_FIELDS))}
    return hit["fields"]


@functools.lru_cache(maxsize=256)
def _stats_builder(fields: tuple[str, ...]) -> Callable[[Row], Entity]:
    """Rows (holding at least the columns of `fields`) -> StreamStatistics objects of those fields."""
    parts = [(f, *_STATS_FIELDS[f]) for f in fields]

    def build(row: Row) -> Entity:
        return {f: report(row[column]) for f, column, report in parts}

    return build


_stats = _stats_builder(tuple(_STATS_FIELDS))  # every field (exports)


def _keys(parents: Sequence[Entity]) -> list[tuple[Any, ...]]:
    return [p["_key"] for p in parents]


def _span(parents: Sequence[Entity]) -> tuple[int, int]:
    return (min(p["_span"][0] for p in parents) - _STATS_SLACK_MS,
            max(p["_span"][1] for p in parents) + _STATS_SLACK_MS)


def _key_of(*columns: str) -> Callable[[Row], tuple[Any, ...]]:
    return lambda row: tuple(row[c] for c in columns)


# -- SessionData --------------------------------------------------------------

def resolve_session_data(obj: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    project = obj["_project"]
    if not project.advanced_insights:
        raise InsightsError(1014, "This query requires the Advanced Insights add-on, "
                                  "which is not enabled for this project.")
    return {"_project": project}


def _live_sessions(ctx: RequestContext, project_id: str, ids: list[str]) -> tuple[list[Row], bool]:
    """Found sessions in the order asked, and whether any found one was past retention. The ones found are wanted
    derived (derive/wanted.py): if dirty, the next poll sees their changes a step or two on, not a backlog on."""
    found = {r["session_id"]: r for r in ctx.sql.reads.sessions_by_ids(ctx.cursor, project_id, ids)}
    cutoff = ctx.raw_cutoff_ms
    live = [found[i] for i in ids if i in found and found[i]["last_seen_at"] >= cutoff]
    if live and ctx.want_derived is not None:
        ctx.want_derived(project_id, [r["session_id"] for r in live])
    return live, len(live) < len(found)


def resolve_sessions(obj: dict[str, Any], info: GraphQLResolveInfo, sessionIds: list[str | None],
                     first: int | None = None, endCursor: str | None = None) -> dict[str, Any]:
    ctx: RequestContext = info.context
    ids = list(dict.fromkeys(s.strip() for s in sessionIds if s and s.strip()))
    if not ids:
        raise InsightsError(1018)
    page = Page.of(first, endCursor)
    live, expired = _live_sessions(ctx, obj["_project"].project_id, ids)
    if not live and expired:
        raise InsightsError(1016, "The session has expired: session data is kept "
                                  f"{ctx.settings.raw_retention_days} days.")
    items = live[page.offset:page.offset + page.limit]
    ctx.count(len(items))
    level = root_level([_session(r) for r in items])
    return page.result(level.items, len(live))


def resolve_session(obj: dict[str, Any], info: GraphQLResolveInfo, sessionId: str) -> Entity:
    ctx: RequestContext = info.context
    live, expired = _live_sessions(ctx, obj["_project"].project_id, [sessionId.strip()])
    if not live:
        raise InsightsError(1016 if expired else 1017)
    ctx.count(1)
    return root_level([_session(live[0])]).items[0]


def resolve_session_summaries(obj: dict[str, Any], info: GraphQLResolveInfo, start: int, end: int | None = None,
                              first: int | None = None, endCursor: str | None = None, orderBy: str | None = None,
                              issueType: str | None = None, minScore: float | None = None,
                              maxScore: float | None = None) -> dict[str, Any]:
    ctx: RequestContext = info.context
    end_ms = ctx.now_ms if end is None else end
    if end_ms < start:
        raise InsightsError(1002, "Invalid date range: `end` is before `start`.")
    cutoff = ctx.raw_cutoff_ms
    if end_ms < cutoff:
        raise InsightsError(1002, "Invalid date range: session data is kept "
                                  f"{ctx.settings.raw_retention_days} days.")
    page = Page.of(first, endCursor)
    if issueType is not None and issueType not in ISSUE_TYPES:
        raise InsightsError(1005, f"Unknown issueType {issueType!r}: one of {', '.join(ISSUE_TYPES)}.")
    if minScore is not None and maxScore is not None and maxScore < minScore:
        raise InsightsError(1005, "Invalid score range: `maxScore` is below `minScore`.")
    rows, total = ctx.sql.reads.session_summaries(
        ctx.cursor, obj["_project"].project_id, max(start, cutoff), end_ms, page.offset, page.limit,
        worst_first=orderBy == "WORST_SCORE", issue_type=issueType, min_score=minScore, max_score=maxScore)
    ctx.count(len(rows))
    return page.result(root_level([_session(r) for r in rows]).items, total)


# -- Session / SessionSummary ---------------------------------------------------

def resolve_meetings(obj: Entity, info: GraphQLResolveInfo, first: int | None = None, endCursor: str | None = None,
                     start: int | None = None, end: int | None = None, meetingId: str | None = None) -> dict:
    ctx: RequestContext = info.context
    page = Page.of(first, endCursor, default=MEETINGS_PAGE, maximum=MEETINGS_PAGE)
    project_id = ctx.auth_project_id

    def read(parents: Sequence[Entity], pg: Page, cap: int | None) -> tuple[list[Row], dict]:
        return ctx.sql.reads.meetings_of_sessions(ctx.cursor, project_id, [p["_key"][0] for p in parents], pg.offset,
                                                  pg.limit, start_ms=start, end_ms=end, meeting_id=meetingId,
                                                  max_rows=cap)

    return children(ctx, obj, ("meetings", page, start, end, meetingId), page, read,
                    _key_of("session_id"), _meeting)


# -- Meeting --------------------------------------------------------------------

def _meeting_children(field: str, reader: str, build: Any, extra: Any = None):
    def resolve(obj: Entity, info: GraphQLResolveInfo, first: int | None = None,
                endCursor: str | None = None) -> dict:
        ctx: RequestContext = info.context
        page = Page.of(first, endCursor)

        def read(parents: Sequence[Entity], pg: Page, cap: int | None) -> tuple[list[Row], dict]:
            read_rows = getattr(ctx.sql.reads, reader)
            return read_rows(ctx.cursor, ctx.auth_project_id, _keys(parents), pg.offset, pg.limit, max_rows=cap)

        return children(ctx, obj, (field, page), page, read, _key_of("session_id", "meeting_index"), build, extra)
    return resolve


resolve_meeting_connections = _meeting_children(
    "connections", "connections_of_meetings", _connection,
    extra=lambda meeting: {"maxConcurrent": meeting["maxConcurrentConnections"]})
resolve_meeting_publishers = _meeting_children("publishers", "publishers_of_meetings", _publisher)
resolve_meeting_subscribers = _meeting_children("subscribers", "subscribers_of_meetings", _subscriber)


def _keyed_children(field: str, reader: str, key: tuple[str, ...], build: Any):
    def resolve(obj: Entity, info: GraphQLResolveInfo, first: int | None = None,
                endCursor: str | None = None) -> dict:
        ctx: RequestContext = info.context
        page = Page.of(first, endCursor)

        def read(parents: Sequence[Entity], pg: Page, cap: int | None) -> tuple[list[Row], dict]:
            read_rows = getattr(ctx.sql.reads, reader)
            return read_rows(ctx.cursor, ctx.auth_project_id, _keys(parents), pg.offset, pg.limit, max_rows=cap)

        return children(ctx, obj, (field, page), page, read, _key_of(*key), build)
    return resolve


resolve_connection_publishers = _keyed_children(
    "publishers", "publishers_of_connections", ("session_id", "connection_id"), _publisher)
resolve_connection_subscribers = _keyed_children(
    "subscribers", "subscribers_of_connections", ("session_id", "connection_id"), _subscriber)
resolve_publisher_subscribers = _keyed_children(
    "subscribers", "subscribers_of_streams", ("session_id", "stream_id"), _subscriber)


def _stats_children(field: str, reader: str, id_column: str):
    def resolve(obj: Entity, info: GraphQLResolveInfo, first: int | None = None,
                endCursor: str | None = None) -> dict:
        ctx: RequestContext = info.context
        page = Page.of(first, endCursor)
        fields = _selected_stats_fields(obj, info)
        columns = tuple(dict.fromkeys(_STATS_FIELDS[f][0] for f in fields))

        def read(parents: Sequence[Entity], pg: Page, cap: int | None) -> tuple[list[Row], dict]:
            read_rows = getattr(ctx.sql.reads, reader)
            return read_rows(ctx.cursor, ctx.auth_project_id, _keys(parents), _span(parents), pg.offset, pg.limit,
                             max_rows=cap, columns=columns)

        # the fields are part of the key: two selections of the field (aliases) read different columns
        return children(ctx, obj, (field, page, fields), page, read, _key_of("session_id", id_column),
                        _stats_builder(fields))
    return resolve


resolve_publisher_stats = _stats_children("streamStatsCollection", "publisher_stats", "stream_id")
resolve_subscriber_stats = _stats_children("streamStatsCollection", "subscriber_stats", "subscriber_id")
