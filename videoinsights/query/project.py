"""Query.project: which project a request may read.

A request authenticated for project A (or a browser login granted A) gets
an error for any other id, and
the error does not depend on whether that other project exists (no oracle):
1019 when the id is of the other kind (API key vs application UUID), 1021
when it is another id of the same kind. 1015 is reachable only for the
token's own project when it has vanished meanwhile.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from graphql import GraphQLResolveInfo

from videoinsights.query.context import RequestContext
from videoinsights.query.errors import InsightsError

_API_KEY = re.compile(r"[1-9][0-9]{0,17}")


def normalize_project_id(value: int | str) -> tuple[str, str]:
    """-> (id as stored, "project" | "application"); 1008 for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = ""
    if _API_KEY.fullmatch(text):
        return text, "project"
    try:
        return str(uuid.UUID(text)), "application"
    except ValueError:
        raise InsightsError(1008, f"You must provide a valid project ID: {value!r} is neither an API key "
                                  "nor an application id.") from None


def resolve_project(_root: Any, info: GraphQLResolveInfo, projectId: int | str) -> dict[str, Any]:
    ctx: RequestContext = info.context
    project_id, kind = normalize_project_id(projectId)
    if not ctx.auth.may_read(project_id):
        if ctx.auth.kind != "login" and kind != ctx.auth.kind:
            raise InsightsError(1019, "The token does not match the App ID: it was issued for another "
                                      f"{'application' if ctx.auth.kind == 'application' else 'project'}.")
        raise InsightsError(1021)
    if ctx.selected_project not in (None, project_id):
        raise InsightsError(1010, "A request reads one project: ask for the others in separate requests.")
    ctx.selected_project = project_id
    project = ctx.lookup(project_id)
    if project is None:
        raise InsightsError(1015)
    return {"_project": project}
