"""The `quality` extension field (docs/quality.md, docs/api.md) on sessions, meetings,
connections, publishers and subscribers.

Like the collections of loaders.py, the first `quality` resolved on a level
loads the scores and issues of every sibling at once (two statements per
level), so a query's statement count does not grow with its data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from videoinsights.query.context import RequestContext
from videoinsights.query.loaders import Entity, Level, Row
from videoinsights.query.scalars import finite

# GraphQL type -> (quality_scores level, the score row's entity id, does an issue belong to the entity)
_Belongs = Callable[[Row, tuple[Any, ...]], bool]
LEVELS: dict[str, tuple[str, Callable[[tuple[Any, ...]], str], _Belongs]] = {
    "Session": ("session", lambda k: k[0], lambda i, k: True),
    "SessionSummary": ("session", lambda k: k[0], lambda i, k: True),
    "Meeting": ("meeting", lambda k: str(k[1]), lambda i, k: i["meeting_index"] == k[1]),
    "Connection": ("connection", lambda k: k[1], lambda i, k: i["connection_id"] == k[1]),
    "Publisher": ("stream", lambda k: k[1],
                  lambda i, k: i["entity_kind"] == "stream" and i["entity_id"] == k[1]),
    "Subscriber": ("subscriber", lambda k: k[1],
                   lambda i, k: i["entity_kind"] == "subscriber" and i["entity_id"] == k[1]),
}


def _issue(row: Row) -> dict[str, Any]:
    return {
        "type": row["issue_type"],
        "start": row["start_ts"],
        "end": row["end_ts"],
        "metric": row["metric"],
        "value": finite(row["value"]),
        "threshold": finite(row["threshold"]),
        "samples": row["samples"],
        "entityKind": row["entity_kind"],
        "entityId": row["entity_id"],
        "connectionId": row["connection_id"],
    }


def resolve_quality(obj: Entity, info: GraphQLResolveInfo) -> dict[str, Any]:
    """{score, scoreP10, samples, issues} of this entity; score fields are null when nothing was scored."""
    ctx: RequestContext = info.context
    type_name = info.parent_type.name
    level_name, entity_of, belongs = LEVELS[type_name]
    level: Level = obj["_level"]
    cache_key = ("quality", type_name)
    loaded = level.cache.get(cache_key)
    if loaded is None:
        sessions = [e["_key"][0] for e in level.items]
        scores = ctx.sql.reads.quality_scores(ctx.cursor, ctx.auth_project_id, level_name, sessions)
        issues = ctx.sql.reads.quality_issues(ctx.cursor, ctx.auth_project_id, sessions)
        ctx.count(len(scores) + len(issues))
        by_session: dict[str, list[Row]] = {}
        for row in issues:
            by_session.setdefault(row["session_id"], []).append(row)
        loaded = {"scores": {(r["session_id"], r["entity_id"]): r for r in scores}, "issues": by_session}
        level.cache[cache_key] = loaded  # type: ignore[assignment]
    key = obj["_key"]
    score = loaded["scores"].get((key[0], entity_of(key)))
    return {
        "score": finite(score["score"]) if score else None,
        "scoreP10": finite(score["score_p10"]) if score else None,
        "samples": score["samples"] if score else 0,
        "issues": [_issue(i) for i in loaded["issues"].get(key[0], []) if belongs(i, key)],
    }
