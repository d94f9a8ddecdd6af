"""A linear check of a document's shape, before it is validated.

graphql-core's validation compares, in every selection set, each pair of
fields sharing a response name (and, recursively, their sub-selections) and
each pair of fragments: the rule that fields can be merged. Its time grows
with the square of such repeats: a 12 KB document repeating one field 290
times took 1.9 s to validate, one nesting ten repeats in ten repeats in ten
repeats 0.85 s, 150 fragments selecting the same field 2 s. Real clients
repeat a field at most a few times and define a handful of fragments.

So, in one pass over the syntax tree (each fragment's body visited once,
where it is defined), this bounds the number of fragments, the repeats in a
selection set, and the comparisons the rule may make: for every group of
fields sharing a response name, the square of the number of fields in the
group's subtrees. A document past a bound is refused with 1014.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

MAX_FRAGMENTS = 50  # fragment definitions in one document
MAX_REPEATS = 10  # fields with one response name, or fragment spreads, in one selection set
MAX_MERGE_WORK = 20_000  # field comparisons the merge rule may make, by the bound above


class ShapeError(ValueError):
    """The document is past one of the bounds; the message says which."""


def shape_error(document: DocumentNode) -> str | None:
    """Why the document is refused, or None."""
    fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
    if fragments > MAX_FRAGMENTS:
        return f"The query defines {fragments} fragments; the limit is {MAX_FRAGMENTS}."
    walk = _Walk()
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
                walk.size(definition.selection_set)
    except ShapeError as exc:
        return str(exc)
    return None


class _Walk:
    def __init__(self) -> None:
        self.work = 0

    def size(self, selection_set: SelectionSetNode | None) -> int:
        """Fields in the subtree of a selection set (a fragment spread counts one); checks it on the way."""
        if selection_set is None:
            return 0
        groups: dict[str, list[int]] = {}
        spreads = 0
        total = 0
        level = [selection_set]  # inline fragments are part of their parent's selection set
        while level:
            for sel in level.pop().selections:
                if isinstance(sel, FieldNode):
                    size = 1 + self.size(sel.selection_set)
                    groups.setdefault((sel.alias or sel.name).value, []).append(size)
                    total += size
                elif isinstance(sel, InlineFragmentNode):
                    level.append(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode):
                    spreads += 1
                    total += 1
        if spreads > MAX_REPEATS:
            raise ShapeError(f"The query spreads {spreads} fragments in one selection set; "
                             f"the limit is {MAX_REPEATS}.")
        for name, sizes in groups.items():
            if len(sizes) > MAX_REPEATS:
                raise ShapeError(f"The query selects `{name}` {len(sizes)} times in one selection set; the limit "
                                 f"is {MAX_REPEATS}. Give each an alias of its own, or select it once.")
            if len(sizes) > 1:
                self.work += sum(sizes) ** 2 // 2
        if self.work > MAX_MERGE_WORK:
            raise ShapeError("The query repeats fields with large selections too often to be checked "
                             "(the same response name with nested fields). Select each field once.")
        return total
