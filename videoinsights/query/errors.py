"""Insights error codes and the error a resolver raises to report one.

Every entry of a response's `errors` array carries its code twice: as a
top-level `errorCode` (what the spec's example shows and old clients read)
and as `extensions.code` (where GraphQL tooling looks).
"""

from __future__ import annotations

# The spec's table, in our words where the spec's message is too terse to act on.
MESSAGES: dict[int, str] = {
    1000: "Invalid App Id provided.",
    1001: "No valid authentication was provided.",
    1002: "Invalid date range.",
    1003: "Invalid parameter. Only one date interval is allowed.",
    1004: "Invalid parameters.",
    1005: "Invalid parameter.",
    1006: "Invalid parameter. The value must be an integer.",
    1007: "Invalid parameter for specifying an SDK version number. The format required is 0.0.0.",
    1008: "You must provide a valid project ID.",
    1009: "Invalid parameter.",
    1010: "Invalid parameter passed in. The parameter accepts only one value.",
    1011: "Invalid token.",
    1012: "Internal server error.",
    1013: "A mandatory parameter is missing.",
    1014: "The specified query requires the Advanced Insights add-on.",
    1015: "The specified project ID was not found.",
    1016: "The session has expired.",
    1017: "The specified session was not found.",
    1018: "You must provide at least one session ID in the input array.",
    1019: "The token does not match the App ID.",
    1020: "Unable to validate the token.",
    1021: "You are not authorized to view data from this project.",
    1022: "Type error. See details in the message string.",
}

INTERNAL = 1012
TYPE_ERROR = 1022
MISSING_PARAMETER = 1013
NODE_LIMIT = 1014
# Vonage answers 1014 for a query over its node limit; every query limit here uses it.
QUERY_LIMIT = 1014


class InsightsError(Exception):
    """A client-facing error with its Insights code; the message is shown as is."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES[code]
        super().__init__(self.message)


class NodeLimitError(InsightsError):
    """The query's result would pass the node limit: the whole response is refused."""

    def __init__(self, limit: int, estimate: int | None = None) -> None:
        about = f" (about {estimate:,} requested)" if estimate else ""
        super().__init__(
            NODE_LIMIT,
            f"The query exceeds the limit of {limit:,} result nodes{about}. "
            "Ask for fewer items with `first`, or split the query.",
        )


class ReadLimitError(InsightsError):
    """The query would make more store reads than the cost limit allows: refused before it runs."""

    def __init__(self, limit: int, reads: int) -> None:
        super().__init__(
            QUERY_LIMIT,
            f"The query exceeds the limit of {limit:,} reads ({reads:,} requested: each projectData, "
            "sessions, sessionSummaries, session and nested list is one, each quality two). Split the query.",
        )
