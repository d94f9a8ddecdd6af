"""Run one GraphQL request: cached parse + validation, cost check, execution,
and the Insights error shape.

Parsing and validating dominate the cost of a small query (about 0.5 ms of
0.55 ms), so prepared documents are kept in an LRU keyed by the query text
and bounded by the length of the texts it holds (query/document_cache.py).
Execution is synchronous: resolvers read DuckDB, which blocks anyway.

Limits, cheapest first, so that a hostile document is refused before it
costs much: its size in bytes (before parsing), its token count (while
parsing), repeated fields and fragments (query/shape.py, before validation,
whose work grows with their square), then, after validation, the static estimate (query/cost.py) of its
store reads (refused over the limit) and result nodes (run with a budget).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)
from graphql.execution.executor import Executor as GraphQLExecutor

from videoinsights.auth.tokens import AuthContext
from videoinsights.query.context import RequestContext
from videoinsights.query.cost import FragmentCycleError, estimate
from videoinsights.query.document_cache import DocumentCache
from videoinsights.query.errors import (
    INTERNAL,
    MESSAGES,
    QUERY_LIMIT,
    TYPE_ERROR,
    InsightsError,
    NodeLimitError,
    ReadLimitError,
)
from videoinsights.query.fast_executor import FastExecutor
from videoinsights.query.schema import build_schema
from videoinsights.query.shape import shape_error
from videoinsights.query.validation import RULES, relax_variable_types
from videoinsights.settings import Settings
from videoinsights.store.base import Project

log = logging.getLogger(__name__)

Response = dict[str, Any]


@dataclass(frozen=True)
class Prepared:
    """A parsed, validated (and variable-relaxed) document, or the errors that stopped it."""

    document: DocumentNode | None
    errors: tuple[Response, ...] = ()
    operations: tuple[OperationDefinitionNode, ...] = ()


def _entry(message: str, code: int, error: GraphQLError | None = None) -> Response:
    entry: Response = {"message": message}
    if error is not None:
        if error.locations:
            entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        if error.path:
            entry["path"] = error.path
    entry["errorCode"] = code
    entry["extensions"] = {"code": code}
    return entry


def format_error(error: GraphQLError) -> Response:
    """The spec's error entry: message, locations, path, errorCode, extensions.code.

    Unexpected exceptions become 1012 with a generic message; the details go
    to the server log only."""
    original = error.original_error
    if isinstance(original, InsightsError):
        return _entry(original.message, original.code, error)
    if original is not None and error.path is not None:
        log.error("internal error at %s", ".".join(map(str, error.path)), exc_info=original)
        return _entry(MESSAGES[INTERNAL], INTERNAL, error)
    code = (error.extensions or {}).get("code", TYPE_ERROR)
    return _entry(error.message, code, error)


def error_response(code: int, message: str | None = None) -> Response:
    return {"errors": [_entry(message or MESSAGES[code], code)]}


class Executor:
    """Executes Insights queries for authenticated requests; safe to share between threads."""

    def __init__(self, settings: Settings, reader: Callable[[], Any], lookup: Callable[[str], Project | None],
                 clock: Callable[[], float] = time.time,
                 executor_class: type[GraphQLExecutor] = FastExecutor, *, sql: Any = None,
                 want_derived: Callable[[str, Sequence[str]], None] | None = None) -> None:
        self.schema = build_schema()
        # The backend's SQL modules: given, or those of the store whose bound `reader` this is.
        self.sql = sql if sql is not None else getattr(getattr(reader, "__self__", None), "sql", None)
        if self.sql is None:
            raise TypeError("Executor needs sql= (the store's backend modules) unless reader is a store's method")
        self.executor_class = executor_class
        self.settings = settings
        self.reader = reader
        self.lookup = lookup
        self.clock = clock
        self.want_derived = want_derived  # RequestContext.want_derived
        # A document above 1/64 of the budget is not kept: a few huge queries must not evict all the small ones.
        self.documents: DocumentCache[Prepared] = DocumentCache(settings.query_cache_chars,
                                                                settings.query_cache_chars // 64)

    def prepare(self, query: str) -> Prepared:
        """Parse and validate `query` (cached), or the errors that stop it; the size limit comes first."""
        limit = self.settings.max_query_bytes
        if len(query) > limit or len(query.encode("utf-8", "surrogatepass")) > limit:
            return Prepared(None, (_entry(f"The query is longer than the limit of {limit:,} bytes. "
                                          "Send a shorter query, or split it.", QUERY_LIMIT),))
        return self.documents.get_or_make(query, self._prepare)

    def _prepare(self, query: str) -> Prepared:
        tokens = self.settings.max_query_tokens
        try:
            document = parse(query, max_tokens=tokens)
        except GraphQLError as exc:
            if "Document contains more than" in exc.message:
                return Prepared(None, (_entry(f"The query has more than the limit of {tokens:,} tokens. "
                                              "Send a shorter query, or split it.", QUERY_LIMIT),))
            return Prepared(None, (_entry(exc.message, TYPE_ERROR, exc),))
        shape = shape_error(document)  # bounds validation's work, which grows with repeats squared
        if shape:
            return Prepared(None, (_entry(shape, QUERY_LIMIT),))
        errors = validate(self.schema, document, RULES)
        if errors:
            return Prepared(None, tuple(format_error(e) for e in errors))
        document = relax_variable_types(self.schema, document)
        operations = tuple(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        return Prepared(document, (), operations)

    def run(self, auth: AuthContext, query: str, variables: dict[str, Any] | None = None,
            operation_name: str | None = None) -> Response:
        prepared = self.prepare(query)
        if prepared.document is None:
            return {"errors": list(prepared.errors)}
        operation = _pick_operation(prepared.operations, operation_name)
        if isinstance(operation, str):
            return error_response(1004, operation)
        limit = self.settings.max_query_nodes
        try:
            cost = estimate(self.schema, prepared.document, operation, variables)
        except FragmentCycleError as exc:  # validation refuses cycles first; never loop on one
            return error_response(TYPE_ERROR, str(exc))
        if cost.reads > self.settings.max_query_reads:
            error = ReadLimitError(self.settings.max_query_reads, cost.reads)
            return {"errors": [_entry(error.message, error.code)], "data": None}
        ctx = RequestContext(auth=auth, settings=self.settings, reader=self.reader, sql=self.sql, lookup=self.lookup,
                             now_ms=int(self.clock() * 1000), node_budget=limit if cost.nodes > limit else None,
                             want_derived=self.want_derived)
        try:
            result = execute(self.schema, prepared.document, None, ctx, variables, operation_name,
                             executor_class=self.executor_class)
        except Exception:
            log.exception("query execution failed")
            return error_response(INTERNAL)
        assert isinstance(result, ExecutionResult)  # resolvers are synchronous
        return _response(result, limit, cost.nodes)


def _pick_operation(operations: tuple[OperationDefinitionNode, ...],
                    name: str | None) -> OperationDefinitionNode | str:
    if name:
        for op in operations:
            if op.name and op.name.value == name:
                return op
        return f"Unknown operation named '{name}'."
    if len(operations) == 1:
        return operations[0]
    return "Must provide operation name if query contains multiple operations."


def _response(result: ExecutionResult, limit: int, estimate: int) -> Response:
    if not result.errors:
        return {"data": result.data}
    for error in result.errors:
        if isinstance(error.original_error, NodeLimitError):
            return {"errors": [_entry(NodeLimitError(limit, estimate).message, error.original_error.code)],
                    "data": None}
    return {"errors": [format_error(e) for e in result.errors], "data": result.data}
