"""Validation rules: GraphQL's standard set with two Insights adjustments.

1. Old clients declare `$projectId: Int!` (the docs' own example) and some
   send dates as `String`/`Int` variables. Standard validation rejects those
   variables where IntOrString or Date is expected, so the variables rule is
   replaced by one that also allows Int/String -> IntOrString and
   Int/Float/String -> Date, and `relax_variable_types` then re-declares such
   variables with the expected type, so execution coerces their values with
   our lenient scalars (a client that declared Int! but sends "12345678"
   works, as it did against the old server).
2. Every validation error carries an Insights code: 1013 for a missing
   required argument (e.g. projectData without `start`), 1022 otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLType,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeNode,
    VariableDefinitionNode,
    Visitor,
    get_named_type,
    is_list_type,
    is_non_null_type,
    specified_rules,
    type_from_ast,
    visit,
)
from graphql.validation import (
    ProvidedRequiredArgumentsRule,
    ValidationContext,
    ValidationRule,
    VariablesInAllowedPositionRule,
)
from graphql.validation.rules.variables_in_allowed_position import allowed_variable_usage

from videoinsights.query.errors import MISSING_PARAMETER

LENIENT: frozenset[tuple[str, str]] = frozenset({
    ("Int", "IntOrString"), ("String", "IntOrString"),
    ("Int", "Date"), ("Float", "Date"), ("String", "Date"),
})


def _with_named(type_: GraphQLType, named: GraphQLNamedType) -> GraphQLType:
    """The same list/non-null wrapping around another named type."""
    if isinstance(type_, GraphQLNonNull):
        return GraphQLNonNull(_with_named(type_.of_type, named))  # type: ignore[arg-type]
    if isinstance(type_, GraphQLList):
        return GraphQLList(_with_named(type_.of_type, named))
    return named


def lenient_usage(schema: GraphQLSchema, var_type: GraphQLType, var_default: Any,
                  location_type: GraphQLType, location_default: Any) -> bool:
    """Would the usage be allowed if the variable were declared with the location's scalar?"""
    pair = (get_named_type(var_type).name, get_named_type(location_type).name)
    if pair not in LENIENT:
        return False
    swapped = _with_named(var_type, get_named_type(location_type))
    return allowed_variable_usage(schema, swapped, var_default, location_type, location_default)


class LenientVariablesInAllowedPositionRule(ValidationRule):
    """VariablesInAllowedPositionRule plus the LENIENT scalar pairs."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.var_defs: dict[str, VariableDefinitionNode] = {}

    def enter_operation_definition(self, operation: OperationDefinitionNode, *_args: Any) -> None:
        self.var_defs = {d.variable.name.value: d for d in operation.variable_definitions or ()}

    def leave_operation_definition(self, operation: OperationDefinitionNode, *_args: Any) -> None:
        schema = self.context.schema
        for usage in self.context.get_recursive_variable_usages(operation):
            var_def = self.var_defs.get(usage.node.name.value)
            if not var_def or not usage.type:
                continue
            var_type = type_from_ast(schema, var_def.type)
            if var_type is None:
                continue
            args = (schema, var_type, var_def.default_value, usage.type, usage.default_value)
            if not allowed_variable_usage(*args) and not lenient_usage(*args):
                self.report_error(GraphQLError(
                    f"Variable '${usage.node.name.value}' of type '{var_type}' used"
                    f" in position expecting type '{usage.type}'.",
                    [var_def, usage.node],
                ))


class MissingArgumentRule(ProvidedRequiredArgumentsRule):
    """ProvidedRequiredArgumentsRule whose errors carry code 1013."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {**(error.extensions or {}), "code": MISSING_PARAMETER}
        super().report_error(error)


def _replace(rule: type) -> type:
    return {
        VariablesInAllowedPositionRule: LenientVariablesInAllowedPositionRule,
        ProvidedRequiredArgumentsRule: MissingArgumentRule,
    }.get(rule, rule)


RULES: tuple[type, ...] = tuple(_replace(rule) for rule in specified_rules)


def _type_node(type_: GraphQLType) -> TypeNode:
    if is_non_null_type(type_):
        return NonNullTypeNode(type=_type_node(type_.of_type))  # type: ignore[attr-defined]
    if is_list_type(type_):
        return ListTypeNode(type=_type_node(type_.of_type))  # type: ignore[attr-defined]
    return NamedTypeNode(name=NameNode(value=get_named_type(type_).name))


def relax_variable_types(schema: GraphQLSchema, document: DocumentNode) -> DocumentNode:
    """Re-declare variables that validated only through LENIENT with the type their position expects.

    Called on a valid document; a variable is re-declared only when every
    one of its usages needs (or tolerates) the same replacement."""
    replacements: dict[int, VariableDefinitionNode] = {}
    context = ValidationContext(schema, document, TypeInfo(schema), lambda _e: None)
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        defs = {d.variable.name.value: d for d in op.variable_definitions or ()}
        wanted: dict[str, set[str] | None] = {}
        for usage in context.get_recursive_variable_usages(op):
            name = usage.node.name.value
            var_def = defs.get(name)
            var_type = var_def and type_from_ast(schema, var_def.type)
            if not var_def or not var_type or not usage.type:
                continue
            args = (schema, var_type, var_def.default_value, usage.type, usage.default_value)
            if allowed_variable_usage(*args):
                if wanted.get(name, set()) is not None:
                    wanted.setdefault(name, set()).add(get_named_type(var_type).name)
            elif lenient_usage(*args):
                if wanted.get(name, set()) is not None:
                    wanted.setdefault(name, set()).add(get_named_type(usage.type).name)
            else:
                wanted[name] = None
        for name, targets in wanted.items():
            var_def = defs[name]
            var_type = type_from_ast(schema, var_def.type)
            if not targets or len(targets) != 1 or var_type is None:
                continue
            target = schema.get_type(next(iter(targets)))
            if target is None or target.name == get_named_type(var_type).name:
                continue
            new_type = _type_node(_with_named(var_type, target))  # type: ignore[arg-type]
            replacements[id(var_def)] = dataclasses.replace(var_def, type=new_type)
    if not replacements:
        return document

    class Relax(Visitor):
        def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> Any:
            return replacements.get(id(node), Visitor.IDLE)

    return visit(document, Relax())
