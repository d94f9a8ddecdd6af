"""Project.live (extension): what is live now and the last minutes, for the dashboard's Live view.

Counts at this moment come from the derived sessions, connections, publishers and subscribers;
the per-minute figures from the minute rollups (derive/fine.py) and the raw stats samples.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from videoinsights.derive.intervals import MINUTE_MS
from videoinsights.query.context import RequestContext
from videoinsights.query.errors import InsightsError
from videoinsights.query.project_data import _filters
from videoinsights.query.scalars import finite

MAX_WINDOW_MINUTES = 180
DEFAULT_WINDOW_MINUTES = 5


def resolve_live(obj: dict[str, Any], info: GraphQLResolveInfo, windowMinutes: int | None = None,
                 **args: Any) -> dict[str, Any]:
    ctx: RequestContext = info.context
    if windowMinutes is None:  # absent or an explicit null: the default window
        windowMinutes = DEFAULT_WINDOW_MINUTES
    if not 1 <= windowMinutes <= MAX_WINDOW_MINUTES:
        raise InsightsError(1005, f"windowMinutes must be between 1 and {MAX_WINDOW_MINUTES}, got {windowMinutes}.")
    project_id = obj["_project"].project_id
    now = ctx.now_ms
    since = now - now % MINUTE_MS - (windowMinutes - 1) * MINUTE_MS  # the window's first whole minute
    filters = _filters(args)
    counts, sessions = ctx.sql.live.live_now(ctx.cursor, project_id, now, since, filters)
    minutes = ctx.sql.live.live_minutes(ctx.cursor, project_id, now, since, filters)
    ctx.count(len(sessions) + len(minutes))
    attempts = int(sum(m["attempts"] for m in minutes))
    failures = int(sum(m["failures"] for m in minutes))
    return {
        "at": now,
        "windowMinutes": windowMinutes,
        "sessions": counts["sessions"],
        "participants": counts["participants"],
        "publishers": counts["publishers"],
        "subscribers": counts["subscribers"],
        "streamsByVideoType": {k: counts[k] for k in ("camera", "screen", "custom", "other")},
        "minutesPerMinute": finite(sum(m["minutes"] for m in minutes) / windowMinutes),
        "attempts": attempts,
        "failures": failures,
        "failureRate": finite(failures / attempts) if attempts else None,
        "perMinute": [
            {"minute": m["minute"], "minutes": finite(m["minutes"]), "participants": m["participants"],
             "attempts": int(m["attempts"]), "failures": int(m["failures"]),
             "videoBitrateKbpsAvg": finite(m["video_bitrate_kbps_avg"]), "latencyMsAvg": finite(m["latency_ms_avg"])}
            for m in minutes
        ],
        "liveSessions": [
            {"sessionId": s["session_id"], "createdAt": s["created_at"], "participants": s["participants"],
             "publishers": s["publishers"]}
            for s in sessions
        ],
    }
