"""Batched loading of the session tree, one statement per level.

GraphQL resolves a list item by item, depth first. To avoid one SQL per
parent, every object remembers the `Level` it was loaded with (its siblings
from the same statement). The first time a child field is resolved on any
of them, the children of *all* siblings are loaded in one statement and
cached on the level under the field's name and arguments; the other
siblings then take their part from the cache. A query therefore costs one
statement per (level, field, arguments), whatever the data size.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from videoinsights.query.context import RequestContext
from videoinsights.query.pagination import Page

Entity = dict[str, Any]
Row = dict[str, Any]
# (parents, page, row cap) -> (rows of the page, {parent key: total})
Reader = Callable[[Sequence[Entity], Page, int | None], tuple[list[Row], dict]]


class Level:
    """Objects loaded by one statement; their children are loaded together."""

    __slots__ = ("cache", "items")

    def __init__(self) -> None:
        self.items: list[Entity] = []
        self.cache: dict[Hashable, dict[Hashable, dict[str, Any]]] = {}

    def add(self, entity: Entity) -> Entity:
        entity["_level"] = self
        self.items.append(entity)
        return entity


def root_level(entities: Sequence[Entity]) -> Level:
    level = Level()
    for e in entities:
        level.add(e)
    return level


def children(ctx: RequestContext, parent: Entity, cache_key: Hashable, page: Page, read: Reader,
             parent_key: Callable[[Row], Hashable], build: Callable[[Row], Entity],
             extra: Callable[[Entity], dict[str, Any]] | None = None) -> dict[str, Any]:
    """The collection (totalCount, pageInfo, resources) of `parent` for one child field.

    `read` loads the page of every sibling's children; `parent_key(row)`
    names the parent a row belongs to (it must equal the parent's `_key`);
    `build` turns a row into a child entity."""
    level: Level = parent["_level"]
    pages = level.cache.get(cache_key)
    if pages is None:
        cap = ctx.row_cap()
        # Readers also return one off-page row per parent (it carries the total): allow for those, so a
        # capped read always holds more page rows than the budget and is refused, never silently cut.
        rows, totals = read(level.items, page, None if cap is None else cap + len(level.items))
        ctx.count(len(rows))
        child_level = Level()
        grouped: dict[Hashable, list[Entity]] = {}
        for row in rows:
            grouped.setdefault(parent_key(row), []).append(child_level.add(build(row)))
        pages = {}
        for item in level.items:
            key = item["_key"]
            pages[key] = page.result(grouped.get(key, []), totals.get(key, 0), **(extra(item) if extra else {}))
        level.cache[cache_key] = pages
    return pages[parent["_key"]]
