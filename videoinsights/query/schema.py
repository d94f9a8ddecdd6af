"""The executable schema: the SDL files of schema/ joined, with resolvers bound.

SDL-first: schema/*.graphql is the source of truth for names, types and
descriptions (docs/api.md is generated from it).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ariadne import EnumType, ObjectType, make_executable_schema
from graphql import GraphQLSchema

from videoinsights.query import live, project, project_data, quality, session_data
from videoinsights.query.scalars import BINDABLES as SCALARS

SCHEMA_DIR = Path(__file__).parent / "schema"
# Order matters only for readability of the generated docs.
SDL_FILES = ("scalars", "root", "project_data", "live", "usage", "quality", "errors", "countries",
             "sessions", "streams", "summaries", "quality_scores")
# GroupBy values -> the dimension columns of the rollups (also read by query/export.py).
GROUP_BY = {
    "SDK_TYPE": "sdk_type", "SDK_VERSION": "sdk_version", "COUNTRY": "country", "REGION": "region",
    "BROWSER": "browser", "BROWSER_NAME": "browser", "BROWSER_VERSION": "browser_version",
}


def load_sdl() -> str:
    return "\n".join((SCHEMA_DIR / f"{name}.graphql").read_text() for name in SDL_FILES)


def _bindables() -> list:
    query = ObjectType("Query")
    query.set_field("project", project.resolve_project)

    proj = ObjectType("Project")
    proj.set_field("projectData", project_data.resolve_project_data)
    proj.set_field("sessionData", session_data.resolve_session_data)
    proj.set_field("live", live.resolve_live)

    data = ObjectType("SessionData")
    data.set_field("sessions", session_data.resolve_sessions)
    data.set_field("sessionSummaries", session_data.resolve_session_summaries)
    data.set_field("session", session_data.resolve_session)

    sess = ObjectType("Session")
    sess.set_field("meetings", session_data.resolve_meetings)
    summary = ObjectType("SessionSummary")
    summary.set_field("meetings", session_data.resolve_meetings)

    meeting = ObjectType("Meeting")
    meeting.set_field("connections", session_data.resolve_meeting_connections)
    meeting.set_field("publishers", session_data.resolve_meeting_publishers)
    meeting.set_field("subscribers", session_data.resolve_meeting_subscribers)

    connection = ObjectType("Connection")
    connection.set_field("publishers", session_data.resolve_connection_publishers)
    connection.set_field("subscribers", session_data.resolve_connection_subscribers)

    publisher = ObjectType("Publisher")
    publisher.set_field("streamStatsCollection", session_data.resolve_publisher_stats)
    publisher.set_field("subscribers", session_data.resolve_publisher_subscribers)

    subscriber = ObjectType("Subscriber")
    subscriber.set_field("streamStatsCollection", session_data.resolve_subscriber_stats)

    for bindable in (sess, summary, meeting, connection, publisher, subscriber):
        bindable.set_field("quality", quality.resolve_quality)  # extension: docs/quality.md

    group_by = EnumType("GroupBy", GROUP_BY)
    return [*SCALARS, query, proj, data, sess, summary, meeting, connection, publisher, subscriber, group_by]


@cache
def build_schema() -> GraphQLSchema:
    return make_executable_schema(load_sdl(), *_bindables())
