"""Static estimates of a query, before anything is read: result nodes and cost.

Nodes: the items every collection may return, multiplied down the tree (the
product of `first` values, or their defaults, clamped like the resolvers
clamp them), plus one for the project. The support article's example
(2 sessions x 10 meetings x 50 publishers x 50 stats samples) is 51,023
nodes by this count. The estimate is an upper bound: collections are usually
far from full. A query over the node limit is therefore not refused
outright; it runs with a node budget and is refused as soon as its real
result passes the limit.

Cost: the store reads a query may make. Every collection field (each
`projectData`, `sessions`, `sessionSummaries`, `meetings`, ... occurrence,
aliases included), every `session(sessionId:)` lookup and every projectData
`quality { scoreDistribution }` is one read,
whatever the size of its result: a tiny result can still take a grouped
scan of the rollups. Every `quality { ... }` of a session, meeting,
connection, publisher or subscriber is two (its level's scores and issues).
The loaders read a level of the session tree for all parents at once, so a
nested collection costs one read, not one per parent.
A query over the cost limit is refused before it runs.

Both walks are linear in the document: a fragment is walked once and its
figures reused at every spread (a fragment that spreads the next one twice,
24 levels deep, must not take 2^24 steps). Fragments spread by several
fragments are counted at each (an upper bound: execution may merge them). A fragment cycle (refused by
validation before this runs) raises FragmentCycleError rather than looping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

from videoinsights.query.pagination import DEFAULT_PAGE, MAX_PAGE, MEETINGS_PAGE

_MEETING_COLLECTIONS = frozenset({"Meetings", "MeetingSummaries"})
# Fields that read the store although their type is not a collection: a session lookup, and
# projectData's scoreDistribution (one more statement for the page of rows, docs/quality.md).
_LOOKUPS = frozenset({("SessionData", "session"), ("Quality", "scoreDistribution")})
# Types whose every occurrence reads the store: a level's `quality` loads its scores and its issues, two
# statements (query/quality.py), whatever the number of siblings.
_TYPE_READS = {"QualityScore": 2}


class FragmentCycleError(ValueError):
    """A fragment spreads itself, directly or through others."""


@dataclass(frozen=True)
class Estimate:
    """What a query may cost: result nodes (upper bound) and store reads."""

    nodes: int
    reads: int


def _arg(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for arg in node.arguments or ():
        if arg.name.value == name:
            return _value(arg.value, variables)
    return None


def _value(node: ValueNode, variables: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, ListValueNode):
        return [_value(v, variables) for v in node.values]
    return getattr(node, "value", None)


def _page_size(type_name: str, node: FieldNode, variables: dict[str, Any]) -> int:
    first = _arg(node, "first", variables)
    first = first if isinstance(first, int) and first >= 0 else None
    if type_name in _MEETING_COLLECTIONS:
        return min(first if first is not None else MEETINGS_PAGE, MEETINGS_PAGE)
    size = min(first if first is not None else DEFAULT_PAGE, MAX_PAGE)
    if type_name == "Sessions":
        ids = _arg(node, "sessionIds", variables)
        if isinstance(ids, list):
            size = min(size, len(ids))
        elif isinstance(ids, str):
            size = min(size, 1)
    return size


class _Estimator:
    """Walks selection sets with a multiplier of 1: nodes below a parent that
    may appear m times are m times the figure returned (the walk is linear in
    the multiplier), reads are not multiplied (loaders batch all parents)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.collection = schema.get_type("ResourceCollection")
        self.memo: dict[str, Estimate] = {}
        self.active: set[str] = set()

    def walk(self, selection_set: SelectionSetNode | None, parent: Any) -> Estimate:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return Estimate(0, 0)
        nodes = reads = 0
        spread: set[str] = set()  # execution collects a fragment spread twice in one selection set once
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                field = parent.fields.get(sel.name.value)
                if field is None:
                    continue
                child = get_named_type(field.type)
                below = self.walk(sel.selection_set, child)
                if isinstance(child, GraphQLObjectType) and self.collection in child.interfaces:
                    size = _page_size(child.name, sel, self.variables)
                    nodes += size + size * below.nodes
                    reads += 1 + below.reads
                else:
                    nodes += below.nodes
                    reads += (below.reads + ((parent.name, sel.name.value) in _LOOKUPS)
                              + _TYPE_READS.get(getattr(child, "name", ""), 0))
            elif isinstance(sel, InlineFragmentNode):
                target = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                below = self.walk(sel.selection_set, target)
                nodes, reads = nodes + below.nodes, reads + below.reads
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in spread:
                spread.add(sel.name.value)
                below = self.fragment(sel.name.value)
                nodes, reads = nodes + below.nodes, reads + below.reads
        return Estimate(nodes, reads)

    def fragment(self, name: str) -> Estimate:
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None:
            return Estimate(0, 0)
        if name in self.active:
            raise FragmentCycleError(f"Fragment {name!r} spreads itself.")
        self.active.add(name)
        result = self.walk(fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value))
        self.active.discard(name)
        self.memo[name] = result
        return result


def estimate(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
             variables: dict[str, Any] | None) -> Estimate:
    """Nodes (plus one for the project) and store reads of `operation`, in one linear pass."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    estimator = _Estimator(schema, fragments, variables or {})
    root = schema.get_root_type(operation.operation)
    below = estimator.walk(operation.selection_set, root)
    return Estimate(1 + below.nodes, below.reads)


def estimate_nodes(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                   variables: dict[str, Any] | None) -> int:
    return estimate(schema, document, operation, variables).nodes
