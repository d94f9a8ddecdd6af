"""Static estimate of a query's result nodes, before anything is read.

Counts the items every collection may return, multiplied down the tree
(the product of `first` values, or their defaults, clamped like the
resolvers clamp them), plus one for the project. The support article's
example (2 sessions x 10 meetings x 50 publishers x 50 stats samples) is
51,023 nodes by this count.

The estimate is an upper bound: collections are usually far from full. A
query over the limit is therefore not refused outright; it runs with a node
budget and is refused as soon as its real result passes the limit.
"""

from __future__ import annotations

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
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.collection = schema.get_type("ResourceCollection")

    def walk(self, selection_set: SelectionSetNode | None, parent: Any, mult: int, seen: frozenset[str]) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                field = parent.fields.get(sel.name.value)
                if field is None:
                    continue
                child = get_named_type(field.type)
                child_mult = mult
                if isinstance(child, GraphQLObjectType) and self.collection in child.interfaces:
                    child_mult = mult * _page_size(child.name, sel, self.variables)
                    total += child_mult
                total += self.walk(sel.selection_set, child, child_mult, seen)
            elif isinstance(sel, InlineFragmentNode):
                target = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                total += self.walk(sel.selection_set, target, mult, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                fragment = self.fragments.get(sel.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.walk(fragment.selection_set, target, mult, seen | {sel.name.value})
        return total


def estimate_nodes(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode,
                   variables: dict[str, Any] | None) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    estimator = _Estimator(schema, fragments, variables or {})
    root = schema.get_root_type(operation.operation)
    return 1 + estimator.walk(operation.selection_set, root, 1, frozenset())
