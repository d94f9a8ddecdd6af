"""A graphql-core executor that completes plain data objects in one step.

Most of a large Insights answer (metrics, histograms, stats samples) is
dicts whose fields use the default resolver and take no arguments.
graphql-core completes those field by field (about 4 µs each); for such an
object this executor builds, once per selection and request, a function that
turns the dict into its result directly. Anything else (fields with
resolvers or arguments, abstract types, __typename, deferred fragments) and
any value the fast path cannot complete (a null where the schema forbids it,
a value its scalar refuses) falls back to the standard path, which then
produces the usual result or error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLOutputType, is_leaf_type, is_list_type, is_non_null_type, is_object_type
from graphql.execution.executor import Executor
from graphql.pyutils import Undefined

Complete = Callable[[Any], Any]


class _Fallback(Exception):
    """The fast path can't complete this value; the standard path will."""


class FastExecutor(Executor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[GraphQLObjectType, int], tuple[Any, Complete | None]] = {}

    def complete_object_value(self, return_type: Any, field_details_list: Any, info: Any, path: Any,
                              result: Any, *args: Any) -> Any:
        if isinstance(result, dict):
            plan = self._plan(return_type, field_details_list)
            if plan is not None:
                try:
                    return plan(result)
                except Exception:
                    pass
        return super().complete_object_value(return_type, field_details_list, info, path, result, *args)

    def _plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        key = (object_type, id(field_details_list))
        hit = self._plans.get(key)
        if hit is None:
            # keep field_details_list alive with its plan, so that its id() cannot be reused
            hit = (field_details_list, self._build(object_type, field_details_list))
            self._plans[key] = hit
        return hit[1]

    def _build(self, object_type: GraphQLObjectType, field_details_list: Any) -> Complete | None:
        if object_type.is_type_of is not None:
            return None
        grouped, deferred, *_ = self.collect_subfields(object_type, field_details_list)
        if deferred:
            return None
        parts: list[tuple[str, str, Complete]] = []
        for response_name, sub in grouped.items():
            node = sub[0].node
            field_name = node.name.value
            field = object_type.fields.get(field_name)
            if field is None or field.resolve is not None or node.arguments:
                return None  # also __typename, which is not in .fields
            complete = self._complete_fn(field.type, sub)
            if complete is None:
                return None
            parts.append((response_name, field_name, complete))

        def run(source: dict[str, Any]) -> dict[str, Any]:
            get = source.get
            return {response_name: complete(get(field_name)) for response_name, field_name, complete in parts}

        return run

    def _complete_fn(self, output_type: GraphQLOutputType, sub: Any) -> Complete | None:
        if is_non_null_type(output_type):
            inner = self._complete_fn(output_type.of_type, sub)  # type: ignore[attr-defined]
            return None if inner is None else _non_null(inner)
        if is_list_type(output_type):
            inner = self._complete_fn(output_type.of_type, sub)  # type: ignore[attr-defined]
            return None if inner is None else _list(inner)
        if is_leaf_type(output_type):
            return _leaf(output_type.coerce_output_value)  # type: ignore[attr-defined]
        if is_object_type(output_type):
            plan = self._plan(output_type, sub)  # type: ignore[arg-type]
            return None if plan is None else _object(plan)
        return None


def _leaf(coerce: Callable[[Any], Any]) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:
            return None
        out = coerce(value)
        if out is Undefined or out is None:
            raise _Fallback
        return out

    return complete


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        out = inner(value)
        if out is None:
            raise _Fallback
        return out

    return complete


def _list(inner: Complete) -> Complete:
    return lambda value: None if value is None else [inner(item) for item in value]


def _object(plan: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Fallback
        return plan(value)

    return complete
