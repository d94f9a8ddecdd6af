"""Look-ahead into a field's selection set, so a resolver reads only the
columns the query asks for (a 3-field projectData query must not sum 100
rollup columns)."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode, SelectionSetNode

Tree = dict[str, "Tree"]


def _merge(tree: Tree, selection_set: SelectionSetNode | None, fragments: dict[str, Any]) -> None:
    if selection_set is None:
        return
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            _merge(tree.setdefault(sel.name.value, {}), sel.selection_set, fragments)
        elif isinstance(sel, InlineFragmentNode):
            _merge(tree, sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode):
            fragment = fragments.get(sel.name.value)
            if fragment is not None:
                _merge(tree, fragment.selection_set, fragments)


def selection_tree(info: GraphQLResolveInfo) -> Tree:
    """Field names (not aliases) selected below the current field, merged over fragments.

    @skip/@include are ignored: a skipped field is computed and dropped."""
    tree: Tree = {}
    for node in info.field_nodes:
        _merge(tree, node.selection_set, info.fragments)
    return tree
