"""Look-ahead into a field's selection set, so a resolver reads only the
columns the query asks for (a 3-field projectData query must not sum 100
rollup columns)."""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode, SelectionSetNode

Tree = dict[str, "Tree"]


def _merge(tree: Tree, selection_set: SelectionSetNode | None, fragments: dict[str, Any],
           merged: set[tuple[int, str]]) -> None:
    """Merge a selection set into `tree`. A fragment already merged into the same tree node is
    skipped (merging it again changes nothing), so fragments spreading each other twice per level
    cost linear, not exponential, time."""
    if selection_set is None:
        return
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            _merge(tree.setdefault(sel.name.value, {}), sel.selection_set, fragments, merged)
        elif isinstance(sel, InlineFragmentNode):
            _merge(tree, sel.selection_set, fragments, merged)
        elif isinstance(sel, FragmentSpreadNode):
            fragment = fragments.get(sel.name.value)
            key = (id(tree), sel.name.value)
            if fragment is not None and key not in merged:
                merged.add(key)
                _merge(tree, fragment.selection_set, fragments, merged)


def selection_tree(info: GraphQLResolveInfo) -> Tree:
    """Field names (not aliases) selected below the current field, merged over fragments.

    @skip/@include are ignored: a skipped field is computed and dropped."""
    tree: Tree = {}
    merged: set[tuple[int, str]] = set()
    for node in info.field_nodes:
        _merge(tree, node.selection_set, info.fragments, merged)
    return tree
